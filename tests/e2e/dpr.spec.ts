// dpr=2 with `scaling: "canvas"`: the canvas backing store is twice its CSS size and the
// colours still match; under the default CSS scaling it is the frame whatever the DPR.
import { test, expect } from "./fixtures";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres, type Transport } from "./viewer";

for (const transport of ["video", "image"] as Transport[]) {
  test(`transport=${transport}: dpr=2 doubles the backing store`, async ({ page, server }) => {
    await openViewer(page, server, { transport, dpr: "2", scaling: "canvas" });
    const css = await page.evaluate(() => {
      const canvas = document.querySelector("#view canvas") as HTMLCanvasElement;
      return [canvas.clientWidth, canvas.clientHeight, canvas.width, canvas.height];
    });
    expect(css).toEqual([640, 480, 1280, 960]);
    const frames = await distinctFrames(page, 10, (w, h) => quadrantCentres(w, h));
    for (const f of frames) expect([f.width, f.height]).toEqual([1280, 960]);
    expectQuadrants(frames);
  });
}

test("maxBackingDimension caps the backing store, keeping the aspect ratio", async ({ page, server }) => {
  await page.goto(server.url);
  await page.waitForFunction(() => (window as any).rfbView?.state === "negotiated");
  const size = await page.evaluate(async () => {
    const { RemoteFramebufferView } = await import("/pkg/rfb_viewer.js" as string);
    (window as any).rfbView.dispose();
    const canvas = document.createElement("canvas");
    canvas.style.cssText = "width: 640px; height: 480px; display: block";
    document.body.append(canvas);
    const view = new RemoteFramebufferView(canvas, { devicePixelRatio: 2, maxBackingDimension: 800, scaling: "canvas" });
    await new Promise<void>((resolve) => {
      const poll = () => (view.stats().framesDisplayed > 0 ? resolve() : setTimeout(poll, 20));
      poll();
    });
    const out = [canvas.width, canvas.height];
    view.dispose();
    return out;
  });
  expect(size).toEqual([800, 600]);
});

test("CSS scaling: the backing store is the frame at any DPR, capped by maxBackingDimension", async ({ page, server }) => {
  await openViewer(page, server, { dpr: "2" });
  const size = await page.evaluate(async () => {
    const { RemoteFramebufferView } = await import("/pkg/rfb_viewer.js" as string);
    const before = [(window as any).rfbView.canvas.width, (window as any).rfbView.canvas.height];
    (window as any).rfbView.dispose();
    const canvas = document.createElement("canvas");
    canvas.style.cssText = "width: 640px; height: 480px; display: block";
    document.body.append(canvas);
    const view = new RemoteFramebufferView(canvas, { devicePixelRatio: 2, maxBackingDimension: 320 });
    await new Promise<void>((resolve) => {
      const poll = () => (view.stats().framesDisplayed > 0 ? resolve() : setTimeout(poll, 20));
      poll();
    });
    const capped = [canvas.width, canvas.height];
    view.dispose();
    // Dispose puts back the page's own inline style (none for these properties).
    return { before, capped, fitAfter: canvas.style.objectFit, bgAfter: canvas.style.backgroundColor };
  });
  expect(size).toEqual({ before: [640, 480], capped: [320, 240], fitAfter: "", bgAfter: "" });
});
