// Pages that scale the view with CSS transforms (zoomable dashboards, slide decks,
// Storybook's zoom) and canvases with padding and borders: a click still reports the frame
// pixel under it, and the backing store is sized from the canvas's own content box.
import type { Page } from "@playwright/test";
import { test, expect, type RfbServer } from "./fixtures";
import { openViewer } from "./viewer";
import { RECORD, resetRecorded, waitForEvents } from "./events";

const FRAME: [number, number] = [640, 360];

/** Places the demo's view at (40, 30), 640x360, with `transform` and the canvas's `canvasCss`. */
async function layout(page: Page, transform: string, canvasCss = "") {
  await page.evaluate(
    ([transform, canvasCss]) => {
      const view = document.getElementById("view")!;
      view.style.cssText = `position: fixed; left: 40px; top: 30px; width: 640px; height: 360px; transform: ${transform}; transform-origin: 0 0`;
      const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
      canvas.style.cssText += canvasCss;
    },
    [transform, canvasCss],
  );
}

async function clickAt(page: Page, server: RfbServer, x: number, y: number) {
  await resetRecorded(server);
  await page.mouse.click(x, y);
  const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "pointer_up");
  return events.find((e) => e.type === "pointer_down")!;
}

function expectAt(e: { x?: number; y?: number; inside?: boolean }, [fx, fy]: [number, number], what: string) {
  expect(Math.abs(e.x! - fx), `${what}: x ${e.x}, expected ${fx}`).toBeLessThanOrEqual(0.5);
  expect(Math.abs(e.y! - fy), `${what}: y ${e.y}, expected ${fy}`).toBeLessThanOrEqual(0.5);
  expect(e.inside, what).toBe(true);
}

test.use({ viewport: { width: 800, height: 600 }, serverSpec: { width: 640, height: 360, extra: RECORD } });

for (const worker of ["0", "1"]) {
  test.describe(`worker=${worker}`, () => {
    test("scale(0.5): the visual centre of a 640x360 frame is (320, 180)", async ({ page, server }) => {
      await openViewer(page, server, { worker, fit: "fill", scaling: "canvas" });
      await layout(page, "scale(0.5)");
      // The backing store follows the canvas's own size, not its on-screen size.
      await expect.poll(() => page.evaluate(() => (window as any).rfbView.canvas.width)).toBe(640);
      expectAt(await clickAt(page, server, 40 + 160, 30 + 90), [320, 180], "visual centre");
      expectAt(await clickAt(page, server, 40 + 20, 30 + 10), [40, 20], "near the top-left");
      expectAt(await clickAt(page, server, 40 + 300, 30 + 170), [600, 340], "near the bottom-right");
    });

    test("translate and scale(1.25): clicks map through the transform", async ({ page, server }) => {
      await openViewer(page, server, { worker, fit: "fill", scaling: "canvas" });
      await layout(page, "translate(-20px, 10px) scale(1.25)");
      // Frame pixel (fx, fy) is at 40 - 20 + fx * 1.25, 30 + 10 + fy * 1.25 on the page.
      for (const [fx, fy] of [[320, 180], [100, 50], [500, 300]] as [number, number][]) {
        expectAt(await clickAt(page, server, 20 + fx * 1.25, 40 + fy * 1.25), [fx, fy], `frame (${fx}, ${fy})`);
      }
    });

    test("padding and a border on the canvas are not part of the picture", async ({ page, server }) => {
      await openViewer(page, server, { worker, fit: "fill", scaling: "canvas" });
      // Content box: 640 - 2 * (20 + 5) = 590 wide, 360 - 2 * (10 + 5) = 330 high.
      await layout(page, "none", "; box-sizing: border-box; padding: 10px 20px; border: 5px solid #808080");
      await expect.poll(() => page.evaluate(() => (window as any).rfbView.canvas.width)).toBe(590);
      const origin = [40 + 25, 30 + 15];
      for (const [fx, fy] of [[320, 180], [32, 18], [608, 342]] as [number, number][]) {
        const at: [number, number] = [origin[0] + (fx * 590) / 640, origin[1] + (fy * 330) / 360];
        expectAt(await clickAt(page, server, at[0], at[1]), [fx, fy], `frame (${fx}, ${fy})`);
      }
    });

    test("a click in the same task as a layout change maps through the new layout", async ({ page, server }) => {
      await openViewer(page, server, { worker, fit: "contain", scaling: "canvas" });
      await resetRecorded(server);
      // Frame pixel (100, 60) under scale(0.5) and padding 20 (content box 600x320, the
      // frame contained at 0.888...). The page changes the layout and the pointer goes
      // down and up in one task: the view's size watch (a ResizeObserver, which runs with
      // the next rendering) has not reported the new size yet.
      const scale = Math.min(600 / 640, 320 / 360);
      const x = 40 + 0.5 * (20 + (600 - 640 * scale) / 2 + 100 * scale);
      const y = 30 + 0.5 * (20 + (320 - 360 * scale) / 2 + 60 * scale);
      await page.evaluate(([x, y]) => {
        const view = document.getElementById("view")!;
        view.style.cssText = "position: fixed; left: 40px; top: 30px; width: 640px; height: 360px; transform: scale(0.5); transform-origin: 0 0";
        const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
        canvas.style.cssText += "; box-sizing: border-box; padding: 20px";
        for (const type of ["pointerdown", "pointerup"]) {
          const init = { clientX: x, clientY: y, pointerId: 1, pointerType: "mouse", isPrimary: true, button: 0, bubbles: true, cancelable: true };
          canvas.dispatchEvent(new PointerEvent(type, { ...init, buttons: type === "pointerdown" ? 1 : 0 }));
        }
      }, [x, y]);
      const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "pointer_up");
      expectAt(events.find((e) => e.type === "pointer_down")!, [100, 60], "frame (100, 60)");
    });

    test("scale(0.5) and padding together, under contain", async ({ page, server }) => {
      await openViewer(page, server, { worker, fit: "contain", scaling: "canvas" });
      await layout(page, "scale(0.5)", "; box-sizing: border-box; padding: 20px");
      // Content box 600x320: contain scales the 640x360 frame by 0.888..., centred.
      const scale = Math.min(600 / 640, 320 / 360);
      const offset = [(600 - 640 * scale) / 2, (320 - 360 * scale) / 2];
      for (const [fx, fy] of [[320, 180], [100, 60], [560, 330]] as [number, number][]) {
        const x = 40 + 0.5 * (20 + offset[0] + fx * scale);
        const y = 30 + 0.5 * (20 + offset[1] + fy * scale);
        expectAt(await clickAt(page, server, x, y), [fx, fy], `frame (${fx}, ${fy})`);
      }
    });
  });
}
