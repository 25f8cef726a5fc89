// A page whose main thread is blocked 500 ms of every 1000 ms (tests/apps/static/busy.html),
// showing a 1280x720 30 fps stream in an `<rfb-view>`. In worker mode the stream must keep
// being drawn while the page spins: the server keeps receiving ACKs (the worker sends one
// after each draw) inside the busy periods, and the view's framesDisplayed grows across
// them. On the main thread, for contrast, nothing is drawn while it spins: that is what
// shows the check can fail. Functional checks, no frame-rate threshold (this machine is
// shared and noisy): the rates are printed, and `npm run bench:busy` measures them.
//
// H.264 in worker mode depends on the viewer converting frames itself (`copyVideoFrames`,
// client-wasm/src/web/video_copy.rs): in this Chromium (no GPU, software compositing)
// turning a VideoFrame into pixels in a worker the browser's way (`drawImage(frame)`,
// `createImageBitmap(frame)`, `copyTo({ format: "RGBA" })`) waits for the main thread each
// time, so the worker would stall with it; a plain `copyTo()` of the I420 planes does not.
import type { Page } from "@playwright/test";
import { test, expect, type RfbServer } from "./fixtures";
import { staticPages, viewKind, waitShowing } from "./package";

const SECONDS = 6;

test.use({
  serverSpec: { width: 1280, height: 720, fps: 30, extra: staticPages },
  viewport: { width: 1280, height: 720 },
});

type Mode = "worker" | "in-thread";
type Transport = "h264" | "jpeg";

async function measure(page: Page, server: RfbServer, mode: Mode, transport: Transport) {
  const { sampleAcks, splitByLoad } = await import("../../bench/lib/busy.mjs");
  const query = new URLSearchParams({ worker: mode === "worker" ? "1" : "0", transport: transport === "h264" ? "video" : "image" });
  await page.goto(`${server.url}busy.html?${query}`);
  await waitShowing(page, "window.rfbElement", 5);
  expect(await viewKind(page, "window.rfbElement")).toBe(mode);
  expect(await page.evaluate(() => (window as any).rfbElement.stats().transport)).toBe(transport);
  const samples = await sampleAcks(server.url, SECONDS * 1000);
  // Evaluated between busy periods; the last period's `framesAfter` lands 30 ms after it.
  await page.waitForTimeout(100);
  const log: { start: number; end: number; framesBefore: number; framesAfter: number | null }[] = await page.evaluate(
    () => (window as any).busyLog,
  );
  const periods = log.filter((p) => p.start >= samples[0].at && p.end <= samples[samples.length - 1].at);
  const split = splitByLoad(samples, periods);
  const drawnWhileBusy = periods.reduce((sum, p) => sum + ((p.framesAfter ?? p.framesBefore) - p.framesBefore), 0);
  const fps = (v: number | null) => (v === null ? "-" : v.toFixed(1));
  console.log(
    `busy page, ${transport} ${mode}: ${periods.length} busy periods; acked ${fps(split.busy.fps)} fps while busy ` +
      `(${split.busy.frames} frames in ${Math.round(split.busy.ms)} ms), ${fps(split.idle.fps)} fps while idle; ` +
      `framesDisplayed +${drawnWhileBusy} across the busy periods`,
  );
  return { periods, split, drawnWhileBusy };
}

for (const transport of ["jpeg", "h264"] as Transport[]) {
  test(`${transport}: worker mode keeps drawing while the page's main thread is busy`, async ({ page, server }) => {
    const { periods, split, drawnWhileBusy } = await measure(page, server, "worker", transport);
    expect(periods.length, "busy periods inside the measured window").toBeGreaterThanOrEqual(4);
    expect(split.cycles.length, "busy periods with samples inside").toBeGreaterThanOrEqual(4);
    expect(split.idle.frames, "frames acked between busy periods").toBeGreaterThan(0);
    // 30 fps for ~440 ms per period would be ~13 frames each; ask for a clearly non-zero share.
    expect(split.busy.frames, "frames acked while the main thread spun").toBeGreaterThanOrEqual(2 * split.cycles.length);
    expect(drawnWhileBusy, "framesDisplayed growth across busy periods").toBeGreaterThanOrEqual(2 * periods.length);
  });
}

test("h264 on the main thread, for contrast: nothing is drawn while it spins", async ({ page, server }) => {
  const { split } = await measure(page, server, "in-thread", "h264");
  expect(split.cycles.length, "busy periods with samples inside").toBeGreaterThanOrEqual(4);
  expect(split.idle.frames, "frames acked between busy periods").toBeGreaterThan(0);
  expect(split.busy.frames, "frames acked while the main thread spun").toBeLessThanOrEqual(split.cycles.length);
});
