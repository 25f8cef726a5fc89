// Fit modes with a canvas of another aspect ratio than the 640x480 frame, on both
// transports: `contain` letterboxes with the background colour and shows the four
// quadrants inside, `cover` fills the canvas (no background anywhere), `fill` stretches
// (the quadrant centres move with the canvas). setFit() redraws at once.
import { test, expect } from "./fixtures";
import {
  distinctFrames, expectColor, expectQuadrants, fitRect, hex, openViewer, quadrantCentres,
  snapshot, toCanvas, type Transport,
} from "./viewer";

const BG = "#ff00ff"; // not a test-card colour
const FW = 640;
const FH = 480;

/** Quadrant samples (frame points mapped through the fit) followed by `extra` points. */
function points(fit: string, frame: [number, number][], extra: [number, number][] = []) {
  return (w: number, h: number) => {
    const rect = fitRect(fit, FW, FH, w, h);
    return [...frame.map(([x, y]) => toCanvas(rect, FW, FH, x, y)), ...extra];
  };
}

for (const transport of ["video", "image"] as Transport[]) {
  test.describe(`transport=${transport}, wide 800x300 canvas`, () => {
    test.use({ viewport: { width: 800, height: 300 } });

    test("contain: background in the bars, four quadrants inside", async ({ page, server }) => {
      await openViewer(page, server, { transport, fit: "contain", bg: BG });
      // The picture is 400x300 at x=200: bars are x < 200 and x >= 600.
      const bars: [number, number][] = [[100, 150], [10, 10], [700, 150], [790, 290]];
      const frames = await distinctFrames(page, 6, points("contain", quadrantCentres(FW, FH), bars));
      for (const f of frames) {
        expect([f.width, f.height]).toEqual([800, 300]);
        bars.forEach((_, i) => expectColor(f.pixels[4 + i], hex(BG), `bar sample ${i}`));
      }
      expectQuadrants(frames);
    });

    test("cover: no background, the visible middle shows the quadrants", async ({ page, server }) => {
      await openViewer(page, server, { transport, fit: "cover", bg: BG });
      // Scaled 1.25x to 800x600 and cropped to frame rows 120..360: sample inside those.
      const visible: [number, number][] = [[160, 180], [480, 180], [160, 300], [480, 300]];
      const corners: [number, number][] = [[2, 2], [797, 2], [2, 297], [797, 297]];
      const frames = await distinctFrames(page, 6, points("cover", visible, corners));
      for (const f of frames) {
        // Corners belong to quadrants 0..3 in order: the picture reaches every edge.
        corners.forEach((_, q) => expectColor(f.pixels[4 + q], f.expected[q], `corner ${q}`));
      }
      expectQuadrants(frames);
    });

    test("fill: stretched, quadrant centres at the canvas quarter points", async ({ page, server }) => {
      await openViewer(page, server, { transport, fit: "fill", bg: BG });
      const quarters = (w: number, h: number): [number, number][] => quadrantCentres(w, h);
      const frames = await distinctFrames(page, 6, quarters);
      expect(quarters(800, 300)[3]).toEqual([600, 225]);
      expectQuadrants(frames);
    });

    test("setFit() redraws the frame on screen at once", async ({ page, server }) => {
      await openViewer(page, server, { transport, fit: "contain", bg: BG });
      const probe: [number, number][] = [[100, 150]];
      // One evaluate: switch to fill (and another background) and read the canvas before
      // any new frame can arrive.
      const bar = await page.evaluate(async () => {
        const view = (window as any).rfbView;
        // capture() reads the pixels when called (it resolves later).
        const pendingBefore = view.capture();
        view.setFit("fill", "#00ffff");
        const pendingAfter = view.capture();
        const [before, after] = await Promise.all([pendingBefore, pendingAfter]);
        const at = (c: any) => Array.from(c.data.slice((150 * c.width + 100) * 4, (150 * c.width + 100) * 4 + 3));
        return { before: at(before), after: at(after), seq: view.stats().lastFrameSeq };
      });
      expectColor(bar.before as any, hex(BG), "bar before setFit");
      const expected = await snapshot(page, probe);
      expect(bar.after, "after setFit('fill') the bar shows the picture").not.toEqual(bar.before);
      expect(expected.width).toBe(800);
      await expect(page.evaluate(() => (window as any).rfbView.setFit("stretch"))).rejects.toThrow(/fit/);
    });
  });

  test.describe(`transport=${transport}, tall 300x600 canvas`, () => {
    test.use({ viewport: { width: 300, height: 600 } });

    test("contain: letterbox bars above and below", async ({ page, server }) => {
      await openViewer(page, server, { transport, fit: "contain", bg: BG });
      // The picture is 300x225 at y=187.5.
      const bars: [number, number][] = [[150, 90], [150, 510]];
      const frames = await distinctFrames(page, 6, points("contain", quadrantCentres(FW, FH), bars));
      for (const f of frames) {
        expect([f.width, f.height]).toEqual([300, 600]);
        bars.forEach((_, i) => expectColor(f.pixels[4 + i], hex(BG), `bar sample ${i}`));
      }
      expectQuadrants(frames);
    });
  });
}
