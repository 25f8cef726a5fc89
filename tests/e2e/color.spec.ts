// Colour tags: frames tagged Display P3 are drawn on a `display-p3` canvas, sRGB ones on an
// `srgb` canvas, and a change of tag mid-stream moves the view to a fresh canvas (a 2D
// context's colour space is fixed) that keeps working: same attributes, focus, input and
// resize tracking. `rfb serve` publishes sRGB only, so the test re-tags the server's
// messages on their way to the page (Playwright's WebSocket routing), patching the colour
// primaries byte of `Config` and of every frame header in the postcard encoding.
import type { Page, WebSocketRoute } from "@playwright/test";
import { test, expect } from "./fixtures";
import { expectColor, openViewer, waitForFrames } from "./viewer";
import { RECORD, resetRecorded, setViewSize, waitForEvent } from "./events";

/** Reads a postcard varint at `pos`: [value, next position]. */
function varint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7;
  }
}

function skipVarints(buf: Buffer, pos: number, count: number): number {
  for (let i = 0; i < count; i++) pos = varint(buf, pos)[1];
  return pos;
}

/**
 * Sets the colour primaries (`ColorPrimaries`: 0 BT.709/sRGB, 1 Display P3) of a `Config`,
 * `VideoChunk` or `ImageFrame` server message; other messages pass unchanged.
 */
function retag(data: Buffer, p3: boolean): Buffer {
  const out = Buffer.from(data);
  const [variant, start] = varint(out, 0);
  let pos: number;
  if (variant === 0) {
    // Config: transport (variant + inner), codec string, width, height, pixel_ratio (f32).
    pos = skipVarints(out, start, 2);
    const [len, afterLen] = varint(out, pos);
    pos = skipVarints(out, afterLen + len, 2) + 4;
  } else if (variant === 1 || variant === 2) {
    // Frame header: seq, frame_seq, timestamp_us, width, height, keyframe (1), pixel_ratio (4).
    pos = skipVarints(out, start, 5) + 1 + 4;
  } else {
    return out;
  }
  if (out[pos] > 1) throw new Error(`unexpected primaries byte ${out[pos]} at ${pos} in message ${variant}`);
  out[pos] = p3 ? 1 : 0;
  return out;
}

/** Routes the page's WebSocket through `tag(frameIndex)` (true = Display P3). */
async function routeTagged(page: Page, tag: (frame: number) => boolean) {
  let frames = 0;
  await page.routeWebSocket(/.*/, (ws: WebSocketRoute) => {
    const server = ws.connectToServer();
    server.onMessage((message) => {
      if (typeof message === "string") return ws.send(message);
      const variant = message[0];
      const p3 = tag(frames);
      if (variant === 1 || variant === 2) frames++;
      ws.send(retag(message, p3));
    });
  });
}

async function canvasState(page: Page) {
  return page.evaluate(async () => {
    const view = (window as any).rfbView;
    const canvas = view.canvas as HTMLCanvasElement;
    const ctx = canvas.getContext("2d") as any;
    return {
      context: ctx.getContextAttributes().colorSpace as string,
      stats: view.stats().colorSpace as string | null,
      capture: (await view.capture()).colorSpace as string | null,
      connected: canvas.isConnected,
      canvases: document.querySelectorAll("#view canvas").length,
    };
  });
}

/** The sRGB value of quadrant `q`'s centre and the test card's colour for that frame. */
async function quadrantSrgb(page: Page, q: number) {
  return page.evaluate(async (q) => {
    const pkg = await import("/pkg/rfb_viewer.js" as string);
    const view = (window as any).rfbView;
    const canvas = view.canvas as HTMLCanvasElement;
    const ctx = canvas.getContext("2d")!;
    const seq = view.stats().lastFrameSeq;
    const x = Math.floor(((q % 2) * 2 + 1) * canvas.width / 4);
    const y = Math.floor((Math.floor(q / 2) * 2 + 1) * canvas.height / 4);
    const px = ctx.getImageData(x, y, 1, 1, { colorSpace: "srgb" }).data;
    return { actual: [px[0], px[1], px[2]], expected: pkg.expectedQuadrantColor(seq, q), seq };
  }, q);
}

test.describe("colour spaces", () => {
  test.use({ viewport: { width: 640, height: 480 }, serverSpec: { extra: RECORD } });

  test("sRGB frames are drawn on an srgb canvas", async ({ page, server }) => {
    await openViewer(page, server, { transport: "image" });
    expect(await canvasState(page)).toMatchObject({ context: "srgb", stats: "srgb", capture: "srgb" });
  });

  for (const transport of ["image", "video"]) {
    test(`transport=${transport}: Display P3 frames are drawn on a display-p3 canvas`, async ({ page, server }) => {
      await routeTagged(page, () => true);
      await openViewer(page, server, { transport });
      expect(await canvasState(page)).toMatchObject({ context: "display-p3", stats: "display-p3", capture: "display-p3", canvases: 1 });
      await waitForFrames(page, 3);
      // Read back as sRGB, the picture is still the test card. (The payloads themselves
      // still say sRGB: the JPEGs carry no ICC profile and the H.264 VUI says BT.709, so the
      // browser converts them into the P3 canvas. A real P3 stream must tag the payload too
      // for its pixels to reach the canvas unconverted.)
      for (let q = 0; q < 4; q++) {
        const { actual, expected, seq } = await quadrantSrgb(page, q);
        expectColor(actual as any, expected, `frame_seq ${seq}, quadrant ${q} read back as sRGB`);
      }
    });
  }

  test("a tag change mid-stream moves to a fresh canvas that keeps working", async ({ page, server }) => {
    // Frames 0-9 sRGB, 10-29 P3, then sRGB again.
    await routeTagged(page, (n) => n >= 10 && n < 30);
    await openViewer(page, server, { transport: "image", fit: "fill", scaling: "canvas" });
    const first = await page.evaluateHandle(() => (window as any).rfbView.canvas);
    expect(await canvasState(page)).toMatchObject({ context: "srgb" });
    await page.mouse.click(320, 240); // focus it
    await page.waitForFunction(() => (window as any).rfbView.stats().colorSpace === "display-p3");
    const state = await canvasState(page);
    expect(state).toMatchObject({ context: "display-p3", capture: "display-p3", connected: true, canvases: 1 });
    expect(await first.evaluate((c: HTMLCanvasElement) => c.isConnected), "the old canvas is gone").toBe(false);
    const attrs = await page.evaluate(() => {
      const c = (window as any).rfbView.canvas as HTMLCanvasElement;
      return { tabindex: c.getAttribute("tabindex"), style: c.style.cssText, focused: document.activeElement === c };
    });
    expect(attrs).toEqual({ tabindex: "0", style: expect.stringContaining("touch-action: none"), focused: true });

    // Input and resize tracking moved with it.
    await waitForEvent(server, "pointer_up"); // the focusing click is in before the reset
    await resetRecorded(server);
    await page.mouse.click(160, 120);
    const down = await waitForEvent(server, "pointer_down");
    expect(down).toMatchObject({ x: 160, y: 120, inside: true });
    await page.keyboard.press("k");
    await waitForEvent(server, "key_down", (e) => e.key === "k");
    await setViewSize(page, 400, 300);
    await waitForEvent(server, "resize", (e) => e.width === 400 && e.height === 300);
    await expect.poll(() => page.evaluate(() => (window as any).rfbView.canvas.width)).toBe(400);

    // And back to sRGB.
    await page.waitForFunction(() => (window as any).rfbView.stats().colorSpace === "srgb", null, { timeout: 20_000 });
    expect(await canvasState(page)).toMatchObject({ context: "srgb", connected: true, canvases: 1 });
  });
});

test.describe("the page's own canvas", () => {
  test.use({ viewport: { width: 640, height: 480 }, serverSpec: { extra: [...RECORD, "--web-dir", "tests/apps/static"] } });

  test("a tag change never swaps a canvas the page passed in", async ({ page, server }) => {
    // Frames 0-9 sRGB, then P3: the context (created for sRGB) stays, the browser converts.
    await routeTagged(page, (n) => n >= 10);
    await page.goto(`${server.url}element.html`);
    await page.waitForFunction(() => document.body.dataset.ready === "1");
    await page.evaluate(async () => {
      const w = window as any;
      const canvas = document.createElement("canvas");
      canvas.style.cssText = "position: fixed; left: 0; top: 0; width: 640px; height: 480px";
      document.body.append(canvas);
      w.pageCanvas = canvas;
      w.clicks = 0;
      canvas.addEventListener("click", () => w.clicks++); // the page's own listener
      w.rfbView = await w.rfbViewer.createView(canvas, { worker: false, imageOnly: true, fit: "fill" });
    });
    await page.waitForFunction(() => (window as any).rfbView.stats().colorSpace === "display-p3", null, { timeout: 20_000 });
    const kept = await page.evaluate(() => {
      const w = window as any;
      return { same: w.rfbView.canvas === w.pageCanvas, connected: w.pageCanvas.isConnected, canvases: document.querySelectorAll("canvas").length };
    });
    expect(kept).toEqual({ same: true, connected: true, canvases: 1 });
    // Still the test card, still taking input, the page's listener still on the live node.
    for (let q = 0; q < 4; q++) {
      const { actual, expected, seq } = await quadrantSrgb(page, q);
      expectColor(actual as any, expected, `frame_seq ${seq}, quadrant ${q}`);
    }
    await resetRecorded(server);
    await page.mouse.click(160, 120);
    expect(await waitForEvent(server, "pointer_down")).toMatchObject({ x: 160, y: 120, inside: true });
    expect(await page.evaluate(() => (window as any).clicks)).toBe(1);
  });
});
