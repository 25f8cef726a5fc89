// test_card at 640x480 on both transports: the decoded quadrant colours of at least 10
// displayed frames match expected_quadrant_color(lastFrameSeq, q), and the transport is
// the one asked for (video really goes through WebCodecs' VideoDecoder).
import { test, expect } from "./fixtures";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres, stats, type Transport } from "./viewer";

// Counts VideoDecoder instances and the frames they output, before the page's code runs.
const countWebCodecs = () => {
  const w = window as any;
  w.__webcodecs = { decoders: 0, outputs: 0 };
  const Original = w.VideoDecoder;
  if (!Original) return;
  w.VideoDecoder = class extends Original {
    constructor(init: any) {
      w.__webcodecs.decoders++;
      super({
        ...init,
        output: (frame: any) => {
          w.__webcodecs.outputs++;
          init.output(frame);
        },
      });
    }
  };
};

for (const transport of ["video", "image"] as Transport[]) {
  test.describe(`transport=${transport}`, () => {
    test("quadrant colours of 10+ displayed frames match the test card", async ({ page, server }) => {
      await openViewer(page, server, { transport });
      const frames = await distinctFrames(page, 12, () => quadrantCentres(640, 480));
      for (const f of frames) expect([f.width, f.height]).toEqual([640, 480]);
      expectQuadrants(frames);
    });

    test("the negotiated transport is the one asked for", async ({ page, server }) => {
      await page.addInitScript(countWebCodecs);
      await openViewer(page, server, { transport });
      await page.waitForFunction(() => (window as any).rfbView.stats().framesDisplayed >= 10);
      const s = await stats(page);
      const webcodecs = await page.evaluate(() => (window as any).__webcodecs);
      if (transport === "video") {
        expect(s.transport).toBe("h264");
        expect(webcodecs.decoders).toBeGreaterThanOrEqual(1);
        // Every displayed frame came out of a VideoDecoder.
        expect(webcodecs.outputs).toBeGreaterThanOrEqual(s.framesDisplayed);
      } else {
        expect(s.transport).toBe("jpeg");
        expect(webcodecs.decoders).toBe(0);
      }
      expect(s.lastDisplayedSeq).not.toBeNull();
      expect(s.lastFrameSeq).not.toBeNull();
      // The decode queue holds only unacknowledged frames, so never more than the server's
      // in-flight window (2 by default), and it drains between frames: sampled every
      // animation frame for a second, it stays within the window and is empty at times.
      const queue: number[] = await page.evaluate(async () => {
        const out: number[] = [];
        const end = performance.now() + 1000;
        while (performance.now() < end) {
          out.push((window as any).rfbView.stats().decodeQueueSize);
          await new Promise((r) => requestAnimationFrame(r));
        }
        return out;
      });
      expect(queue.length).toBeGreaterThan(20);
      expect(Math.max(...queue), `decodeQueueSize samples ${queue}`).toBeLessThanOrEqual(2);
      expect(Math.min(...queue), `decodeQueueSize samples ${queue}`).toBe(0);
    });
  });
}
