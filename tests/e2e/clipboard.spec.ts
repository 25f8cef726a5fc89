// Clipboard (text), both directions, and roles: a paste into the focused view reaches the
// app as a `paste` event; the app's `set_clipboard` (`rfb serve --clipboard-echo` offers
// every paste back) reaches the page as `onClipboard` and the system clipboard (Chromium
// lets the focused page write); a `view`-role viewer (`--anonymous-role view`) sends no
// paste and no input. In-thread and in worker mode.
import type { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { openViewer } from "./viewer";
import { RECORD, pagePoint, resetRecorded, waitForEvent } from "./events";

/** Dispatches a paste of `text` on the view's canvas, as the browser does for Ctrl+V. */
async function paste(page: Page, text: string) {
  return page.evaluate((text) => {
    const data = new DataTransfer();
    data.setData("text/plain", text);
    const event = new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
    (window as any).rfbView.canvas.dispatchEvent(event);
    return event.defaultPrevented;
  }, text);
}

test.use({
  serverSpec: { extra: [...RECORD, "--clipboard-echo"] },
  permissions: ["clipboard-read", "clipboard-write"],
});

for (const worker of ["0", "1"]) {
  test(`worker=${worker}: a paste reaches the app; the app's clipboard text reaches the page and the system clipboard`, async ({ page, server }) => {
    await openViewer(page, server, { worker });
    await expect.poll(() => page.evaluate(() => (window as any).rfbView.stats().role)).toBe("control");
    const at = (await pagePoint(page, "contain", [640, 480], [320, 240]))!;
    await page.mouse.click(at[0], at[1]); // focus the view
    await resetRecorded(server);
    const text = "héllo from the page ✓";
    expect(await paste(page, text), "the page does not paste it elsewhere").toBe(true);
    const pasted = await waitForEvent(server, "paste");
    expect(pasted.text ?? (pasted as any).text).toBe(text);
    // The echo comes back as the app's clipboard offer.
    await page.waitForFunction((t) => (window as any).rfbEvents.some((e: any) => e.type === "clipboard" && e.text === t), text);
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(text);
  });
}

test.describe("a watcher", () => {
  // No token, anonymous viewers only watch: the side channel's /recorded-events is not
  // for them, so what reached the server is read from /metrics' `input_refused` (the
  // input a watcher sent and the server dropped).
  test.use({ serverSpec: { extra: ["--clipboard-echo", "--anonymous-role", "view"] } });

  for (const worker of ["0", "1"]) {
    test(`worker=${worker}: a view-role viewer sends no paste and no input`, async ({ page, server }) => {
      await openViewer(page, server, { worker });
      await expect.poll(() => page.evaluate(() => (window as any).rfbView.stats().role)).toBe("view");
      // The server counts the Hello's viewport of a watcher as refused already: only what
      // the interaction below adds matters.
      const refused = async () => (await (await fetch(`${server.url}metrics`)).json())[0].input_refused as number;
      const before = await refused();
      const at = (await pagePoint(page, "contain", [640, 480], [320, 240]))!;
      await page.mouse.click(at[0], at[1]);
      await page.mouse.move(at[0] + 40, at[1] + 10, { steps: 4 });
      await page.keyboard.press("a");
      expect(await paste(page, "not for the app"), "left to the page").toBe(false);
      await page.waitForTimeout(500);
      expect(await refused(), "input the server had to drop").toBe(before);
    });
  }
});
