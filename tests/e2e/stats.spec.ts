// The server's numbers reach the viewer: with `--stats-interval`, every `Stats` message is
// folded into `stats()` (`serverRttMs`, `serverFpsSent`, ..., `targetBitrate`, `targetFps`)
// and `onStats`, and the demo page's HUD shows them; without it they stay null. A
// `SetQuality` message (the golden fixture's bytes, injected into the real connection)
// moves the targets.
import fs from "node:fs";
import path from "node:path";
import type { WebSocketRoute } from "@playwright/test";
import { ROOT, test, expect } from "./fixtures";
import { openViewer, stats } from "./viewer";

const SERVER_FIELDS = [
  "serverRttMs", "serverFpsSent", "serverFpsAcked", "serverBitrateBps", "serverEncodeMs",
  "serverDropped", "serverKeyframes", "serverInflight", "targetBitrate", "targetFps",
] as const;

for (const transport of ["video", "image"]) {
  test.describe(`transport=${transport} with --stats-interval 0.5`, () => {
    test.use({ serverSpec: { extra: ["--stats-interval", "0.5", "--bitrate", "6M"] } });

    test("server stats are folded into stats() and onStats, and the HUD shows them", async ({ page, server }) => {
      await openViewer(page, server, { transport });
      // Two reports, so the server's windowed rates have frames to count.
      await page.waitForTimeout(1200);
      await page.waitForFunction(() => (window as any).rfbView.stats().serverRttMs !== null);
      const s: any = await stats(page);
      for (const field of SERVER_FIELDS) expect(typeof s[field], field).toBe("number");
      expect(s.serverFpsSent).toBeGreaterThan(15);
      expect(s.serverFpsSent).toBeLessThan(40);
      expect(s.serverFpsAcked).toBeGreaterThan(15);
      expect(s.serverRttMs).toBeGreaterThan(0);
      expect(s.serverRttMs).toBeLessThan(500);
      expect(s.serverBitrateBps).toBeGreaterThan(10_000);
      expect(s.serverEncodeMs).toBeGreaterThan(0);
      expect(s.serverKeyframes).toBeGreaterThanOrEqual(1);
      expect(s.targetBitrate).toBe(6_000_000);
      expect(s.targetFps).toBe(30);
      expect(s.qualityChanges).toBe(0);
      expect(s.targetMaxInflight).toBeNull();

      // The server agrees with what the viewer shows.
      const [m] = await (await fetch(`${server.url}metrics`)).json();
      expect(m.keyframes_sent).toBeGreaterThanOrEqual(s.serverKeyframes);
      expect(m.target_bitrate_bps).toBe(6_000_000);
      expect(s.serverDropped).toBeLessThanOrEqual(m.frames_dropped);

      // Frames published while the page cannot take them (its main thread blocked 1.5 s,
      // ~45 frames at 30 fps, with at most the in-flight window sent) are dropped for this
      // viewer, and the server's count of them reaches stats() with its next report.
      await page.evaluate(() => {
        const end = performance.now() + 1500;
        while (performance.now() < end) {
          // spin
        }
      });
      await page.waitForFunction((before) => (window as any).rfbView.stats().serverDropped >= before + 20, m.frames_dropped);
      const dropped = (await stats(page)).serverDropped;
      const [m2] = await (await fetch(`${server.url}metrics`)).json();
      expect(dropped).toBeLessThanOrEqual(m2.frames_dropped);

      // The demo page passes them to onStats, which feeds the HUD.
      await expect(page.locator("#overlay")).toContainText(/server: rtt \d+\.\d ms · sent \d+\.\d \/ acked \d+\.\d fps · [\d.]+ Mbps · encode \d+\.\d ms · dropped \d+/);
      await expect(page.locator("#overlay")).toContainText("target: 6.0 Mbps @ 30 fps");
      await expect(page.locator("#overlay")).toContainText("latency");
    });
  });
}

test("without --stats-interval the server fields stay null", async ({ page, server }) => {
  await openViewer(page, server, { transport: "video" });
  await page.waitForTimeout(1500);
  const s: any = await stats(page);
  for (const field of SERVER_FIELDS) expect(s[field], field).toBeNull();
  await expect(page.locator("#overlay")).not.toContainText("server:");
});

test("a SetQuality message sets the targets (and the HUD shows them)", async ({ page, server }) => {
  // fixtures/golden/server_set_quality.bin: bitrate 2 Mbps, 15 fps, in flight 1, JPEG q60,
  // sent to the page on its real connection to the server.
  const setQuality = fs.readFileSync(path.join(ROOT, "fixtures/golden/server_set_quality.bin"));
  let route: WebSocketRoute | null = null;
  await page.routeWebSocket(/.*/, (ws) => {
    route = ws;
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => ws.send(m));
    ws.onMessage((m) => upstream.send(m));
  });
  await openViewer(page, server, { transport: "video" });
  expect(await stats(page)).toMatchObject({ targetBitrate: null, targetFps: null, qualityChanges: 0 });
  route!.send(setQuality);
  await page.waitForFunction(() => (window as any).rfbView.stats().qualityChanges === 1);
  expect(await stats(page)).toMatchObject({
    targetBitrate: 2_000_000, targetFps: 15, targetMaxInflight: 1, targetJpegQuality: 60, qualityChanges: 1,
  });
  await expect(page.locator("#overlay")).toContainText("target: 2.0 Mbps @ 15 fps · in flight 1 · jpeg q60 · 1 changes");
  // The stream goes on: SetQuality is informational for the viewer.
  const before = (await stats(page)).framesDisplayed;
  await page.waitForFunction((n) => (window as any).rfbView.stats().framesDisplayed > n + 10, before);
});
