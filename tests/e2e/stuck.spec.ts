// Nothing stays held in the app: whenever the view stops getting key or button releases
// (focus moves to another element or out of the window, the page is hidden, pointer capture
// is lost), the viewer releases what it told the app was pressed. Each path of the issue
// (Shift held while focus moves to an <input>, Tab, the window losing focus, the tab hidden
// mid-drag, lost pointer capture), in-thread and in worker mode.
import type { Page } from "@playwright/test";
import { test, expect, type RfbServer } from "./fixtures";
import { openViewer } from "./viewer";
import { RECORD, pagePoint, recorded, resetRecorded, waitForEvent, waitForEvents, type AppEvent } from "./events";

const FRAME: [number, number] = [640, 480];

/** Keys and buttons the app would still consider held after `events`. */
function stillHeld(events: AppEvent[]): string[] {
  const keys = new Set<string>();
  const buttons = new Set<number>();
  for (const e of events) {
    if (e.type === "key_down") keys.add(e.code!);
    if (e.type === "key_up") keys.delete(e.code!);
    if (e.type === "pointer_down") buttons.add(e.button!);
    if (e.type === "pointer_up") buttons.delete(e.button!);
  }
  return [...[...keys].map((k) => `key ${k}`), ...[...buttons].map((b) => `button ${b}`)];
}

/** Adds an <input> above the view (the demo's view fills the window). */
async function addInput(page: Page) {
  await page.evaluate(() => {
    const input = document.createElement("input");
    input.id = "other";
    input.style.cssText = "position: fixed; right: 10px; bottom: 10px; width: 120px; z-index: 10";
    document.body.append(input);
  });
}

/** Clicks the frame's centre (focusing the canvas) and waits until the app has the click. */
async function focusView(page: Page, server: RfbServer) {
  const at = (await pagePoint(page, "contain", FRAME, [320, 240]))!;
  await page.mouse.click(at[0], at[1]);
  await waitForEvent(server, "pointer_up");
  await resetRecorded(server);
}

async function waitUntilReleased(server: RfbServer, what: string) {
  const events = await waitForEvents(server, (es) => es.length > 0 && stillHeld(es).length === 0, what);
  expect(stillHeld(events)).toEqual([]);
  return events;
}

test.use({ serverSpec: { extra: RECORD } });

for (const worker of ["0", "1"]) {
  test.describe(`worker=${worker}`, () => {
    test("Shift held while focus moves to an <input>: the app gets its key_up", async ({ page, server }) => {
      await openViewer(page, server, { worker });
      await addInput(page);
      await focusView(page, server);
      await page.keyboard.down("Shift");
      await waitForEvent(server, "key_down", (e) => e.key === "Shift");
      await page.click("#other");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("other");
      await page.keyboard.up("Shift"); // delivered to the <input>, not the view
      const events = await waitUntilReleased(server, "Shift released");
      const up = events.find((e) => e.type === "key_up")!;
      expect(up).toMatchObject({ key: "Shift", code: "ShiftLeft", modifiers: [] });
    });

    test("Tab moves focus away after its keydown: Tab and Shift are released", async ({ page, server }) => {
      await openViewer(page, server, { worker });
      await addInput(page);
      await focusView(page, server);
      await page.keyboard.down("Shift");
      await page.keyboard.down("Tab"); // Shift+Tab: focus leaves the canvas
      await expect.poll(() => page.evaluate(() => document.activeElement?.tagName)).not.toBe("CANVAS");
      const events = await waitUntilReleased(server, "Tab and Shift released");
      await page.keyboard.up("Tab");
      await page.keyboard.up("Shift");
      expect(events.map((e) => `${e.type} ${e.key}`)).toEqual([
        "key_down Shift", "key_down Tab", "key_up Tab", "key_up Shift",
      ]);
      // The real releases went elsewhere: nothing more reached the app.
      await page.waitForTimeout(200);
      expect(await recorded(server)).toHaveLength(4);
    });

    test("the window loses focus (Alt-Tab) with a key and a button held", async ({ page, server }) => {
      await openViewer(page, server, { worker });
      await focusView(page, server);
      const at = (await pagePoint(page, "contain", FRAME, [200, 200]))!;
      await page.mouse.move(at[0], at[1]);
      await page.mouse.down();
      await page.keyboard.down("Control");
      await waitForEvents(server, (es) => es.some((e) => e.type === "key_down"), "key_down Control");
      // What the browser does on Alt-Tab: a blur on the window (headless Chromium has no
      // other window to switch to, so the event is dispatched).
      await page.evaluate(() => window.dispatchEvent(new FocusEvent("blur")));
      const events = await waitUntilReleased(server, "everything released");
      const up = events.find((e) => e.type === "pointer_up")!;
      expect(up).toMatchObject({ button: 1, buttons: [], x: 200, y: 200 });
      expect(events.find((e) => e.type === "key_up")).toMatchObject({ key: "Control", modifiers: [] });
      // The button's real release later does not reach the app a second time.
      await page.mouse.up();
      await page.keyboard.up("Control");
      await page.waitForTimeout(200);
      expect((await recorded(server)).filter((e) => e.type === "pointer_up")).toHaveLength(1);
    });

    test("the tab is hidden mid-drag: the button is released", async ({ page, server, context }) => {
      await openViewer(page, server, { worker });
      const at = (await pagePoint(page, "contain", FRAME, [100, 100]))!;
      await page.mouse.move(at[0], at[1]);
      await page.mouse.down();
      await page.mouse.move(at[0] + 50, at[1] + 20, { steps: 3 });
      await waitForEvent(server, "pointer_down");
      // Another tab in front hides this one.
      const other = await context.newPage();
      await other.goto("about:blank");
      await other.bringToFront();
      const hidden = await page.evaluate(() => document.visibilityState);
      if (hidden !== "hidden") {
        // This headless build keeps background tabs visible: report the change the way a
        // browser does when the tab goes to the background.
        await page.evaluate(() => {
          Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
          Object.defineProperty(document, "hidden", { value: true, configurable: true });
          document.dispatchEvent(new Event("visibilitychange"));
        });
      }
      const events = await waitUntilReleased(server, "button released");
      expect(events.filter((e) => e.type === "pointer_up")).toHaveLength(1);
      expect(events.find((e) => e.type === "pointer_up")).toMatchObject({ button: 1, buttons: [] });
      await other.close();
    });

    test("lost pointer capture mid-drag releases the button", async ({ page, server }) => {
      await openViewer(page, server, { worker });
      const at = (await pagePoint(page, "contain", FRAME, [300, 300]))!;
      await page.evaluate(() => {
        const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
        canvas.addEventListener("pointerdown", (e) => ((window as any).__pointerId = e.pointerId), { once: true });
      });
      await page.mouse.move(at[0], at[1]);
      await page.mouse.down({ button: "right" });
      await page.mouse.move(at[0] + 10, at[1] + 5);
      await waitForEvent(server, "pointer_down");
      const lost = await page.evaluate(() => {
        const canvas = (window as any).rfbView.canvas as HTMLCanvasElement;
        const id = (window as any).__pointerId;
        const captured = canvas.hasPointerCapture(id);
        (window as any).__lost = false;
        canvas.addEventListener("lostpointercapture", () => ((window as any).__lost = true), { once: true });
        // What a page's own drag handling does when it takes the pointer (or the canvas
        // leaves the DOM): the capture ends, and the browser says so at the next move.
        canvas.releasePointerCapture(id);
        return captured;
      });
      expect(lost, "captured during the drag").toBe(true);
      await page.mouse.move(at[0] + 30, at[1] + 10, { steps: 2 });
      await expect.poll(() => page.evaluate(() => (window as any).__lost), { message: "lostpointercapture" }).toBe(true);
      const events = await waitUntilReleased(server, "right button released");
      expect(events.find((e) => e.type === "pointer_up")).toMatchObject({ button: 2, buttons: [] });
      await page.mouse.up({ button: "right" });
      await page.waitForTimeout(200);
      expect((await recorded(server)).filter((e) => e.type === "pointer_up")).toHaveLength(1);
    });
  });
}
