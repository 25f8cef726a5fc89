// Named streams: one server, two streams (`default`, test_card 640x480, and `b`, solid
// 320x240 from `--stream b=solid:320x240`); two pages, each on its own stream through the
// demo page's `stream=` parameter, show their own pattern at their own size at the same
// time. A stream that does not exist is a clear error (4404), not a retry loop.
import { test, expect, watchConsole } from "./fixtures";
import { distinctFrames, expectColor, expectQuadrants, openViewer, quadrantCentres } from "./viewer";

test.describe("two streams", () => {
  test.use({ serverSpec: { extra: ["--stream", "b=solid:320x240"] } });

  test("two pages on two streams show their own patterns", async ({ page, server, browserLog }) => {
    const other = await page.context().newPage();
    const otherLog: string[] = [];
    const unexpected = watchConsole(other, otherLog);
    try {
      await openViewer(page, server, { scaling: "canvas" });
      await openViewer(other, server, { stream: "b", scaling: "canvas" });

      // Page 1: the default stream's test card, four different quadrants.
      const a = await distinctFrames(page, 6, () => quadrantCentres(640, 480));
      for (const f of a) expect([f.stats.frameWidth, f.stats.frameHeight]).toEqual([640, 480]);
      expectQuadrants(a);

      // Page 2: stream b, one flat colour (the palette entry of its frame_seq) at 320x240,
      // drawn 2x into the same 640x480 canvas.
      const b = await distinctFrames(other, 6, () => quadrantCentres(640, 480));
      for (const f of b) {
        expect([f.stats.frameWidth, f.stats.frameHeight]).toEqual([320, 240]);
        expect([f.width, f.height]).toEqual([640, 480]);
        for (let q = 0; q < 4; q++) expectColor(f.pixels[q], f.expected[0], `stream b frame_seq ${f.stats.lastFrameSeq}, quadrant ${q}`);
      }
      expect(new Set(b.map((f) => (f.stats.lastFrameSeq ?? 0) % 4)).size, "stream b animates").toBeGreaterThan(1);

      // The server routed each page to its stream.
      const streams = await (await fetch(`${server.url}streams`)).json();
      const byName = Object.fromEntries(streams.map((s: any) => [s.name, s]));
      expect(byName.default).toMatchObject({ width: 640, height: 480, viewers: 1 });
      expect(byName.b).toMatchObject({ width: 320, height: 240, viewers: 1 });
      const sessions = await (await fetch(`${server.url}metrics`)).json();
      expect(sessions.map((s: any) => [s.stream, s.width, s.height]).sort()).toEqual([["b", 320, 240], ["default", 640, 480]]);
      await expect(other.locator("#overlay")).toContainText("stream b");
    } finally {
      if (unexpected.length > 0) console.log(`--- second page log ---\n${otherLog.join("\n")}`);
      await other.close();
    }
    expect(unexpected, "console errors on the second page").toEqual([]);
    expect(browserLog.filter((l) => l.startsWith("[error]"))).toEqual([]);
  });
});

test.describe("an unknown stream", () => {
  test.use({ allowedConsoleErrors: { patterns: [/^rfb-viewer: server closed the connection: 4404 UnknownStream: .*nope/] } });

  test("is reported once with code 4404 and the viewer does not retry", async ({ page, server }) => {
    const sockets: string[] = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.goto(`${server.url}?stream=nope`);
    await page.waitForFunction(() => (window as any).rfbView?.state === "closed");
    await page.waitForTimeout(2000);
    const events = await page.evaluate(() => (window as any).rfbEvents);
    expect(events.filter((e: any) => e.type === "error")).toEqual([expect.objectContaining({ stage: "server", code: 4404 })]);
    expect(events.filter((e: any) => e.type === "state").map((e: any) => e.state)).toEqual(["connecting", "open", "closed"]);
    expect(sockets).toEqual([`ws://127.0.0.1:${server.port}/nope`]);
    await expect(page.locator("#overlay")).toHaveClass(/error/);
  });
});
