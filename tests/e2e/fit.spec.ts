// Fit modes with a canvas of another aspect ratio than the 640x480 frame, on both
// transports: `contain` letterboxes with the background colour and shows the four
// quadrants inside, `cover` fills the canvas (no background anywhere), `fill` stretches
// (on a tall canvas with the gradient pattern: each column shows the frame column it is
// stretched from, which cover would not). setFit() redraws the same frame at once.
// These run with `scaling: "canvas"` (the frame scaled into an element-sized backing store,
// letterbox included, so capture() shows it); the default CSS scaling is scaling.spec.ts.
import { test, expect } from "./fixtures";
import {
  distinctFrames, expectColor, expectQuadrants, fitRect, hex, openViewer, quadrantCentres,
  toCanvas, type Rgb, type Transport,
} from "./viewer";

const BG = "#ff00ff"; // not a test-card colour
/** The gradient's slope is one level per frame pixel; scaled and encoded, a sample may
 * land a few levels off (rounding of the sample position, YUV 4:2:0). */
const RAMP_TOLERANCE = 10;
/** Samples within this of the ramp's wrap are skipped. */
const RAMP_MARGIN = 16;

/** The gradient pattern at frame column `x` of frame `seq` (protocol/src/pattern.rs):
 * `r = (x + 4 seq) mod 256`, `g = 255 - r`, `b = 2 seq mod 256`. */
function gradientAt(x: number, seq: number): Rgb {
  const r = (((Math.round(x) + 4 * seq) % 256) + 256) % 256;
  return [r, 255 - r, (2 * seq) % 256];
}
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
      await openViewer(page, server, { transport, fit: "contain", bg: BG, scaling: "canvas" });
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
      await openViewer(page, server, { transport, fit: "cover", bg: BG, scaling: "canvas" });
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

    test("setFit() redraws the frame on screen at once", async ({ page, server }) => {
      await openViewer(page, server, { transport, fit: "contain", bg: BG, scaling: "canvas" });
      // In contain's left bar; under fill it shows frame pixel (80, 120): quadrant 0.
      const [px, py] = [100, 75];
      // One evaluate: switch to fill (and another background) and read the canvas before
      // any new frame can arrive.
      const seen = await page.evaluate(async ([px, py]) => {
        const pkg = await import("/pkg/rfb_viewer.js" as string);
        const view = (window as any).rfbView;
        // capture() reads the pixels when called (it resolves later).
        const pendingBefore = view.capture();
        view.setFit("fill", "#00ffff");
        const pendingAfter = view.capture();
        const [before, after] = await Promise.all([pendingBefore, pendingAfter]);
        const at = (c: any) => Array.from(c.data.slice((py * c.width + px) * 4, (py * c.width + px) * 4 + 3));
        return {
          before: at(before),
          after: at(after),
          sameFrame: before.stats.lastDisplayedSeq === after.stats.lastDisplayedSeq,
          expected: pkg.expectedQuadrantColor(after.stats.lastFrameSeq, 0),
          size: [after.width, after.height],
        };
      }, [px, py]);
      expectColor(seen.before as Rgb, hex(BG), "bar before setFit");
      // The same frame, redrawn stretched: the bar now shows the frame's top-left quadrant.
      expect(seen.sameFrame, "no new frame between the two captures").toBe(true);
      expectColor(seen.after as Rgb, seen.expected, "the bar's pixel after setFit('fill')");
      expect(seen.size).toEqual([800, 300]);
      await expect(page.evaluate(() => (window as any).rfbView.setFit("stretch"))).rejects.toThrow(/fit/);
    });
  });

  test.describe(`transport=${transport}, tall 300x600 canvas`, () => {
    test.use({ viewport: { width: 300, height: 600 } });

    // The test card cannot tell fill from cover (its quadrant edges sit at the frame's
    // centre lines, where every fit mode puts the canvas's), so this uses the gradient, a
    // horizontal ramp: a canvas column shows frame column x * 640 / 300 under fill and
    // (x + 250) / 1.25 under cover, far apart on a 300-wide canvas.
    test.describe("gradient", () => {
      test.use({ serverSpec: { pattern: "gradient" } });

      test("fill: stretched, each column shows the frame column it is stretched from", async ({ page, server }) => {
        await openViewer(page, server, { transport, fit: "fill", bg: BG, scaling: "canvas" });
        const columns = [10, 40, 70, 100, 130, 160, 190, 220, 250, 280];
        const frames = await distinctFrames(page, 6, () => columns.map((x) => [x, 300] as [number, number]));
        for (const f of frames) {
          expect([f.width, f.height]).toEqual([300, 600]);
          const seq = f.stats.lastFrameSeq!;
          let distinct = 0;
          columns.forEach((x, i) => {
            const fill = gradientAt((x + 0.5) * (FW / 300) - 0.5, seq);
            const cover = gradientAt((x + 0.5 + 250) / 1.25 - 0.5, seq);
            // Near the ramp's wrap (255 -> 0) scaling blends both ends: not a fair sample.
            if (fill[0] < RAMP_MARGIN || fill[0] > 255 - RAMP_MARGIN) return;
            expectColor(f.pixels[i], fill, `seq ${seq}, column ${x}`, RAMP_TOLERANCE);
            if (Math.abs(fill[0] - cover[0]) > 4 * RAMP_TOLERANCE) distinct++;
          });
          // Enough samples where cover would have shown something else.
          expect(distinct, `columns telling fill from cover at seq ${seq}`).toBeGreaterThanOrEqual(4);
        }
      });
    });

    test("contain: letterbox bars above and below", async ({ page, server }) => {
      await openViewer(page, server, { transport, fit: "contain", bg: BG, scaling: "canvas" });
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
