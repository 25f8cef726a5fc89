// dpr=2: the canvas backing store is twice its CSS size and the colours still match.
import { test, expect } from "./fixtures";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres, type Transport } from "./viewer";

for (const transport of ["video", "image"] as Transport[]) {
  test(`transport=${transport}: dpr=2 doubles the backing store`, async ({ page, server }) => {
    await openViewer(page, server, { transport, dpr: "2" });
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
    const view = new RemoteFramebufferView(canvas, { devicePixelRatio: 2, maxBackingDimension: 800 });
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
