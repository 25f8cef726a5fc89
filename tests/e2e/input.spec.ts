// Input, end to end: the demo page forwards clicks, wheels and keys, and the server
// (`--record-events`) shows what the app would receive. Frame pixels are chosen first, their
// position on the page computed from the canvas's bounding rect and the fit math, and the
// recorded coordinates must be those frame pixels under every fit mode, at DPR 1 and 2, on
// canvases wider and taller than the 640x480 frame.
import { test, expect } from "./fixtures";
import { openViewer } from "./viewer";
import {
  RECORD, canvasRect, pagePoint, recorded, resetRecorded, waitForEvent, waitForEvents,
  type AppEvent,
} from "./events";

const FRAME: [number, number] = [640, 480];
/** Chromium delivers fractional pointer coordinates, so the mapping is exact up to float
 * rounding; half a pixel (tighter than the 1 px) still catches a pixel-centre or
 * one-CSS-pixel mistake on every canvas here. */
const TOLERANCE_PX = 0.5;
/** Frame pixels to click; those a `cover` crop hides are skipped. */
const TARGETS: [number, number][] = [
  [100, 100], [500, 400], [320, 240], [200, 60], [440, 420], [150, 200], [500, 300],
];
/** A canvas wider (900x400) and one taller (480x800) than the 4:3 frame. */
const CANVASES = { wide: { width: 900, height: 400 }, tall: { width: 480, height: 800 } };

function expectNear(e: AppEvent, [fx, fy]: [number, number], what: string) {
  expect(Math.abs(e.x! - fx), `${what}: x ${e.x} for frame x ${fx}`).toBeLessThanOrEqual(TOLERANCE_PX);
  expect(Math.abs(e.y! - fy), `${what}: y ${e.y} for frame y ${fy}`).toBeLessThanOrEqual(TOLERANCE_PX);
}

for (const fit of ["contain", "cover", "fill"]) {
  for (const dpr of [1, 2]) {
    for (const [shape, viewport] of Object.entries(CANVASES)) {
      test.describe(`fit=${fit}, dpr=${dpr}, ${shape} ${viewport.width}x${viewport.height} canvas`, () => {
        test.use({ viewport, deviceScaleFactor: dpr, serverSpec: { extra: RECORD } });

        test("a click reports the frame pixel under it", async ({ page, server }) => {
          await openViewer(page, server, { fit });
          expect(await page.evaluate(() => window.devicePixelRatio)).toBe(dpr);
          const clicks: [number, number][] = [];
          for (const target of TARGETS) {
            const at = await pagePoint(page, fit, FRAME, target);
            if (at === null) continue;
            clicks.push(target);
            await resetRecorded(server);
            await page.mouse.click(at[0], at[1]);
            const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "pointer_up");
            const down = events.find((e) => e.type === "pointer_down")!;
            const up = events.find((e) => e.type === "pointer_up")!;
            expectNear(down, target, `down at frame ${target}`);
            expectNear(up, target, `up at frame ${target}`);
            expect(down).toMatchObject({
              inside: true, button: 1, buttons: [1], modifiers: [], pointer_type: "mouse", pixel_ratio: 1,
            });
            expect(up).toMatchObject({ inside: true, button: 1, buttons: [] });
            expect(events.indexOf(down), "down before up").toBeLessThan(events.indexOf(up));
          }
          expect(clicks.length, `visible target pixels under ${fit}`).toBeGreaterThanOrEqual(fit === "cover" ? 3 : TARGETS.length);

          if (fit === "contain") {
            // The middle of a letterbox bar: outside the picture, clamped to its edge.
            const r = await canvasRect(page);
            const bar: [number, number] = shape === "wide" ? [r.left + 20, r.top + r.height / 2] : [r.left + r.width / 2, r.top + 20];
            await resetRecorded(server);
            await page.mouse.click(bar[0], bar[1]);
            const down = await waitForEvent(server, "pointer_down");
            expect(down.inside, `a click in the bar: ${JSON.stringify(down)}`).toBe(false);
            expect(shape === "wide" ? down.x : down.y).toBe(0);
          }
        });
      });
    }
  }
}

test.describe("buttons, modifiers, wheel, keys, touch", () => {
  test.use({ viewport: { width: 800, height: 600 }, serverSpec: { extra: RECORD } });

  test("shift-click carries Shift; right-click is button 2 with buttons [2]", async ({ page, server }) => {
    await openViewer(page, server, { fit: "contain" });
    const at = (await pagePoint(page, "contain", FRAME, [320, 240]))!;
    await resetRecorded(server);
    await page.keyboard.down("Shift");
    await page.mouse.click(at[0], at[1]);
    await page.keyboard.up("Shift");
    const shifted = await waitForEvent(server, "pointer_down");
    expect(shifted).toMatchObject({ button: 1, buttons: [1], modifiers: ["Shift"], inside: true });
    await waitForEvent(server, "pointer_up");

    await resetRecorded(server);
    await page.mouse.click(at[0], at[1], { button: "right" });
    const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "right-click up");
    expect(events.find((e) => e.type === "pointer_down")).toMatchObject({ button: 2, buttons: [2], modifiers: [] });
    expect(events.find((e) => e.type === "pointer_up")).toMatchObject({ button: 2, buttons: [] });

    await resetRecorded(server);
    await page.mouse.click(at[0], at[1], { button: "middle" });
    const middle = await waitForEvent(server, "pointer_down");
    expect(middle).toMatchObject({ button: 3, buttons: [3] });
  });

  test("a wheel turn arrives in pixels, at the pointer, and the page does not scroll", async ({ page, server }) => {
    await openViewer(page, server, { fit: "fill" });
    // fill on an 800x600 canvas: frame pixel = CSS pixel * 0.8.
    await resetRecorded(server);
    await page.mouse.move(400, 300);
    await page.mouse.wheel(30, 120);
    const wheel = await waitForEvent(server, "wheel");
    expect(wheel).toMatchObject({ dx: 30, dy: 120, inside: true, buttons: [], modifiers: [] });
    expectNear(wheel, [320, 240], "wheel position");

    // Line mode (Firefox's mouse wheel): 3 lines are 120 px; the default is prevented.
    await resetRecorded(server);
    const prevented = await page.evaluate(() => {
      const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
      const event = new WheelEvent("wheel", {
        deltaX: 0, deltaY: 3, deltaMode: WheelEvent.DOM_DELTA_LINE, clientX: 100, clientY: 50,
        bubbles: true, cancelable: true,
      });
      canvas.dispatchEvent(event);
      return event.defaultPrevented;
    });
    expect(prevented, "wheel default prevented").toBe(true);
    const lines = await waitForEvent(server, "wheel");
    expect(lines).toMatchObject({ dx: 0, dy: 120 });
    expectNear(lines, [80, 40], "line-mode wheel position");
    expect(await page.evaluate(() => [window.scrollX, window.scrollY])).toEqual([0, 0]);
  });

  test("a key press on the focused canvas gives key and code", async ({ page, server }) => {
    await openViewer(page, server);
    const at = (await pagePoint(page, "contain", FRAME, [320, 240]))!;
    await page.mouse.click(at[0], at[1]);
    expect(await page.evaluate(() => document.activeElement === (window as any).rfbView.canvas), "canvas focused").toBe(true);
    await waitForEvent(server, "pointer_up"); // the click is in before the reset
    await resetRecorded(server);
    await page.keyboard.press("a");
    await page.keyboard.press("Shift+ArrowLeft");
    const events = await waitForEvents(
      server, (es) => es.filter((e) => e.type === "key_up").length >= 3, "key ups",
    );
    const keys = events.map((e) => [e.type, e.key, e.code, (e.modifiers ?? []).join("+")]);
    expect(events.every((e) => e.type.startsWith("key_")), "only key events").toBe(true);
    expect(keys).toEqual([
      ["key_down", "a", "KeyA", ""],
      ["key_up", "a", "KeyA", ""],
      ["key_down", "Shift", "ShiftLeft", "Shift"],
      ["key_down", "ArrowLeft", "ArrowLeft", "Shift"],
      ["key_up", "ArrowLeft", "ArrowLeft", "Shift"],
      ["key_up", "Shift", "ShiftLeft", ""],
    ]);
    expect(events[0].repeat).toBe(false);
    expect(events[0].timestamp).toBeGreaterThan(0);
  });

  test("keys are not captured while the canvas is not focused", async ({ page, server }) => {
    await openViewer(page, server);
    await resetRecorded(server);
    await page.keyboard.press("b");
    await page.waitForTimeout(300);
    expect((await recorded(server)).filter((e) => e.type.startsWith("key_"))).toEqual([]);
  });

  test("a drag that leaves the canvas keeps reporting (pointer capture)", async ({ page, server }) => {
    await openViewer(page, server, { fit: "fill", scaling: "canvas" });
    await page.evaluate(() => {
      const view = document.getElementById("view")!;
      view.style.cssText = "position: fixed; left: 100px; top: 100px; width: 320px; height: 240px";
    });
    await page.waitForFunction(() => (window as any).rfbView.canvas.width === 320);
    await resetRecorded(server);
    // fill on 320x240: frame pixel = 2 x CSS pixel.
    await page.mouse.move(200, 200);
    await page.mouse.down();
    await page.mouse.move(300, 200, { steps: 4 });
    await page.mouse.move(600, 500, { steps: 4 }); // far outside the canvas
    await page.mouse.up();
    const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "pointer_up");
    const down = events.find((e) => e.type === "pointer_down")!;
    expectNear(down, [200, 200], "down");
    const up = events.find((e) => e.type === "pointer_up")!;
    expect(up).toMatchObject({ inside: false, x: 639, y: 479, button: 1 });
    const outside = events.filter((e) => e.type === "pointer_move" && e.inside === false);
    expect(outside.length, "moves outside the canvas are still reported").toBeGreaterThan(0);
    expect(outside.every((e) => e.buttons!.length === 1 && e.buttons![0] === 1)).toBe(true);
  });

  test("moves coalesce per animation frame and never overtake a click", async ({ page, server }) => {
    await openViewer(page, server, { fit: "fill" });
    await resetRecorded(server);
    // 30 moves and a down/up in one task: one move (the last position) goes out, before the down.
    await page.evaluate(() => {
      const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
      const fire = (type: string, x: number, init: PointerEventInit = {}) =>
        canvas.dispatchEvent(new PointerEvent(type, {
          clientX: x, clientY: 300, pointerId: 1, pointerType: "mouse", isPrimary: true,
          bubbles: true, cancelable: true, button: -1, buttons: 0, ...init,
        }));
      for (let i = 0; i < 30; i++) fire("pointermove", 100 + i * 10);
      fire("pointerdown", 400, { button: 0, buttons: 1 });
      fire("pointerup", 400, { button: 0, buttons: 0 });
      for (let i = 0; i < 5; i++) fire("pointermove", 500 + i);
    });
    const events = await waitForEvents(server, (es) => es.filter((e) => e.type === "pointer_move").length >= 2, "moves");
    await page.waitForTimeout(200);
    const all = (await recorded(server)).map((e) => [e.type, Math.round(e.x!)]);
    // fill on 800x600: frame x = CSS x * 0.8.
    expect(all).toEqual([
      ["pointer_move", 312], // 390 * 0.8: the last of the 30
      ["pointer_down", 320],
      ["pointer_up", 320],
      ["pointer_move", 403], // 504 * 0.8, after the next animation frame
    ]);
    // Everything had arrived by the second move: the 5 trailing moves went out as that one,
    // and nothing trailed in the 200 ms after.
    expect(events.map((e) => [e.type, Math.round(e.x!)])).toEqual(all);
  });

  test.describe("on a touch screen", () => {
    test.use({ hasTouch: true });

    test("a tap arrives as pointer_type touch at the frame pixel", async ({ page, server }) => {
      await openViewer(page, server, { fit: "contain" });
      const at = (await pagePoint(page, "contain", FRAME, [100, 400]))!;
      await resetRecorded(server);
      await page.touchscreen.tap(at[0], at[1]);
      const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "touch up");
      const down = events.find((e) => e.type === "pointer_down")!;
      expect(down).toMatchObject({ pointer_type: "touch", button: 1, buttons: [1], inside: true });
      expectNear(down, [100, 400], "tap");
      expect(await page.evaluate(() => getComputedStyle((window as any).rfbView.canvas).touchAction)).toBe("none");
    });
  });

  test("a pen pointer arrives as pointer_type pen", async ({ page, server }) => {
    await openViewer(page, server, { fit: "fill" });
    await resetRecorded(server);
    await page.evaluate(() => {
      const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
      canvas.dispatchEvent(new PointerEvent("pointerdown", {
        clientX: 400, clientY: 300, pointerId: 9, pointerType: "pen", button: 0, buttons: 1,
        bubbles: true, cancelable: true,
      }));
    });
    const down = await waitForEvent(server, "pointer_down");
    expect(down).toMatchObject({ pointer_type: "pen", pointer_id: 9, x: 320, y: 240, inside: true });
  });

  test("input: false makes a view-only viewer", async ({ page, server }) => {
    await openViewer(page, server, { input: "0" });
    const at = (await pagePoint(page, "contain", FRAME, [320, 240]))!;
    await resetRecorded(server);
    await page.mouse.click(at[0], at[1]);
    await page.mouse.wheel(0, 100);
    await page.keyboard.press("a");
    await page.waitForTimeout(300);
    expect(await recorded(server)).toEqual([]);
    expect(await page.evaluate(() => (window as any).rfbView.canvas.hasAttribute("tabindex"))).toBe(false);
  });
});
