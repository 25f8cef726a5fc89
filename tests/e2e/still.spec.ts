// Still after settle on the image path: the stream is JPEG (lossy), and once no new frame
// has been published for `--still-after`, the server sends a lossless PNG of the resting
// frame. The viewer decodes each image by its own format (the Config still says JPEG), so
// the canvas ends up pixel-exact: every pixel equals the test card. While frames keep
// coming, no still is sent.
//
// "The publisher stops" is a slow publisher here: at `--fps 0.25` the frame rests for 4 s
// after each publish, and with `--still-after 1` each rest ends in a still (the first
// one 1 s after the viewer joins, which leaves time to look at the JPEG first).
import type { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { openViewer, stats } from "./viewer";

/** Compares the whole canvas with test card frame `lastFrameSeq`, reading stats and pixels
 * in one synchronous step; returns how many pixels differ and the largest channel error. */
async function compareWithTestCard(page: Page) {
  return page.evaluate(async () => {
    const pkg = await import("/pkg/rfb_viewer.js" as string);
    const view = (window as any).rfbView;
    const cap = await view.capture();
    const s = cap.stats;
    const seq = s.lastFrameSeq;
    const colors = [0, 1, 2, 3].map((q) => pkg.expectedQuadrantColor(seq, q));
    const [hw, hh] = [Math.floor(s.frameWidth / 2), Math.floor(s.frameHeight / 2)];
    let differing = 0;
    let maxError = 0;
    for (let y = 0; y < cap.height; y++) {
      for (let x = 0; x < cap.width; x++) {
        const c = colors[(y < hh ? 0 : 2) + (x < hw ? 0 : 1)];
        const i = (y * cap.width + x) * 4;
        const e = Math.max(Math.abs(cap.data[i] - c[0]), Math.abs(cap.data[i + 1] - c[1]), Math.abs(cap.data[i + 2] - c[2]));
        if (e > 0 || cap.data[i + 3] !== 255) differing++;
        maxError = Math.max(maxError, e);
      }
    }
    return { format: s.format as string, transport: s.transport as string, stills: s.stills as number, seq, width: cap.width, height: cap.height, frame: [s.frameWidth, s.frameHeight], differing, maxError };
  });
}

test.describe("a resting JPEG stream", () => {
  test.use({ serverSpec: { fps: 0.25, extra: ["--still-after", "1"] } });

  test("settles to a pixel-exact PNG still", async ({ page, server }) => {
    await openViewer(page, server, { transport: "image" });
    // The first frame shown is the stream's JPEG: close to the test card, not exact.
    const first = await compareWithTestCard(page);
    expect(first).toMatchObject({ transport: "jpeg", format: "jpeg", stills: 0, width: 640, height: 480, frame: [640, 480] });
    // (Chroma subsampling blurs the colour edges between the quadrants.)
    expect(first.differing).toBeGreaterThan(0);

    // Then the still: a PNG on the JPEG stream, every pixel exact.
    await page.waitForFunction(() => (window as any).rfbView.stats().format === "png", null, { timeout: 6_000 });
    const still = await compareWithTestCard(page);
    expect(still).toMatchObject({ transport: "jpeg", format: "png", width: 640, height: 480, frame: [640, 480] });
    expect(still.stills).toBeGreaterThanOrEqual(1);
    expect(still.differing, `pixels off the test card (max error ${still.maxError})`).toBe(0);

    // The next publish comes as a JPEG again, and settles into a still again.
    await page.waitForFunction((seq) => (window as any).rfbView.stats().lastFrameSeq > seq, still.seq, { timeout: 6_000 });
    await page.waitForFunction((seq) => {
      const s = (window as any).rfbView.stats();
      return s.lastFrameSeq > seq && s.format === "png";
    }, still.seq, { timeout: 6_000 });
    const again = await compareWithTestCard(page);
    expect(again.format).toBe("png");
    expect(again.differing).toBe(0);
    expect(again.stills).toBeGreaterThanOrEqual(2);

    const [m] = await (await fetch(`${server.url}metrics`)).json();
    expect(m.transport).toBe("jpeg");
  });
});

test.describe("a JPEG stream that keeps publishing", () => {
  test.use({ serverSpec: { fps: 30, extra: ["--still-after", "0.3"] } });

  test("gets no stills", async ({ page, server }) => {
    await openViewer(page, server, { transport: "image" });
    await page.waitForTimeout(2000);
    const s: any = await stats(page);
    expect(s.framesDisplayed).toBeGreaterThan(30);
    expect(s.stills).toBe(0);
    expect(s.format).toBe("jpeg");
  });
});
