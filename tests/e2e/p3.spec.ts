// Display P3 end to end: `rfb serve --color display-p3` publishes the test card's RGB as
// Display P3 values (H.264 with the P3 primaries in its VUI and Config, JPEG with a P3
// ICC profile). The viewer must draw them on a `display-p3` canvas without converting
// them, so reading the canvas back in Display P3 gives the published numbers again, on
// both transports and in both modes.
//
// Tolerance: `TOLERANCE` (6 per channel), the same as for sRGB. The path adds no colour
// conversion (P3 source on a P3 canvas), only what the codecs do to flat colours (4:2:0
// chroma, quantisation) and 8-bit rounding. It is tight enough to matter: read back as
// sRGB, the same pixels are up to 40 levels away on a saturated channel (measured), which the test also
// checks, so a viewer that drew P3 content on an sRGB canvas (or converted twice) fails.
import { test, expect } from "./fixtures";
import { TOLERANCE, expectColor, openViewer, quadrantCentres, type Rgb } from "./viewer";

test.use({ serverSpec: { extra: ["--color", "display-p3"] } });

/** The canvas read back in Display P3 and in sRGB at the quadrant centres, with the stats
 * of the frame on it. In-thread: `getImageData(..., { colorSpace })` on the view's own
 * canvas, in the same task as `stats()`, so both describe one frame. In worker mode the
 * canvas lives in the worker (`transferControlToOffscreen`): `capture()` reads it there
 * with `getImageData` on its `display-p3` context, whose default is the canvas's space. */
async function readBack(page: import("@playwright/test").Page, worker: boolean) {
  return page.evaluate(async ({ worker, points }) => {
    const pkg = await import("/pkg/rfb_viewer.js" as string);
    const view = (window as any).rfbView;
    const at = (data: Uint8ClampedArray, width: number, [x, y]: number[]) => {
      const i = (Math.floor(y) * width + Math.floor(x)) * 4;
      return [data[i], data[i + 1], data[i + 2]];
    };
    let p3: number[][];
    let srgb: number[][] | null = null;
    let stats: any;
    let dataSpace: string;
    if (worker) {
      const capture = await view.capture();
      stats = capture.stats;
      dataSpace = capture.colorSpace;
      p3 = points.map((p: number[]) => at(capture.data, capture.width, p));
    } else {
      const canvas = view.canvas as HTMLCanvasElement;
      const ctx = canvas.getContext("2d")!;
      const p3Image = ctx.getImageData(0, 0, canvas.width, canvas.height, { colorSpace: "display-p3" });
      const srgbImage = ctx.getImageData(0, 0, canvas.width, canvas.height, { colorSpace: "srgb" });
      stats = view.stats();
      dataSpace = `${p3Image.colorSpace}/${ctx.getContextAttributes().colorSpace}`;
      p3 = points.map((p: number[]) => at(p3Image.data, canvas.width, p));
      srgb = points.map((p: number[]) => at(srgbImage.data, canvas.width, p));
    }
    const expected = [0, 1, 2, 3].map((q) => pkg.expectedQuadrantColor(stats.lastFrameSeq, q));
    return { p3, srgb, expected, statsSpace: stats.colorSpace, dataSpace, transport: stats.transport };
  }, { worker, points: quadrantCentres(640, 480) });
}

for (const transport of ["video", "image"] as const) {
  for (const mode of ["main", "worker"] as const) {
    test(`transport=${transport}, ${mode}: the published P3 values come back from the canvas`, async ({ page, server }) => {
      await openViewer(page, server, { transport, ...(mode === "worker" ? { worker: "1" } : {}) });
      let farthest = 0;
      for (let i = 0; i < 5; i++) {
        const seen = await readBack(page, mode === "worker");
        expect(seen.transport).toBe(transport === "video" ? "h264" : "jpeg");
        expect(seen.statsSpace).toBe("display-p3");
        expect(seen.dataSpace).toBe(mode === "worker" ? "display-p3" : "display-p3/display-p3");
        seen.p3.forEach((px, q) => expectColor(px as Rgb, seen.expected[q], `sample ${i}, quadrant ${q} in Display P3`));
        if (seen.srgb !== null) {
          for (const [q, px] of seen.srgb.entries()) {
            farthest = Math.max(farthest, ...px.map((v, c) => Math.abs(v - seen.expected[q][c])));
          }
        }
        await page.waitForTimeout(150);
      }
      // In-thread, the same pixels read as sRGB are far from the published numbers: the
      // tolerance cannot hide a missing (or doubled) conversion.
      if (mode === "main") console.log(`p3 ${transport}: sRGB read-back differs by up to ${farthest} levels`);
      if (mode === "main") expect(farthest, "largest sRGB-vs-P3 channel difference").toBeGreaterThan(3 * TOLERANCE);
    });
  }
}
