// Reconnect (on by default): when the server is killed and comes back on the same port, the
// view goes to `reconnecting`, keeps the last frame on screen, and resumes with correct
// pixels, in-thread and in worker mode, on both transports. A 4401 is never retried, and
// `reconnect()` forces an attempt.
import { startServer, test, expect, type RfbServer } from "./fixtures";
import { distinctFrames, expectColor, expectQuadrants, openViewer, quadrantCentres, snapshot, stats } from "./viewer";

/** What the browser logs while the server is down: Chromium's own report of each refused
 * attempt (the viewer itself only warns, since it will retry). */
const REFUSED = /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/' failed: .*ERR_CONNECTION_REFUSED/;

async function states(page: import("@playwright/test").Page): Promise<string[]> {
  return page.evaluate(() => (window as any).rfbEvents.filter((e: any) => e.type === "state").map((e: any) => e.state));
}

test.describe("server killed and restarted on the same port", () => {
  test.use({ allowedConsoleErrors: { patterns: [REFUSED] } });

  for (const worker of ["0", "1"]) {
    for (const transport of ["video", "image"]) {
      test(`worker=${worker} transport=${transport}: resumes with correct pixels`, async ({ page, server, browserLog }) => {
        await openViewer(page, server, { worker, transport });
        const before = await stats(page);
        await server.stop("SIGKILL");
        await page.waitForFunction(() => (window as any).rfbView.state === "reconnecting");
        // The last frame stays on screen while the server is away.
        const held = await snapshot(page, quadrantCentres(640, 480));
        for (let q = 0; q < 4; q++) expectColor(held.pixels[q], held.expected[q], `held frame, quadrant ${q}`);
        await page.waitForTimeout(700); // a few refused attempts (250 ms, 500 ms, ...)
        let again: RfbServer | undefined;
        try {
          again = await startServer({ port: server.port });
          await page.waitForFunction(() => (window as any).rfbView.state === "negotiated", null, { timeout: 20_000 });
          const frames = await distinctFrames(page, 8, () => quadrantCentres(640, 480));
          expectQuadrants(frames);
          const after = await stats(page);
          expect(after.framesDisplayed).toBeGreaterThan(before.framesDisplayed);
          const seen = await states(page);
          expect(seen.slice(0, 3)).toEqual(["connecting", "open", "negotiated"]);
          expect(seen).toContain("reconnecting");
          expect(seen.at(-1)).toBe("negotiated");
          // Every drop was reported as a warning with the retry delay, never as an error.
          expect(browserLog.some((l) => /^\[warning\] rfb-viewer: .*reconnecting in \d+ ms$/.test(l))).toBe(true);
          expect(browserLog.filter((l) => l.startsWith("[error] rfb-viewer"))).toEqual([]);
        } finally {
          await again?.stop();
        }
      });
    }
  }
});

test.describe("a refused credential", () => {
  test.use({
    serverSpec: { extra: ["--token", "secret"] },
    allowedConsoleErrors: { patterns: [/^rfb-viewer: server closed the connection: 4401 Unauthorized: /] },
  });

  for (const worker of ["0", "1"]) {
    test(`worker=${worker}: 4401 is not retried, reconnect() tries once more`, async ({ page, server }) => {
      const sockets: string[] = [];
      page.on("websocket", (ws) => sockets.push(ws.url()));
      await page.goto(`${server.url}?token=wrong&worker=${worker}`);
      await page.waitForFunction(() => (window as any).rfbView?.state === "closed");
      // Longer than several backoff delays: a retry would have happened by now.
      await page.waitForTimeout(1500);
      expect(await states(page)).toEqual(["connecting", "open", "closed"]);
      expect(sockets).toHaveLength(1);
      // An explicit reconnect() is honoured even after a refusal (and refused again).
      await page.evaluate(() => (window as any).rfbView.reconnect());
      await expect.poll(() => sockets.length).toBe(2);
      await page.waitForFunction(() => (window as any).rfbView.state === "closed");
      expect(await states(page)).toEqual(["connecting", "open", "closed", "reconnecting", "open", "closed"]);
    });
  }
});

test("reconnect() on a healthy stream drops it and resumes", async ({ page, server }) => {
  await openViewer(page, server, { worker: "1" });
  const before = await stats(page);
  await page.evaluate(() => (window as any).rfbView.reconnect());
  await page.waitForFunction(() => (window as any).rfbEvents.some((e: any) => e.state === "reconnecting"));
  await page.waitForFunction(() => (window as any).rfbView.state === "negotiated");
  const frames = await distinctFrames(page, 5, () => quadrantCentres(640, 480));
  expectQuadrants(frames);
  expect((await stats(page)).framesDisplayed).toBeGreaterThan(before.framesDisplayed);
  const metrics = await (await fetch(`${server.url}metrics`)).json();
  expect(metrics, "one session after the reconnect (the old one was closed)").toHaveLength(1);
});
