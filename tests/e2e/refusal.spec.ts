// Refusals the viewer can read, and errors a user can see:
// - a page from an origin the server does not allow (the package README's static-page
//   recipe: the page on one port, `rfb serve` on another) learns why (close 4403, the
//   reason naming `rfb serve --origin <origin>`), shows it and does not retry; with
//   `--origin` the same page works;
// - a server at its session limit (1013) is retried, and the message says so;
// - `<rfb-view>` shows what ended the connection in a `role="alert"` with a Retry button
//   (4401, a refused origin, a view that could not be built, a wasm that did not load), and
//   `state` is `error` after a failed build; the demo page shows a failed start instead of
//   "loading…"; the fullscreen button is hidden where the browser has no fullscreen API.
import type { Page } from "@playwright/test";
import { startServer, test, expect, type RfbServer } from "./fixtures";
import { staticPages, waitShowing } from "./package";

const VIEWER_ERRORS = [
  /^rfb-viewer: server closed the connection: (4403 OriginRefused|4401 Unauthorized): /,
  /^rfb-view: /,
  /^rfb demo: the viewer could not start/,
  /Failed to load resource: the server responded with a status of 404/,
];

test.use({ allowedConsoleErrors: { patterns: VIEWER_ERRORS } });

/** Opens `pages`'s blank element page and adds `<rfb-view>` with `attributes`; counts the
 * page's WebSockets. */
async function elementPage(page: Page, pages: RfbServer, attributes: Record<string, string>) {
  const sockets: string[] = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto(`${pages.url}element.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  await page.evaluate((attributes) => {
    const el = document.createElement("rfb-view");
    el.id = "view";
    el.style.cssText = "width: 480px; height: 360px";
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
    document.body.append(el);
  }, attributes);
  return sockets;
}

/** The element's alert: whether it is shown, its text and role. */
async function alertOf(page: Page) {
  return page.evaluate(() => {
    const alert = document.querySelector("rfb-view")!.shadowRoot!.querySelector('[part="alert"]') as HTMLElement;
    return { shown: !alert.hidden && alert.offsetHeight > 0, role: alert.getAttribute("role"), text: alert.textContent!.trim() };
  });
}

test.describe("a page whose origin the server does not allow", () => {
  test.use({ serverSpec: { extra: staticPages } });

  for (const worker of ["no-worker", "worker"]) {
    test(`${worker}: told why (4403 naming --origin), shown, not retried; --origin fixes it`, async ({ page, server }) => {
      // `server` serves the page; the stream comes from another server (another port).
      const stream = await startServer();
      const allowing = await startServer({ extra: ["--origin", `http://127.0.0.1:${server.port}`] });
      try {
        const attrs: Record<string, string> = { src: `ws://127.0.0.1:${stream.port}/` };
        if (worker === "no-worker") attrs["no-worker"] = "";
        const sockets = await elementPage(page, server, attrs);
        await page.waitForFunction(() => (document.querySelector("rfb-view") as any).state === "closed");
        await page.waitForTimeout(1500); // several backoff delays: no retry happens
        expect(sockets).toHaveLength(1);
        const alert = await alertOf(page);
        expect(alert).toMatchObject({ shown: true, role: "alert" });
        expect(alert.text).toContain("4403");
        expect(alert.text).toContain(`rfb serve --origin http://127.0.0.1:${server.port}`);
        expect(alert.text).toContain("Retry");
        // The same page, a server started with --origin: streams at once.
        await page.evaluate((port) => document.querySelector("rfb-view")!.setAttribute("src", `ws://127.0.0.1:${port}/`), allowing.port);
        await waitShowing(page, "#view");
        expect((await alertOf(page)).shown).toBe(false);
      } finally {
        await stream.stop();
        await allowing.stop();
      }
    });
  }
});

test.describe("a server at its session limit", () => {
  test.use({ serverSpec: { extra: [...staticPages, "--max-sessions", "1"] } });

  test("the second viewer is told so and retries until there is room", async ({ page, server, context }) => {
    await elementPage(page, server, {});
    await waitShowing(page, "#view");
    const second = await context.newPage();
    const errors: string[] = [];
    second.on("console", (m) => m.type() === "warning" && errors.push(m.text()));
    await elementPage(second, server, {});
    await expect.poll(() => errors.find((e) => /1013/.test(e)) ?? "").toMatch(
      /server closed the connection: 1013 TryAgainLater: the server is at its limit of 1 viewers; try again later; reconnecting in \d+ ms/,
    );
    expect(await second.evaluate(() => (document.querySelector("rfb-view") as any).state)).toBe("reconnecting");
    await page.close(); // a place frees up
    await waitShowing(second, "#view");
    await second.close();
  });
});

test.describe("errors shown by <rfb-view>", () => {
  test.use({ serverSpec: { extra: [...staticPages, "--token", "secret"] } });

  test("a refused token: alert with the reason, Retry tries again", async ({ page, server }) => {
    const sockets = await elementPage(page, server, { token: "wrong" });
    await page.waitForFunction(() => (document.querySelector("rfb-view") as any).state === "closed");
    const alert = await alertOf(page);
    expect(alert).toMatchObject({ shown: true, role: "alert" });
    expect(alert.text).toMatch(/4401 Unauthorized/);
    expect(await page.evaluate(() => (document.querySelector("rfb-view") as any).error)).toMatch(/4401/);
    await page.locator("rfb-view").getByRole("button", { name: "Retry" }).click();
    await expect.poll(() => sockets.length).toBe(2);
    await page.waitForFunction(() => (document.querySelector("rfb-view") as any).state === "closed");
    expect((await alertOf(page)).shown).toBe(true);
  });

  test("a view that cannot be built: state error, alert, Retry rebuilds", async ({ page, server }) => {
    await elementPage(page, server, { token: "secret", "max-inflight": "999" });
    await page.waitForFunction(() => (document.querySelector("rfb-view") as any).state === "error");
    const alert = await alertOf(page);
    expect(alert.shown).toBe(true);
    expect(alert.text).toMatch(/The viewer could not start: .*maxInflight/);
    await page.evaluate(() => document.querySelector("rfb-view")!.removeAttribute("max-inflight"));
    await waitShowing(page, "#view");
    expect((await alertOf(page)).shown).toBe(false);
  });

  test("the wasm does not load: the element and the demo page say so", async ({ page, server }) => {
    await page.route("**/rfb_viewer_bg.wasm", (route) => route.fulfill({ status: 404, body: "gone" }));
    await elementPage(page, server, { token: "secret" });
    await page.waitForFunction(() => (document.querySelector("rfb-view") as any).state === "error");
    expect((await alertOf(page)).text).toMatch(/The viewer could not start: .*WebAssembly|wasm|404/i);

    const demo = await startServer(); // serves the demo page
    try {
      await page.goto(demo.url);
      await page.waitForFunction(() => document.body.dataset.state === "error");
      const overlay = page.locator("#overlay");
      await expect(overlay).toHaveAttribute("role", "alert");
      await expect(overlay).toContainText("the viewer could not start");
    } finally {
      await demo.stop();
    }
  });
});

test.describe("no fullscreen API", () => {
  test.use({ serverSpec: { extra: staticPages } });

  test("the fullscreen button is hidden and nothing throws", async ({ page, server }) => {
    await page.addInitScript(() => {
      // What iOS Safari on a phone looks like.
      delete (Element.prototype as any).requestFullscreen;
      Object.defineProperty(Document.prototype, "fullscreenEnabled", { get: () => false });
    });
    await elementPage(page, server, { controls: "" });
    await waitShowing(page, "#view");
    const hidden = await page.evaluate(() => {
      const button = document.querySelector("rfb-view")!.shadowRoot!.querySelector('[data-action="fullscreen"]') as HTMLElement;
      return button.hidden && button.offsetWidth === 0;
    });
    expect(hidden).toBe(true);
  });
});
