// Dead links the socket never reports: a socket stuck connecting (a TCP listener that never
// answers the upgrade), a connection that goes silent after `Config` (half-open, as after a
// laptop sleeps), and a server that closes right after `Config` every time. The viewer
// gives the first two up and reconnects; a still stream is not mistaken for a dead one
// (the server's heartbeats keep it alive); the third is retried ever more slowly instead of
// every 250 ms.
import type { Page } from "@playwright/test";
import net from "node:net";
import { test, expect } from "./fixtures";
import { staticPages } from "./package";

/** A TCP listener that accepts connections and never says anything. */
async function blackHole(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    accepted: () => sockets.length,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A view on the blank page (`createView`), its states and errors in `window.rfbEvents`. */
async function view(page: Page, serverUrl: string, options: Record<string, unknown>) {
  await page.goto(`${serverUrl}element.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  await page.evaluate(async (options) => {
    const w = window as any;
    w.rfbEvents = [];
    const div = document.createElement("div");
    div.style.cssText = "width: 320px; height: 240px";
    document.body.append(div);
    w.apiView = await w.rfbViewer.createView(div, {
      ...options,
      onState: (state: string) => w.rfbEvents.push({ type: "state", state, at: performance.now() }),
      onError: (e: any) =>
        w.rfbEvents.push({ type: "error", message: e.message, retryInMs: e.retryInMs, at: performance.now() }),
    });
  }, options);
}

const events = (page: Page) => page.evaluate(() => (window as any).rfbEvents as any[]);

test.use({ serverSpec: { extra: [...staticPages, "--heartbeat", "0.5"] } });

for (const worker of [false, true]) {
  test(`worker=${worker}: a socket stuck connecting is given up after connectTimeoutMs and retried`, async ({ page, server }) => {
    const hole = await blackHole();
    try {
      await view(page, server.url, { url: `ws://127.0.0.1:${hole.port}/`, worker, connectTimeoutMs: 800 });
      await expect.poll(() => hole.accepted(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      const seen = await events(page);
      const errors = seen.filter((e) => e.type === "error");
      expect(errors[0].message).toMatch(/did not open within 800 ms \(no answer from the server\)/);
      expect(errors[0].retryInMs).toBeGreaterThan(0);
      expect(seen.filter((e) => e.type === "state").map((e) => e.state).slice(0, 2)).toEqual(["connecting", "reconnecting"]);
    } finally {
      await hole.close();
    }
  });
}

test("a connection that goes silent after Config is given up and the view comes back", async ({ page, server, browserLog }) => {
  // The first connection delivers until the view is negotiated and showing frames, then
  // nothing more reaches the page (no close either): a half-open link.
  let connections = 0;
  let silenced = false;
  await page.routeWebSocket(/.*/, (ws) => {
    const n = ++connections;
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => {
      if (n === 1 && silenced) return;
      ws.send(m);
    });
    ws.onMessage((m) => upstream.send(m));
  });
  // In-thread: Playwright routes the page's WebSockets, not a worker's (the session code
  // is the same in both modes).
  await view(page, server.url, { worker: false });
  await page.waitForFunction(() => (window as any).apiView.stats().framesDisplayed >= 3);
  silenced = true;
  const cut = await page.evaluate(() => performance.now());
  await page.waitForFunction(() => (window as any).rfbEvents.some((e: any) => e.state === "reconnecting"), null, { timeout: 10_000 });
  await page.waitForFunction(() => (window as any).apiView.state === "negotiated");
  const seen = await events(page);
  const error = seen.find((e) => e.type === "error")!;
  expect(error.message).toMatch(/went silent: nothing for \d+ ms although the server sends something every 500 ms/);
  // Three heartbeat intervals (1.5 s) raised to the 2 s floor, checked every 250 ms.
  expect(error.at - cut).toBeGreaterThan(1900);
  expect(error.at - cut).toBeLessThan(3500);
  expect(connections).toBe(2);
  expect(browserLog.some((l) => /^\[warning\] rfb-viewer: .*went silent/.test(l))).toBe(true);
});

test.describe("a still stream", () => {
  // One frame every 5 s: between frames only the server's heartbeats arrive.
  test.use({ serverSpec: { fps: 0.2, extra: [...staticPages, "--heartbeat", "0.5"] } });

  test("is not mistaken for a dead link", async ({ page, server }) => {
    await view(page, server.url, {});
    await page.waitForFunction(() => (window as any).apiView.state === "negotiated");
    await page.waitForTimeout(4500);
    expect((await events(page)).map((e) => e.state ?? e.type)).toEqual(["connecting", "open", "negotiated"]);
  });
});

test("a server that closes right after Config is retried ever more slowly", async ({ page, server }) => {
  // Every connection gets its Config, then the far end goes away.
  const opened: number[] = [];
  await page.routeWebSocket(/.*/, (ws) => {
    opened.push(Date.now());
    const upstream = ws.connectToServer();
    let forwarded = 0;
    upstream.onMessage((m) => {
      if (forwarded++ > 0) return;
      ws.send(m); // the Config
      setTimeout(() => ws.close({ code: 1011, reason: "crashed" }), 20);
    });
    ws.onMessage((m) => upstream.send(m));
  });
  await view(page, server.url, { worker: false });
  await page.waitForTimeout(4000);
  // 250, 500, 1000, 2000 ms (±25 %) between attempts: at most 5 connections in 4 s, where
  // resetting the backoff at every Config would have made about 15.
  expect(opened.length).toBeGreaterThanOrEqual(3);
  expect(opened.length).toBeLessThanOrEqual(5);
  const delays = (await events(page)).filter((e) => e.type === "error" && e.retryInMs !== undefined).map((e) => e.retryInMs);
  for (let i = 1; i < delays.length; i++) {
    expect(delays[i], `retry delays grow: ${delays.map(Math.round)}`).toBeGreaterThan(delays[i - 1]);
  }
});
