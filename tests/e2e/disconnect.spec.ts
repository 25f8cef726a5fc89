// The server going away with reconnect turned off (`reconnect=0`; reconnect.spec.ts covers
// the default): the state becomes `closed` and onError/onState (and the console) report it
// with a readable message. Also a server that is not there at all.
import { closedPort, test, expect } from "./fixtures";
import { openViewer } from "./viewer";

interface Recorded {
  type: "state" | "error";
  state?: string;
  stage?: string;
  code?: number;
  message?: string;
}

async function events(page: import("@playwright/test").Page): Promise<Recorded[]> {
  return page.evaluate(() => (window as any).rfbEvents);
}

async function waitClosed(page: import("@playwright/test").Page) {
  await page.waitForFunction(() => (window as any).rfbView?.state === "closed", null, { timeout: 15_000 });
}

test.describe("graceful shutdown (SIGINT)", () => {
  test.use({ allowedConsoleErrors: { patterns: [/^rfb-viewer: server closed the connection: 1001 GoingAway: /] } });

  test("reports the server's close and ends in `closed`", async ({ page, server, browserLog }) => {
    await openViewer(page, server, { reconnect: "0" });
    await server.stop("SIGINT");
    await waitClosed(page);
    const recorded = await events(page);
    const errors = recorded.filter((e) => e.type === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ stage: "server", code: 1001 });
    expect(errors[0].message).toMatch(/server closed the connection: 1001 .*shutting down/);
    expect(recorded.filter((e) => e.type === "state").map((e) => e.state)).toEqual([
      "connecting", "open", "negotiated", "closed",
    ]);
    expect(browserLog.some((l) => l.startsWith("[error] rfb-viewer: server closed the connection"))).toBe(true);
  });
});

test.describe("server killed (SIGKILL)", () => {
  test.use({ allowedConsoleErrors: { patterns: [/^rfb-viewer: connection to ws:\/\/127\.0\.0\.1:\d+\/ was lost \(code 1006\)$/] } });

  test("reports the lost connection and ends in `closed`", async ({ page, server }) => {
    await openViewer(page, server, { reconnect: "0" });
    await server.stop("SIGKILL");
    await waitClosed(page);
    const errors = (await events(page)).filter((e) => e.type === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ stage: "connection", code: 1006 });
    const last = (await events(page)).at(-1);
    expect(last).toMatchObject({ type: "state", state: "closed" });
  });
});

test.describe("no server", () => {
  test.use({
    allowedConsoleErrors: {
      patterns: [
        /^rfb-viewer: connection to ws:\/\/127\.0\.0\.1:\d+\/ could not be opened \(code 1006\)$/,
        // Chromium's own report of the refused connection.
        /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/' failed: .*ERR_CONNECTION_REFUSED/,
      ],
    },
  });

  test("a refused connection is reported and ends in `closed`", async ({ page, server }) => {
    // The page comes from the test's server; the stream URL points at a closed port.
    const port = await closedPort();
    await page.goto(`${server.url}?reconnect=0&url=${encodeURIComponent(`ws://127.0.0.1:${port}/`)}`);
    await waitClosed(page);
    const recorded = await events(page);
    expect(recorded.filter((e) => e.type === "error")).toEqual([
      expect.objectContaining({ stage: "connection", code: 1006 }),
    ]);
    expect(recorded.filter((e) => e.type === "state").map((e) => e.state)).toEqual(["connecting", "closed"]);
  });
});
