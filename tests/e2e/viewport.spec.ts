// Sizing, end to end: when the page changes the element's size or the device pixel ratio
// changes, the viewer redraws at the new backing size and the app receives a `resize` event
// with the new logical and physical size (the server started with `--record-events`). Both
// on the main thread and in worker mode, where the page watches and the worker draws.
import { test, expect } from "./fixtures";
import { openViewer } from "./viewer";
import { RECORD, recorded, resetRecorded, setViewSize, waitForEvent } from "./events";

/** The backing store's size, as drawn (a worker's canvas is read through capture()). */
async function backing(page: import("@playwright/test").Page) {
  return page.evaluate(async () => {
    const cap = await (window as any).rfbView.capture();
    return [cap.width, cap.height];
  });
}

for (const [dpr, worker] of [[1, "0"], [2, "0"], [2, "1"]] as [number, string][]) {
  test.describe(`dpr=${dpr}, worker=${worker}`, () => {
    test.use({ viewport: { width: 800, height: 600 }, deviceScaleFactor: dpr, serverSpec: { extra: RECORD } });

    test("resizing the element sends a resize with the new logical and physical size", async ({ page, server }) => {
      await openViewer(page, server, { worker, scaling: "canvas" });
      await resetRecorded(server);
      await setViewSize(page, 500, 300);
      const resize = await waitForEvent(server, "resize");
      expect(resize).toEqual({ type: "resize", width: 500, height: 300, pwidth: 500 * dpr, pheight: 300 * dpr, ratio: dpr });
      await expect.poll(() => backing(page)).toEqual([500 * dpr, 300 * dpr]);

      // A fractional CSS size: logical as is, physical rounded.
      await resetRecorded(server);
      await setViewSize(page, 300.5, 200);
      const fractional = await waitForEvent(server, "resize");
      expect(fractional).toMatchObject({ width: 300.5, height: 200, pwidth: Math.round(300.5 * dpr), pheight: 200 * dpr });

      // Only changes are sent: one resize per new size.
      await page.waitForTimeout(300);
      expect((await recorded(server)).filter((e) => e.type === "resize")).toHaveLength(1);
    });
  });
}

test.describe("device pixel ratio changes", () => {
  test.use({ viewport: { width: 800, height: 600 }, serverSpec: { extra: RECORD } });

  for (const worker of ["0", "1"]) {
    test(`worker=${worker}: a DPR change (zoom, another screen) sends a resize and resizes the backing store`, async ({ page, server }) => {
      await openViewer(page, server, { worker, scaling: "canvas" });
      // A fixed-size element: a window resize alone changes nothing for it.
      await setViewSize(page, 400, 300);
      await waitForEvent(server, "resize", (e) => e.width === 400);
      const cdp = await page.context().newCDPSession(page);
      for (const [i, ratio] of [2, 1.5, 1].entries()) {
        await resetRecorded(server);
        // Chromium re-evaluates media queries on an emulated DPR change only together with a
        // viewport change, hence the width nudge (the element keeps its size).
        await cdp.send("Emulation.setDeviceMetricsOverride", { width: 801 + i, height: 600, deviceScaleFactor: ratio, mobile: false });
        const resize = await waitForEvent(server, "resize");
        expect(resize).toEqual({ type: "resize", width: 400, height: 300, pwidth: 400 * ratio, pheight: 300 * ratio, ratio });
        await expect.poll(() => backing(page)).toEqual([400 * ratio, 300 * ratio]);
      }
    });
  }

  test("a devicePixelRatio override is not replaced by the window's", async ({ page, server }) => {
    await openViewer(page, server, { dpr: "3", scaling: "canvas" });
    await setViewSize(page, 400, 300);
    await waitForEvent(server, "resize", (e) => e.width === 400 && e.ratio === 3);
    expect(await backing(page)).toEqual([1200, 900]);
    const cdp = await page.context().newCDPSession(page);
    await resetRecorded(server);
    await cdp.send("Emulation.setDeviceMetricsOverride", { width: 801, height: 600, deviceScaleFactor: 2, mobile: false });
    await page.waitForFunction(() => window.devicePixelRatio === 2);
    await page.waitForTimeout(300);
    expect(await recorded(server)).toEqual([]);
    expect(await backing(page)).toEqual([1200, 900]);
  });
});
