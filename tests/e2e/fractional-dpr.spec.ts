// Fractional device pixel ratios (1.25, 1.5: common laptop scalings): the canvas's backing
// store is exactly the device pixels it covers (`devicePixelContentBoxSize`), not
// `round(CSS size x DPR)`, which at a fractional position is a pixel off and makes the
// browser resample every frame (blurred text). In-thread and in worker mode, with
// `scaling: "canvas"` (under CSS scaling the backing store is the frame).
//
// The DPR is the browser's own (`--force-device-scale-factor`, no viewport emulation):
// under Playwright's DPR emulation Chromium reports `devicePixelContentBoxSize` in CSS
// pixels, which the viewer rejects (it only believes a value within a pixel of
// `CSS size x DPR`); the last test checks that emulated case keeps `round(CSS x DPR)`.
import type { Page } from "@playwright/test";
import { chromium } from "@playwright/test";
import { test, expect, watchConsole } from "./fixtures";
import { openViewer } from "./viewer";

/** Places the view at a fractional position and size; returns the canvas's device-pixel
 * content box as the browser reports it, and the naive `round(CSS x DPR)`. */
async function place(page: Page, css: string) {
  return page.evaluate(async (css) => {
    document.getElementById("view")!.style.cssText = css;
    const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
    const device = await new Promise<[number, number]>((resolve) => {
      const ro = new ResizeObserver((entries) => {
        const s = entries[0].devicePixelContentBoxSize[0];
        ro.disconnect();
        resolve([s.inlineSize, s.blockSize]);
      });
      ro.observe(canvas, { box: "device-pixel-content-box" });
    });
    const r = canvas.getBoundingClientRect();
    return { device, naive: [Math.round(r.width * devicePixelRatio), Math.round(r.height * devicePixelRatio)] };
  }, css);
}

const backing = (page: Page) =>
  page.evaluate(async () => {
    const cap = await (window as any).rfbView.capture();
    return [cap.width, cap.height];
  });

for (const dpr of [1.25, 1.5]) {
  for (const worker of ["0", "1"]) {
    test(`dpr=${dpr} worker=${worker}: the backing store is the device pixels the canvas covers`, async ({ server }) => {
      // A browser of its own: the scale factor is a launch flag, not an emulation.
      const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
        args: ["--no-sandbox", "--disable-gpu", `--force-device-scale-factor=${dpr}`, "--window-size=800,600"],
      });
      try {
        const page = await browser.newPage({ viewport: null });
        const errors = watchConsole(page, []);
        await openViewer(page, server, { worker, fit: "fill", scaling: "canvas" });
        expect(await page.evaluate(() => devicePixelRatio)).toBeCloseTo(dpr, 5);
        // A position and size that do not land on device pixels.
        const { device, naive } = await place(page, "position: fixed; left: 0.5px; top: 0.3px; width: 333px; height: 201px");
        expect(device, "the setup must tell the two apart").not.toEqual(naive);
        await expect.poll(() => backing(page)).toEqual(device);
        // And a whole-pixel layout still matches.
        const whole = await place(page, "position: fixed; left: 0; top: 0; width: 320px; height: 240px");
        await expect.poll(() => backing(page)).toEqual(whole.device);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    });
  }
}

test.describe("emulated DPR 2 (devicePixelContentBoxSize in CSS pixels)", () => {
  test.use({ viewport: { width: 800, height: 600 }, deviceScaleFactor: 2 });

  test("the implausible device size is ignored: round(CSS x DPR)", async ({ page, server }) => {
    await openViewer(page, server, { fit: "fill", scaling: "canvas" });
    const { device, naive } = await place(page, "position: fixed; left: 0; top: 0; width: 320px; height: 240px");
    expect(device, "Chromium's emulation reports CSS pixels").toEqual([320, 240]);
    await expect.poll(() => backing(page)).toEqual(naive);
    expect(naive).toEqual([640, 480]);
  });
});
