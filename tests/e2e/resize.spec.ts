// The published size changes mid-stream (640x480 <-> 320x320 every 20 frames): the viewer
// rebuilds its decoder on each Config and keeps showing correct colours at each size, on
// the main thread and in worker mode (whose own frame conversion follows the size).
import { test, expect } from "./fixtures";
import {
  expectColor, fitRect, hex, near, openViewer, quadrantCentres, snapshot, toCanvas,
  type Snapshot, type Transport,
} from "./viewer";

const BG = "#ff00ff";
const SIZES: [number, number][] = [[640, 480], [320, 320]];

test.use({ serverSpec: { extra: ["--alt-size", "320x320", "--resize-every", "20"] } });

for (const [transport, worker] of [["video", "0"], ["image", "0"], ["video", "1"]] as [Transport, string][]) {
  test(`transport=${transport}, worker=${worker}: correct colours before and after each size change`, async ({ page, server }) => {
    await openViewer(page, server, { transport, fit: "contain", bg: BG, worker, scaling: "canvas" });
    // In the 640x480 canvas a 320x320 frame is pillarboxed: (40, 100) is a bar then, and
    // quadrant 0 of a 640x480 frame otherwise.
    const probe: [number, number] = [40, 100];
    const pts = [probe, ...SIZES.flatMap(([fw, fh]) => {
      const rect = fitRect("contain", fw, fh, 640, 480);
      return quadrantCentres(fw, fh).map(([x, y]) => toCanvas(rect, fw, fh, x, y));
    })];
    const seen: Snapshot[][] = [[], []];
    const order: number[] = [];
    let last: number | null = null;
    const deadline = Date.now() + 30_000;
    while (seen[0].length < 8 || seen[1].length < 8 || order.length < 3) {
      expect(Date.now(), `frames per size so far: ${seen[0].length}, ${seen[1].length}`).toBeLessThan(deadline);
      const s = await snapshot(page, pts);
      if (s.stats.lastDisplayedSeq !== null && s.stats.lastDisplayedSeq !== last) {
        last = s.stats.lastDisplayedSeq;
        const size = near(s.pixels[0], hex(BG)) ? 1 : 0;
        seen[size].push(s);
        if (order[order.length - 1] !== size) order.push(size);
      }
      await page.waitForTimeout(10);
    }
    for (const size of [0, 1]) {
      for (const f of seen[size]) {
        for (let q = 0; q < 4; q++) {
          const [fw, fh] = SIZES[size];
          expectColor(f.pixels[1 + size * 4 + q], f.expected[q], `${fw}x${fh} frame_seq ${f.stats.lastFrameSeq} quadrant ${q}`);
        }
      }
    }
    // Which size a frame has is a function of its publish counter (20 frames per size).
    for (const size of [0, 1]) {
      for (const f of seen[size]) {
        const n = (f.stats.lastFrameSeq ?? 1) - 1;
        expect(Math.floor(n / 20) % 2, `frame_seq ${f.stats.lastFrameSeq} drawn as ${SIZES[size]}`).toBe(size);
      }
    }
  });
}
