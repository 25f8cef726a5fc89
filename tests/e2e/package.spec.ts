// The npm package (client-wasm/pkg, built by `npm run build:viewer`) used the way a site
// uses it, not through the demo page:
// - a plain static page (tests/apps/static/index.html, `rfb serve --web-dir`) importing
//   `/pkg/index.js` and `/pkg/element.js` with `<script type="module">`: an `<rfb-view>` and
//   a `createView()` view show the test card, in worker mode and on the main thread;
// - the same under a strict CSP (no inline script or style, `'wasm-unsafe-eval'`,
//   `worker-src 'self'`) with the site's own worker script (`worker-url`);
// - a Vite app (tests/apps/vite) importing `rfb-viewer` and `rfb-viewer/element` from the
//   packed tarball, built with `vite build` and served as static files: Vite must have
//   bundled worker.js and the wasm, and the worker mode must work from the bundle.
import { test, expect } from "./fixtures";
import { expectQuadrants, quadrantCentres } from "./viewer";
import { distinctCaptures, staticPages, viewKind, waitShowing } from "./package";

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

      // Both are 480x360: the 640x480 frame at 0.75, no bars.
      for (const target of ["#element", "window.apiView"]) {
        const frames = await distinctCaptures(page, target, 6, (w, h) => quadrantCentres(w, h));
        for (const f of frames) expect([f.width, f.height, f.stats.frameWidth], target).toEqual([480, 360, 640]);
        expectQuadrants(frames);
      }
      // Two sessions on the server: the element's and createView()'s.
      expect(await (await fetch(`${server.url}metrics`)).json()).toHaveLength(2);
    });
  }
});
