// CSS scaling (`scaling: "css"`, the default): the canvas holds the 640x480 frame 1:1 and
// the element scales it by `object-fit`, with the letterbox colour as its background. The
// backing store no longer contains the bars, so what a user sees is checked where a user
// sees it: in a screenshot of the page (the compositor's output), for every fit mode, in
// thread and in a worker. `capture()` still checks the backing store: the whole frame,
// drawn 1:1. A click on the scaled picture lands on the frame pixel under it, and setFit()
// changes what the element shows at once.
import { test, expect } from "./fixtures";
import { RECORD, canvasRect, pagePoint, resetRecorded, waitForEvents } from "./events";
import {
  distinctFrames, expectColor, expectQuadrants, fitRect, hex, near, openViewer, quadrantCentres,
  toCanvas, type Rgb,
} from "./viewer";
import type { Page } from "@playwright/test";

const BG = "#ff00ff"; // not a test-card colour
const FW = 640;
const FH = 480;

/** The RGB of a page screenshot (device pixels) at each CSS point, read back in the page. */
async function screenPixels(page: Page, points: [number, number][]): Promise<Rgb[]> {
  const png = await page.screenshot({ scale: "css" });
  return page.evaluate(async ({ bytes, points }) => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: "image/png" }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d")!;
    ctx.drawImage(bitmap, 0, 0);
    return points.map(([x, y]) => Array.from(ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data.slice(0, 3)));
  }, { bytes: Array.from(png), points }) as Promise<Rgb[]>;
}

/** The test card's quadrant colours for each of its 4 colour phases (seq mod 4). */
async function phases(page: Page): Promise<Rgb[][]> {
  return page.evaluate(async () => {
    const pkg = await import("/pkg/rfb_viewer.js" as string);
    return [0, 1, 2, 3].map((seq) => [0, 1, 2, 3].map((q) => pkg.expectedQuadrantColor(seq, q)));
  });
}

/** Screenshots until one shows the four quadrant samples of a single colour phase (the
 * picture changes 30 times a second; a screenshot is one composited frame). */
async function seenQuadrants(page: Page, quadrants: [number, number][], extra: [number, number][]) {
  const expected = await phases(page);
  let last: Rgb[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const pixels = await screenPixels(page, [...quadrants, ...extra]);
    last = pixels;
    const phase = expected.findIndex((colours) => colours.every((c, q) => near(pixels[q], c)));
    if (phase >= 0) return { phase, extra: pixels.slice(4) };
  }
  throw new Error(`no screenshot showed the four quadrants of one phase; last: ${JSON.stringify(last)}`);
}

for (const worker of [false, true]) {
  const mode = worker ? "worker" : "in-thread";

  test.describe(`${mode}: CSS scaling in a wide 800x300 window`, () => {
    test.use({ viewport: { width: 800, height: 300 } });

    for (const fit of ["contain", "cover", "fill"]) {
      test(`${fit}: the backing store is the frame 1:1, the screen shows it fitted`, async ({ page, server }) => {
        await openViewer(page, server, { fit, bg: BG, hud: "0", ...(worker ? { worker: "1" } : {}) });
        // The backing store: the whole frame, quadrant centres where the frame has them.
        const frames = await distinctFrames(page, 4, () => quadrantCentres(FW, FH));
        for (const f of frames) expect([f.width, f.height]).toEqual([FW, FH]);
        expectQuadrants(frames);
        const style = await page.evaluate(() => {
          const s = getComputedStyle((window as any).rfbView.canvas);
          return { fit: s.objectFit, position: s.objectPosition, background: s.backgroundColor };
        });
        expect(style).toEqual({ fit, position: "50% 50%", background: "rgb(255, 0, 255)" });

        // The screen: quadrant centres through the fit (cover: the visible middle rows).
        const r = await canvasRect(page);
        const rect = fitRect(fit, FW, FH, r.width, r.height);
        const frameQuadrants: [number, number][] =
          fit === "cover" ? [[160, 180], [480, 180], [160, 300], [480, 300]] : quadrantCentres(FW, FH);
        const onScreen = frameQuadrants.map(([x, y]) => {
          const [cx, cy] = toCanvas(rect, FW, FH, x, y);
          return [r.left + cx, r.top + cy] as [number, number];
        });
        // contain: bars left and right of a 400x300 picture at x = 200; cover and fill:
        // the picture reaches the element's corners (top-left is quadrant 0).
        const probes: [number, number][] = fit === "contain"
          ? [[r.left + 100, r.top + 150], [r.left + 10, r.top + 10], [r.left + 700, r.top + 150], [r.left + 790, r.top + 290]]
          : [[r.left + 3, r.top + 3], [r.left + r.width - 4, r.top + r.height - 4]];
        const seen = await seenQuadrants(page, onScreen, probes);
        const expected = (await phases(page))[seen.phase];
        if (fit === "contain") {
          seen.extra.forEach((px, i) => expectColor(px, hex(BG), `bar sample ${i}`));
        } else {
          expectColor(seen.extra[0], expected[0], "top-left corner shows quadrant 0");
          expectColor(seen.extra[1], expected[3], "bottom-right corner shows quadrant 3");
        }
      });
    }

    test("setFit() changes the element at once, without a redraw", async ({ page, server }) => {
      await openViewer(page, server, { fit: "contain", bg: BG, hud: "0", ...(worker ? { worker: "1" } : {}) });
      const r = await canvasRect(page);
      const bar: [number, number] = [r.left + 100, r.top + 150];
      expectColor((await screenPixels(page, [bar]))[0], hex(BG), "contain: the left bar");
      await page.evaluate(() => (window as any).rfbView.setFit("fill", "#00ffff"));
      // Under fill the bar's point shows frame pixel (80, 240): quadrant 0 or 2's edge; the
      // top-left region is quadrant 0 of the phase on screen, never the old background.
      const probe: [number, number] = [r.left + 100, r.top + 75];
      const seen = await seenQuadrants(page, quadrantCentres(FW, FH).map(([x, y]) => {
        const [cx, cy] = toCanvas(fitRect("fill", FW, FH, r.width, r.height), FW, FH, x, y);
        return [r.left + cx, r.top + cy] as [number, number];
      }), [probe]);
      expectColor(seen.extra[0], (await phases(page))[seen.phase][0], "the old bar now shows quadrant 0");
      const style = await page.evaluate(() => {
        const s = getComputedStyle((window as any).rfbView.canvas);
        return [s.objectFit, s.backgroundColor];
      });
      expect(style).toEqual(["fill", "rgb(0, 255, 255)"]);
    });
  });

  test.describe(`${mode}: CSS scaling input`, () => {
    test.use({ viewport: { width: 900, height: 400 }, serverSpec: { extra: RECORD } });

    test("a click on the scaled picture lands on the frame pixel under it", async ({ page, server }) => {
      await openViewer(page, server, { fit: "contain", hud: "0", ...(worker ? { worker: "1" } : {}) });
      const size = await page.evaluate(async () => {
        const c = await (window as any).rfbView.capture();
        return [c.width, c.height];
      });
      expect(size, "the backing store is the frame").toEqual([FW, FH]);
      for (const target of [[100, 100], [500, 400], [320, 240], [639, 0]] as [number, number][]) {
        const at = await pagePoint(page, "contain", [FW, FH], target, 0);
        expect(at).not.toBeNull();
        await resetRecorded(server);
        await page.mouse.click(at![0] + 0.01, at![1] + 0.01);
        const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "pointer_up");
        const down = events.find((e) => e.type === "pointer_down")!;
        // 480 frame rows in 400 CSS pixels: a CSS pixel is 1.2 frame pixels.
        expect(Math.abs(down.x! - target[0]), `x of ${target}`).toBeLessThanOrEqual(1.2);
        expect(Math.abs(down.y! - target[1]), `y of ${target}`).toBeLessThanOrEqual(1.2);
        expect(down).toMatchObject({ inside: true, button: 1 });
      }
      // The bar left of the picture is outside it.
      const r = await canvasRect(page);
      await resetRecorded(server);
      await page.mouse.click(r.left + 20, r.top + 200);
      const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "pointer_up");
      expect(events.find((e) => e.type === "pointer_down")).toMatchObject({ inside: false, x: 0 });
    });
  });
}
