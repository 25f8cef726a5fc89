// Input fidelity: a drag keeps every point (the moves of one animation frame and the
// points `getCoalescedEvents()` recovers), where hover moves stay latest-wins; a pen's
// pressure, tilt and twist reach the app. In-thread and in worker mode.
import type { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { openViewer } from "./viewer";
import { RECORD, recorded, resetRecorded, waitForEvents } from "./events";

test.use({ viewport: { width: 800, height: 600 }, serverSpec: { extra: RECORD } });

/** Dispatches pointer events on the canvas in one task (no animation frame between). */
async function fire(page: Page, events: [string, Record<string, unknown>][]) {
  await page.evaluate((events) => {
    const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
    const base = { pointerId: 1, pointerType: "mouse", isPrimary: true, bubbles: true, cancelable: true, clientY: 300 };
    for (const [type, init] of events) {
      const coalesced = (init.coalescedX as number[] | undefined)?.map(
        (x) => new PointerEvent("pointermove", { ...base, ...init, clientX: x }),
      );
      canvas.dispatchEvent(new PointerEvent(type, { ...base, ...init, ...(coalesced ? { coalescedEvents: coalesced } : {}) }));
    }
  }, events);
}

for (const worker of ["0", "1"]) {
  test.describe(`worker=${worker}`, () => {
    test("a drag keeps every point; hovering stays one move per frame", async ({ page, server }) => {
      await openViewer(page, server, { worker, fit: "fill" });
      await resetRecorded(server);
      // fill on 800x600: frame x = CSS x * 0.8.
      await fire(page, [
        ["pointerdown", { clientX: 100, button: 0, buttons: 1 }],
        ...Array.from({ length: 10 }, (_, i) => ["pointermove", { clientX: 110 + i * 10, button: -1, buttons: 1 }] as [string, Record<string, unknown>]),
        // One event the browser merged three moves into.
        ["pointermove", { clientX: 250, button: -1, buttons: 1, coalescedX: [220, 235, 250] }],
        ["pointerup", { clientX: 250, button: 0, buttons: 0 }],
        ...Array.from({ length: 10 }, (_, i) => ["pointermove", { clientX: 300 + i * 10, button: -1, buttons: 0 }] as [string, Record<string, unknown>]),
      ]);
      await waitForEvents(server, (es) => es.filter((e) => e.type === "pointer_move").length >= 14, "moves");
      await page.waitForTimeout(200);
      const xs = (await recorded(server)).map((e) => `${e.type} ${Math.round(e.x!)}`);
      const stroke = [110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 220, 235, 250].map((x) => `pointer_move ${Math.round(x * 0.8)}`);
      expect(xs).toEqual(["pointer_down 80", ...stroke, "pointer_up 200", "pointer_move 312"]);
    });

    test("a pen's pressure, tilt and twist reach the app", async ({ page, server }) => {
      await openViewer(page, server, { worker, fit: "fill" });
      await resetRecorded(server);
      await fire(page, [
        ["pointerdown", { clientX: 400, pointerId: 9, pointerType: "pen", button: 0, buttons: 1, pressure: 0.75, tiltX: 30, tiltY: -20, twist: 90 }],
        ["pointerup", { clientX: 400, pointerId: 9, pointerType: "pen", button: 0, buttons: 0, pressure: 0 }],
      ]);
      const events = await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "pen up");
      const down = events.find((e) => e.type === "pointer_down") as any;
      expect(down).toMatchObject({ pointer_type: "pen", pointer_id: 9, x: 320, y: 240, tilt_x: 30, tilt_y: -20, twist: 90 });
      expect(down.pressure).toBeCloseTo(0.75, 5);
    });
  });
}

for (const worker of ["0", "1"]) {
  test(`worker=${worker}: IME composition on the canvas arrives as one text event`, async ({ page, server }) => {
    await openViewer(page, server, { worker, fit: "fill" });
    await page.mouse.click(400, 300); // focus the view
    await waitForEvents(server, (es) => es.some((e) => e.type === "pointer_up"), "the click");
    await resetRecorded(server);
    // What an input method does (CDP's IME emulation): a composition updated twice, then
    // committed, with no key events for the app.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Input.imeSetComposition", { text: "にほ", selectionStart: 2, selectionEnd: 2 });
    await cdp.send("Input.imeSetComposition", { text: "にほん", selectionStart: 3, selectionEnd: 3 });
    await cdp.send("Input.insertText", { text: "日本" });
    await page.keyboard.press("a"); // ordinary keys stay key events, with no text
    await waitForEvents(server, (es) => es.some((e) => e.type === "key_up"), "the key");
    await page.waitForTimeout(200);
    const events = (await recorded(server)).map((e: any) => (e.type === "text" ? `text ${e.text}` : `${e.type} ${e.key}`));
    expect(events).toEqual(["text 日本", "key_down a", "key_up a"]);
    expect(await page.evaluate(() => "editContext" in (window as any).rfbView.canvas)).toBe(true);
  });
}
