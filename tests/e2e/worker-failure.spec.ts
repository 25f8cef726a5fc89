// A worker that cannot run: its script is missing (404), served with a non-JavaScript MIME
// type, does not parse, never starts the viewer, or the page's CSP refuses workers. Each
// time the view must end in `error` with a message that says what happened (not stay
// `connecting` for ever), and the worker must be ended. `dispose()` terminates the worker
// even when it would not close itself.
import type { Page } from "@playwright/test";
import { test, expect, type RfbServer } from "./fixtures";
import { staticPages } from "./package";

/** What the browser itself logs for the failed loads. */
const LOAD_ERRORS = [
  /Failed to load resource: the server responded with a status of 404/,
  /^rfb-viewer: the viewer worker: /,
  /Creating a worker from .* violates the following Content Security Policy directive/,
  /Failed to load module script/,
  /Uncaught SyntaxError/,
];

test.use({ serverSpec: { extra: staticPages }, allowedConsoleErrors: { patterns: LOAD_ERRORS } });

/** Counts `Worker.prototype.terminate` calls in `window.__terminated`. */
const spyTerminate = () => {
  const w = window as any;
  w.__terminated = 0;
  const terminate = Worker.prototype.terminate;
  Worker.prototype.terminate = function (this: Worker) {
    w.__terminated++;
    return terminate.call(this);
  };
};

/** Creates a worker view on the blank page with `worker` as its script; records events. */
async function workerView(page: Page, server: RfbServer, worker: string, extra: Record<string, unknown> = {}) {
  await page.addInitScript(spyTerminate);
  await page.goto(`${server.url}element.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  await page.evaluate(
    async ({ worker, extra }) => {
      const w = window as any;
      w.rfbEvents = [];
      const div = document.createElement("div");
      div.style.cssText = "width: 320px; height: 240px";
      document.body.append(div);
      w.apiView = await w.rfbViewer.createView(div, {
        worker,
        ...extra,
        onState: (state: string) => w.rfbEvents.push({ type: "state", state }),
        onError: (error: any) => w.rfbEvents.push({ type: "error", message: error.message, stage: error.stage }),
      });
    },
    { worker, extra },
  );
}

async function expectFailed(page: Page, message: RegExp) {
  await page.waitForFunction(() => (window as any).apiView.state === "error", null, { timeout: 10_000 });
  const events = await page.evaluate(() => (window as any).rfbEvents);
  const errors = events.filter((e: any) => e.type === "error");
  expect(errors, "one error report").toHaveLength(1);
  expect(errors[0].message).toMatch(message);
  expect(events.filter((e: any) => e.type === "state").map((e: any) => e.state)).toEqual(["connecting", "error"]);
  expect(await page.evaluate(() => (window as any).__terminated), "the worker was terminated").toBe(1);
}

const NOT_LOADED = /the worker script failed to load \(not found, not served as JavaScript, refused by the page's Content-Security-Policy, or it does not parse\)/;

test("a worker script that is not there (404)", async ({ page, server }) => {
  await workerView(page, server, "/no-such-worker.js");
  await expectFailed(page, NOT_LOADED);
});

test("a worker script served as text/plain", async ({ page, server }) => {
  await workerView(page, server, "/worker-as-text.txt");
  await expectFailed(page, NOT_LOADED);
});

test("a worker script that does not parse", async ({ page, server }) => {
  await workerView(page, server, "/broken-worker.js");
  await expectFailed(page, /the worker (script failed to load|failed: .*SyntaxError)/);
});

test("a worker that never starts the viewer: workerTimeoutMs", async ({ page, server }) => {
  await workerView(page, server, "/silent-worker.js", { workerTimeoutMs: 1500 });
  await expectFailed(page, /the worker did not start within 1500 ms/);
});

test("workers refused by the page's CSP", async ({ page, server }) => {
  await page.addInitScript(spyTerminate);
  await page.goto(`${server.url}worker-csp.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  const thrown = await page.evaluate(() => (window as any).rfbEvents.find((e: any) => e.type === "thrown"));
  if (thrown) {
    // A browser may refuse at construction: then createView itself rejects, with the reason.
    expect(thrown.message).toMatch(/worker|Content Security Policy|SecurityError/i);
    return;
  }
  await expectFailed(page, NOT_LOADED);
});

test("dispose() terminates the worker, also one that never answers", async ({ page, server }) => {
  await workerView(page, server, "/pkg/worker.js");
  await page.waitForFunction(() => (window as any).apiView.state === "negotiated", null, { timeout: 15_000 });
  await page.evaluate(() => (window as any).apiView.dispose());
  // After the grace period for a clean socket close.
  await expect.poll(() => page.evaluate(() => (window as any).__terminated)).toBe(1);
  await expect.poll(async () => (await (await fetch(`${server.url}metrics`)).json()).length).toBe(0);

  // A worker stuck before `ready` is terminated at once.
  await page.evaluate(async () => {
    const w = window as any;
    const div = document.createElement("div");
    document.body.append(div);
    const view = await w.rfbViewer.createView(div, { worker: "/silent-worker.js" });
    view.dispose();
  });
  expect(await page.evaluate(() => (window as any).__terminated)).toBe(2);
});
