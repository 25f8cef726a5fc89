// The npm package (client-wasm/pkg, built by `npm run build:viewer`) used the way a site
// uses it, not through the demo page:
// - a plain static page (tests/apps/static/index.html, `rfb serve --web-dir`) importing
//   `/pkg/index.js` and `/pkg/element.js` with `<script type="module">`: an `<rfb-view>` and
//   a `createView()` view show the test card, in worker mode and on the main thread;
// - where the browser refuses the package's worker (as for a package from another
//   origin), the default falls back to the main thread with a warning, an explicit
//   `worker: true` fails;
// - a page under a strict CSP (no inline script or style, `'wasm-unsafe-eval'`,
//   `worker-src 'self'`) with the site's own worker script (`worker-url`);
// - a Vite app (tests/apps/vite) importing `rfb-viewer` and `rfb-viewer/element` from the
//   packed tarball, built with `vite build` and served as static files: Vite must have
//   bundled worker.js and the wasm, and the worker mode must work from the bundle;
// - a React 19 app (tests/apps/react, no JSX plugin) rendering `<rfb-view>`: React's props
//   become its attributes, a re-render changes its fit, and `onrfb-state` props get its
//   events.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test, expect, ROOT } from "./fixtures";
import { expectColor, expectQuadrants, fitRect, hex, quadrantCentres } from "./viewer";
import { captureSnapshot, distinctCaptures, staticPages, viewKind, waitShowing } from "./package";

/** Builds `tests/apps/<name>` with Vite into `<work>/out`, the package installed in its
 * `node_modules` from the packed tarball (what `npm install rfb-viewer` would unpack) and
 * `linked` root packages (e.g. react) symlinked there. */
async function buildApp(name: string, work: string, linked: string[] = []) {
  fs.rmSync(work, { recursive: true, force: true });
  const app = path.join(work, "app");
  const installed = path.join(app, "node_modules/rfb-viewer");
  fs.mkdirSync(installed, { recursive: true });
  const [packed] = JSON.parse(
    execFileSync("npm", ["pack", path.join(ROOT, "client-wasm/pkg"), "--pack-destination", work, "--json", "--ignore-scripts"], {
      encoding: "utf8",
    }),
  );
  execFileSync("tar", ["-xzf", path.join(work, packed.filename), "-C", installed, "--strip-components=1"]);
  for (const dep of linked) fs.symlinkSync(path.join(ROOT, "node_modules", dep), path.join(app, "node_modules", dep));
  fs.cpSync(path.join(ROOT, "tests/apps", name), app, { recursive: true });
  const { build } = await import("vite");
  await build({ root: app, configFile: false, logLevel: "warn", build: { outDir: path.join(work, "out"), emptyOutDir: true } });
}

test.describe("a static page importing /pkg/index.js", () => {
  test.use({ serverSpec: { extra: staticPages }, viewport: { width: 1000, height: 400 } });

  for (const mode of ["worker", "in-thread"] as const) {
    test(`<rfb-view> and createView() show the test card (${mode})`, async ({ page, server }) => {
      await page.goto(`${server.url}${mode === "in-thread" ? "?worker=0" : ""}`);
      await waitShowing(page, "#element");
      await waitShowing(page, "window.apiView");
      expect(await viewKind(page, "#element")).toBe(mode);
      expect(await viewKind(page, "window.apiView")).toBe(mode);
      const workers = page.workers().map((w) => new URL(w.url()).pathname);
      expect(workers, "one package worker per view").toEqual(mode === "worker" ? ["/pkg/worker.js", "/pkg/worker.js"] : []);

      // Both are 480x360 elements showing the 640x480 frame at 0.75; under the default CSS
      // scaling the backing store is the frame itself.
      for (const target of ["#element", "window.apiView"]) {
        const frames = await distinctCaptures(page, target, 6, (w, h) => quadrantCentres(w, h));
        for (const f of frames) expect([f.width, f.height, f.stats.frameWidth], target).toEqual([640, 480, 640]);
        expectQuadrants(frames);
      }
      // Two sessions on the server: the element's and createView()'s.
      expect(await (await fetch(`${server.url}metrics`)).json()).toHaveLength(2);
    });
  }
});

test.describe("a browser that refuses the package's worker", () => {
  test.use({ serverSpec: { extra: staticPages }, viewport: { width: 1000, height: 400 } });

  test("the default falls back to the main thread with a warning; an explicit worker fails", async ({ page, server, browserLog }) => {
    // What a page gets when the package comes from another origin: no worker from there.
    await page.addInitScript(() => {
      (window as any).Worker = class {
        constructor() {
          throw new DOMException("Failed to construct 'Worker': refused by the test", "SecurityError");
        }
      };
    });
    await page.goto(server.url);
    await waitShowing(page, "#element");
    await waitShowing(page, "window.apiView");
    expect(await viewKind(page, "#element")).toBe("in-thread");
    expect(await viewKind(page, "window.apiView")).toBe("in-thread");
    expectQuadrants(await distinctCaptures(page, "#element", 4, (w, h) => quadrantCentres(w, h)));
    const warnings = browserLog.filter((l) => l.startsWith("[warning] rfb-viewer: cannot start the package's worker"));
    expect(warnings).toHaveLength(2);
    const explicit = await page.evaluate(async () => {
      const div = document.createElement("div");
      document.body.append(div);
      try {
        await (window as any).rfbViewer.createView(div, { worker: true });
        return "created";
      } catch (error: any) {
        return `${error.name}: ${error.message}`;
      }
    });
    expect(explicit).toMatch(/^SecurityError: .*refused by the test/);
  });
});

test.describe("a static page under a strict CSP, with its own worker script", () => {
  test.use({ serverSpec: { extra: staticPages }, viewport: { width: 1000, height: 400 } });

  test("worker-url and createView({ worker: url }) run the site's worker; nothing is refused", async ({ page, server }) => {
    const refused: string[] = [];
    page.on("console", (m) => /Content Security Policy/i.test(m.text()) && refused.push(m.text()));
    await page.goto(`${server.url}csp.html`);
    await waitShowing(page, "#element");
    await waitShowing(page, "window.apiView");
    expect(await viewKind(page, "#element")).toBe("worker");
    expect(await viewKind(page, "window.apiView")).toBe("worker");
    expect(page.workers().map((w) => new URL(w.url()).pathname)).toEqual(["/rfb-worker.js", "/rfb-worker.js"]);
    for (const target of ["#element", "window.apiView"]) {
      const frames = await distinctCaptures(page, target, 4, (w, h) => quadrantCentres(w, h));
      expectQuadrants(frames);
    }
    // The element's styles (a constructed stylesheet, not an inline <style>) apply: the
    // chrome's toolbar is laid out as a row, the status pill has its background.
    const status = page.locator("#element").locator(".status");
    await expect(status).toHaveText("negotiated");
    expect(await status.evaluate((e) => getComputedStyle(e).backgroundColor)).not.toBe("rgba(0, 0, 0, 0)");
    expect(await page.locator("#element").locator(".toolbar").evaluate((e) => getComputedStyle(e).display)).toBe("flex");
    expect(refused).toEqual([]);
  });
});

test.describe("a Vite app importing rfb-viewer and rfb-viewer/element", () => {
  // The app is built once per Playwright worker from the packed tarball (what `npm
  // install rfb-viewer` would unpack), so the package's `files` and `exports` are what
  // resolve, then served as plain static files.
  const work = path.join(os.tmpdir(), `rfb-vite-app-${process.pid}`);
  const out = path.join(work, "out");
  test.use({ serverSpec: { extra: ["--web-dir", out] }, viewport: { width: 1000, height: 400 } });

  test.beforeAll(async () => buildApp("vite", work));

  test.afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test("the bundle holds the worker and the wasm", async () => {
    const assets = fs.readdirSync(path.join(out, "assets"));
    expect(assets.filter((f) => /^worker-.*\.js$/.test(f)), "a worker chunk").toHaveLength(1);
    expect(assets.filter((f) => f.endsWith(".wasm")), "one wasm, shared by page and worker").toHaveLength(1);
    const wasm = assets.find((f) => f.endsWith(".wasm"))!;
    const worker = fs.readFileSync(path.join(out, "assets", assets.find((f) => f.startsWith("worker-"))!), "utf8");
    expect(worker, "the worker loads the bundled wasm").toContain(wasm);
  });

  for (const mode of ["worker", "in-thread"] as const) {
    test(`<rfb-view> and createView() from the bundle show the test card (${mode})`, async ({ page, server }) => {
      const requests: string[] = [];
      page.on("request", (r) => requests.push(new URL(r.url()).pathname));
      await page.goto(`${server.url}${mode === "in-thread" ? "?worker=0" : ""}`);
      await waitShowing(page, "#element");
      await waitShowing(page, "window.apiView");
      expect(await viewKind(page, "#element")).toBe(mode);
      expect(await viewKind(page, "window.apiView")).toBe(mode);
      const workers = page.workers().map((w) => new URL(w.url()).pathname);
      if (mode === "worker") {
        expect(workers).toHaveLength(2);
        for (const w of workers) expect(w).toMatch(/^\/assets\/worker-.*\.js$/);
      } else {
        expect(workers).toEqual([]);
      }
      for (const target of ["#element", "window.apiView"]) {
        const frames = await distinctCaptures(page, target, 6, (w, h) => quadrantCentres(w, h));
        for (const f of frames) expect([f.width, f.height, f.stats.frameWidth], target).toEqual([640, 480, 640]);
        expectQuadrants(frames);
      }
      // Everything came from the bundle, nothing from the server's own /pkg/.
      expect(requests.filter((p) => p.startsWith("/pkg/"))).toEqual([]);
      expect(requests.some((p) => /^\/assets\/.*\.wasm$/.test(p))).toBe(true);
    });
  }
});

test.describe("a React app rendering <rfb-view>", () => {
  const work = path.join(os.tmpdir(), `rfb-react-app-${process.pid}`);
  test.use({ serverSpec: { extra: ["--web-dir", path.join(work, "out")] }, viewport: { width: 1000, height: 500 } });

  test.beforeAll(async () => buildApp("react", work, ["react", "react-dom"]));
  test.afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test("props become attributes, a re-render changes the fit, onrfb-state gets events", async ({ page, server }) => {
    await page.goto(server.url);
    await waitShowing(page, "#view", 3);
    expect(await viewKind(page, "#view")).toBe("worker");
    expect(await page.evaluate(() => (window as any).reactStates)).toContain("negotiated");
    await expect.poll(() => page.evaluate(() => (window as any).reactStats), { timeout: 5_000 }).toBeGreaterThan(0);
    const frames = await distinctCaptures(page, "#view", 5, (w, h) => {
      const r = fitRect("contain", 640, 480, w, h);
      return quadrantCentres(640, 480).map(([x, y]) => [r.x + (x * r.w) / 640, r.y + (y * r.h) / 480]);
    });
    expectQuadrants(frames);
    // contain on 900x400: magenta bars left and right; React's re-render with fit="cover"
    // reaches the element's attribute and fills them with picture.
    const { width, height } = frames[0];
    const bar: [number, number] = [fitRect("contain", 640, 480, width, height).x / 2, height / 4];
    expectColor((await captureSnapshot(page, "#view", [bar])).pixels[0], hex("#ff00ff"), "letterbox under contain");
    await page.evaluate(() => (window as any).setFit("cover"));
    await expect.poll(() => page.locator("#view").getAttribute("fit")).toBe("cover");
    await expect
      .poll(async () => (await captureSnapshot(page, "#view", [bar])).pixels[0].join(","))
      .not.toBe(hex("#ff00ff").join(","));
    const after = await captureSnapshot(page, "#view", [bar]);
    expectColor(after.pixels[0], after.expected[0], "the bar is quadrant 0 under cover");
  });
});
