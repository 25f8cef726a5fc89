// Accessibility and embedding: the canvas has a role (`application` when it takes input,
// `img` when view-only) and an accessible name, in both modes, and a page's own are kept;
// `<rfb-view>` delegates focus, so `el.focus()` focuses the canvas and keys reach the app;
// `element.js` imports in Node (server-side rendering) without throwing; properties set on
// an `<rfb-view>` before the module loaded apply when it upgrades.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { test, expect, ROOT } from "./fixtures";
import { RECORD, resetRecorded, waitForEvent } from "./events";
import { staticPages, waitShowing } from "./package";

test.use({ serverSpec: { extra: [...staticPages, ...RECORD] } });

async function addElement(page: import("@playwright/test").Page, url: string, attributes: Record<string, string>) {
  await page.goto(`${url}element.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  await page.evaluate((attributes) => {
    const el = document.createElement("rfb-view");
    el.id = "view";
    el.style.cssText = "width: 480px; height: 360px";
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
    document.body.append(el);
  }, attributes);
  await waitShowing(page, "#view");
}

const canvasAria = (page: import("@playwright/test").Page) =>
  page.evaluate(() => {
    const c = document.querySelector("rfb-view")!.shadowRoot!.querySelector("canvas")!;
    return { role: c.getAttribute("role"), label: c.getAttribute("aria-label") };
  });

for (const mode of ["worker", "no-worker"]) {
  test(`${mode}: the canvas is an application with a name; el.focus() focuses it and keys reach the app`, async ({ page, server }) => {
    await addElement(page, server.url, mode === "no-worker" ? { "no-worker": "" } : {});
    expect(await canvasAria(page)).toEqual({ role: "application", label: "Remote display" });
    await expect(page.getByRole("application", { name: "Remote display" })).toHaveCount(1);
    await resetRecorded(server);
    await page.evaluate(() => (document.querySelector("rfb-view") as HTMLElement).focus());
    expect(await page.evaluate(() => document.querySelector("rfb-view")!.shadowRoot!.activeElement?.tagName)).toBe("CANVAS");
    await page.keyboard.press("k");
    await waitForEvent(server, "key_down", (e) => e.key === "k");
  });

  test(`${mode}: a view-only canvas is an img`, async ({ page, server }) => {
    await addElement(page, server.url, { "no-input": "", ...(mode === "no-worker" ? { "no-worker": "" } : {}) });
    expect(await canvasAria(page)).toEqual({ role: "img", label: "Remote display" });
  });
}

test("a page's own role and label are kept, and what the view added is removed on dispose", async ({ page, server }) => {
  await page.goto(`${server.url}element.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  const attrs = await page.evaluate(async () => {
    const w = window as any;
    const mine = document.createElement("canvas");
    mine.setAttribute("aria-label", "Robot arm camera");
    const plain = document.createElement("canvas");
    document.body.append(mine, plain);
    const a = await w.rfbViewer.createView(mine, { worker: false });
    const b = await w.rfbViewer.createView(plain, { worker: false, input: false });
    const read = (c: HTMLCanvasElement) => [c.getAttribute("role"), c.getAttribute("aria-label")];
    const during = [read(mine), read(plain)];
    a.dispose();
    b.dispose();
    return { during, after: [read(mine), read(plain)] };
  });
  expect(attrs.during).toEqual([["application", "Robot arm camera"], ["img", "Remote display"]]);
  expect(attrs.after).toEqual([[null, "Robot arm camera"], [null, null]]);
});

test("element.js and index.js import in Node without a DOM (server-side rendering)", () => {
  const pkg = path.join(ROOT, "client-wasm/pkg");
  const out = execFileSync(process.execPath, [
    "--input-type=module",
    "-e",
    `const el = await import(${JSON.stringify(path.join(pkg, "element.js"))});
     const api = await import(${JSON.stringify(path.join(pkg, "index.js"))});
     console.log(JSON.stringify({ element: Object.keys(el).sort(), api: typeof api.createView,
       defined: el.defineRfbView() === el.RfbViewElement }));`,
  ]).toString();
  expect(JSON.parse(out)).toEqual({ element: ["RfbViewElement", "defineRfbView"], api: "function", defined: true });
});

test("properties set before the element is defined apply when it upgrades", async ({ page, server }) => {
  await page.goto(`${server.url}late.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  await waitShowing(page, "#view");
  const state = await page.evaluate(() => {
    const el = document.getElementById("view") as any;
    return {
      seen: (window as any).seen,
      fit: el.fit,
      background: el.getAttribute("background"),
      controls: el.hasAttribute("controls"),
      chrome: !el.shadowRoot.querySelector(".chrome").hidden,
    };
  });
  expect(state).toMatchObject({ fit: "cover", background: "#00ff00", controls: true, chrome: true });
  expect(state.seen).toContain("negotiated");
});
