// `rfb serve --match-client`: the server renders the test card at the viewer's latest
// physical size (debounced, even) and tags frames with its DPR. Resizing the element makes
// the published frame follow, as `/streams` and the viewer's stats report, the picture is
// still right at the new size, and clicks then map 1:1 onto physical pixels.
import { test, expect, type RfbServer } from "./fixtures";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres } from "./viewer";
import { RECORD, resetRecorded, setViewSize, waitForEvent } from "./events";

const MATCH_CLIENT = [...RECORD, "--match-client"];

async function publishedSize(server: RfbServer): Promise<[number, number]> {
  const streams = (await (await fetch(`${server.url}streams`)).json()) as { width: number; height: number }[];
  expect(streams).toHaveLength(1);
  return [streams[0].width, streams[0].height];
}

async function shownFrame(page: import("@playwright/test").Page) {
  return page.evaluate(() => {
    const s = (window as any).rfbView.stats();
    return [s.frameWidth, s.frameHeight, s.pixelRatio];
  });
}

for (const dpr of [1, 2]) {
  test.describe(`dpr=${dpr}`, () => {
    test.use({ viewport: { width: 800, height: 600 }, deviceScaleFactor: dpr, serverSpec: { extra: MATCH_CLIENT } });

    test("the published frame follows the element's physical size", async ({ page, server }) => {
      await openViewer(page, server, { fit: "contain", scaling: "canvas" });
      for (const [w, h] of [[700, 500], [401, 301], [320, 480]]) {
        await setViewSize(page, w, h);
        // Even sizes (4:2:0 video): an odd physical size is rounded down.
        const [pw, ph] = [Math.floor((w * dpr) / 2) * 2, Math.floor((h * dpr) / 2) * 2];
        await expect.poll(() => publishedSize(server), { message: `published size for ${w}x${h} CSS` }).toEqual([pw, ph]);
        await expect.poll(() => shownFrame(page), { message: "the frame on screen" }).toEqual([pw, ph, dpr]);
        const frames = await distinctFrames(page, 4, (bw, bh) => quadrantCentres(bw, bh));
        for (const f of frames) expect([f.width, f.height]).toEqual([w * dpr, h * dpr]);
        expectQuadrants(frames);
      }
    });

    test("clicks map 1:1 onto the matched frame and echo its pixel ratio", async ({ page, server }) => {
      await openViewer(page, server, { fit: "contain", scaling: "canvas" });
      await setViewSize(page, 400, 300);
      await expect.poll(() => shownFrame(page)).toEqual([400 * dpr, 300 * dpr, dpr]);
      await resetRecorded(server);
      await page.mouse.click(100, 50);
      const down = await waitForEvent(server, "pointer_down");
      expect(down).toMatchObject({ inside: true, pixel_ratio: dpr });
      expect(Math.abs(down.x! - 100 * dpr)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(down.y! - 50 * dpr)).toBeLessThanOrEqual(0.5);
    });
  });
}

test.describe("the initial viewport", () => {
  test.use({ viewport: { width: 800, height: 600 }, serverSpec: { extra: MATCH_CLIENT } });

  // The viewport in `Hello` counts like a `SetViewport`: a `resize` event and the first
  // match-client target, so the stream follows the element before it ever changes size.
  test("is followed without any resize", async ({ page, server }) => {
    await openViewer(page, server);
    await expect.poll(() => publishedSize(server)).toEqual([800, 600]);
    await waitForEvent(server, "resize", (e) => e.width === 800 && e.pwidth === 800);
  });
});
