// Worker mode (`WorkerView`, demo `worker=1`): the socket, the decoder and the drawing run
// in a Web Worker on the transferred OffscreenCanvas. The decoded quadrant colours are right
// on both transports, no VideoDecoder exists on the main thread, input still lands on the
// right frame pixel (mapped on the main thread with the geometry the worker draws with), and
// fit changes reach the worker.
import { test, expect } from "./fixtures";
import { RECORD, pagePoint, resetRecorded, waitForEvents } from "./events";
import {
  distinctFrames, expectColor, expectQuadrants, fitRect, hex, openViewer, quadrantCentres, snapshot,
  stats, type Transport,
} from "./viewer";

/** Counts VideoDecoders constructed on the main thread (the worker has its own global). */
const countMainThreadDecoders = () => {
  const w = window as any;
  w.__decoders = 0;
  const Original = w.VideoDecoder;
  if (!Original) return;
  w.VideoDecoder = class extends Original {
    constructor(init: any) {
      w.__decoders++;
      super(init);
    }
  };
};

for (const transport of ["video", "image"] as Transport[]) {
  test.describe(`worker mode, transport=${transport}`, () => {
    test("quadrant colours of 10+ frames match, decoded off the main thread", async ({ page, server }) => {
      await page.addInitScript(countMainThreadDecoders);
      await openViewer(page, server, { transport, worker: "1" });
      const frames = await distinctFrames(page, 12, () => quadrantCentres(640, 480));
      for (const f of frames) expect([f.width, f.height]).toEqual([640, 480]);
      expectQuadrants(frames);
      const s = await stats(page);
      expect(s.transport).toBe(transport === "video" ? "h264" : "jpeg");
      expect(await page.evaluate(() => (window as any).__decoders), "VideoDecoders on the main thread").toBe(0);
      expect(await page.evaluate(() => (window as any).rfbView.constructor.name)).toBe("WorkerView");
    });
  });
}

test.describe("worker mode input and layout", () => {
  test.use({ viewport: { width: 900, height: 400 }, serverSpec: { extra: RECORD } });

  test("a click lands on the frame pixel under it", async ({ page, server }) => {
    await openViewer(page, server, { worker: "1", fit: "contain" });
    for (const target of [[100, 100], [500, 400], [320, 240]] as [number, number][]) {
      const at = await pagePoint(page, "contain", [640, 480], target);
      expect(at).not.toBeNull();
      await resetRecorded(server);
      await page.mouse.click(at![0], at![1]);
      const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "pointer_up");
      const down = events.find((e) => e.type === "pointer_down")!;
      expect(Math.abs(down.x! - target[0])).toBeLessThanOrEqual(0.5);
      expect(Math.abs(down.y! - target[1])).toBeLessThanOrEqual(0.5);
      expect(down).toMatchObject({ inside: true, button: 1 });
    }
  });

  test("setFit reaches the worker: the letterbox bars become picture under cover", async ({ page, server }) => {
    await openViewer(page, server, { worker: "1", fit: "contain", bg: "#ff00ff", scaling: "canvas" });
    const first = await snapshot(page, []);
    // contain on a 900x400 canvas: bars left and right, painted in the background colour.
    const rect = fitRect("contain", 640, 480, first.width, first.height);
    expect(rect.x).toBeGreaterThan(10);
    const bar: [number, number] = [rect.x / 2, first.height / 4];
    expectColor((await snapshot(page, [bar])).pixels[0], hex("#ff00ff"), "letterbox bar under contain");
    await page.evaluate(() => (window as any).rfbView.setFit("cover"));
    await expect
      .poll(async () => {
        const s = await snapshot(page, [bar]);
        return s.pixels[0].join(",");
      })
      .not.toBe(hex("#ff00ff").join(","));
    // Under cover the same point is inside the picture, top-left quadrant.
    const s = await snapshot(page, [bar]);
    const cover = fitRect("cover", 640, 480, s.width, s.height);
    const fx = ((bar[0] - cover.x) * 640) / cover.w;
    const fy = ((bar[1] - cover.y) * 480) / cover.h;
    expect(fx).toBeLessThan(300);
    expect(fy).toBeLessThan(220);
    expectColor(s.pixels[0], s.expected[0], "the point is in quadrant 0 under cover");
  });
});
