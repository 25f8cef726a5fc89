// The relay, in the browser: an origin (`rfb serve --relay`), a nats-server of the test's
// own, two `rfb edge`s and a Chromium viewer on each. Correct quadrant colours on both
// transports; clicks on each edge reach the origin's /recorded-events at the frame pixel
// clicked; a view-only viewer cannot drive the app; killing an edge does not slow the
// other; an edge restart, a NATS restart and an origin restart each recover by
// themselves with correct pixels.
import type { Page } from "@playwright/test";
import { startServer, test as base, expect, watchConsole, type RfbServer } from "./fixtures";
import { RECORD, pagePoint, resetRecorded, waitForEvents } from "./events";
import { startEdge, startNats, type Nats } from "./nats";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres, stats } from "./viewer";

const FRAME: [number, number] = [640, 480];

/** What Chromium logs while an edge is down (the viewer itself only warns and retries). */
const REFUSED = /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/' failed: .*ERR_CONNECTION_REFUSED/;

// The `server` fixture becomes the origin: it publishes to this test's NATS.
const test = base.extend<{ nats: Nats }>({
  nats: async ({}, use) => {
    const nats = await startNats();
    await use(nats);
    await nats.stop();
  },
  serverSpec: async ({ nats }, use) => {
    await use({ extra: ["--relay", nats.url, "--relay-name", "origin", ...RECORD] });
  },
});

async function correctColours(page: Page, frames = 8) {
  expectQuadrants(await distinctFrames(page, frames, () => quadrantCentres(...FRAME)));
}

/** Clicks frame pixel `target` on `page` and waits for it at the origin. */
async function clickReachesOrigin(page: Page, origin: RfbServer, target: [number, number]) {
  await resetRecorded(origin);
  const at = (await pagePoint(page, "contain", FRAME, target))!;
  await page.mouse.click(at[0], at[1]);
  const events = await waitForEvents(origin, (es) => es.some((e) => e.type === "pointer_up"), "pointer_up at the origin");
  const down = events.find((e) => e.type === "pointer_down")!;
  expect(Math.abs(down.x! - target[0]), `x ${down.x} for frame x ${target[0]}`).toBeLessThanOrEqual(0.5);
  expect(Math.abs(down.y! - target[1]), `y ${down.y} for frame y ${target[1]}`).toBeLessThanOrEqual(0.5);
}

async function framesIn(page: Page, ms: number): Promise<number> {
  const before = (await stats(page)).framesDisplayed;
  await page.waitForTimeout(ms);
  return (await stats(page)).framesDisplayed - before;
}

test("two edges: colours on both transports, each edge's click reaches the origin", async ({ page, browser, server, nats }) => {
  const a = await startEdge(nats, "edge-a");
  const b = await startEdge(nats, "edge-b");
  const log: string[] = [];
  const other = await browser.newPage({ viewport: { width: 640, height: 480 } });
  const unexpected = watchConsole(other, log);
  try {
    await openViewer(page, a, { transport: "video", fit: "contain" });
    await openViewer(other, b, { transport: "image", fit: "contain" });
    expect((await stats(page)).transport).toBe("h264");
    expect((await stats(other)).transport).toBe("jpeg");
    await correctColours(page);
    await correctColours(other);
    await clickReachesOrigin(page, server, [100, 100]);
    await clickReachesOrigin(other, server, [500, 400]);
    expect(unexpected).toEqual([]);
  } finally {
    if (unexpected.length) console.log(log.join("\n"));
    await other.close();
    await a.stop();
    await b.stop();
  }
});

test("a view-only viewer on an edge cannot drive the app", async ({ page, server, nats }) => {
  const edge = await startEdge(nats, "edge-a", ["--token", "pilot", "--view-token", "audience"]);
  try {
    await openViewer(page, edge, { token: "audience", fit: "contain" });
    await correctColours(page, 3);
    await resetRecorded(server);
    const at = (await pagePoint(page, "contain", FRAME, [320, 240]))!;
    await page.mouse.click(at[0], at[1]);
    await page.keyboard.press("a");
    await page.waitForTimeout(1500);
    const res = await fetch(`${server.url}recorded-events`);
    expect(await res.json()).toEqual([]);
  } finally {
    await edge.stop();
  }
});

test.describe("recovery", () => {
  test.use({ allowedConsoleErrors: { patterns: [REFUSED] } });
  test.setTimeout(120_000);

  test("edge killed and restarted, then NATS, then the origin: each recovers with correct pixels", async ({ page, browser, server, nats }) => {
    const a = await startEdge(nats, "edge-a");
    let b = await startEdge(nats, "edge-b");
    const log: string[] = [];
    const other = await browser.newPage({ viewport: { width: 640, height: 480 } });
    const unexpected = watchConsole(other, log, [REFUSED]);
    let origin: RfbServer = server;
    let natsNow: Nats = nats;
    try {
      await openViewer(page, a, { transport: "video" });
      await openViewer(other, b, { transport: "video" });
      await correctColours(page);
      await correctColours(other);

      // Kill edge b: edge a's viewer keeps its frame rate (30 fps published).
      const port = b.port;
      await b.stop("SIGKILL");
      const shown = await framesIn(page, 2000);
      expect(shown, `edge-a showed ${shown} frames in 2 s while edge-b was down`).toBeGreaterThanOrEqual(30);
      await other.waitForFunction(() => (window as any).rfbView.state === "reconnecting");
      b = await startEdge(nats, "edge-b", [], port);
      await other.waitForFunction(() => (window as any).rfbView.state === "negotiated", null, { timeout: 20_000 });
      await correctColours(other);

      // Restart NATS on its port: both viewers keep (or regain) correct pixels.
      const natsPort = natsNow.port;
      await natsNow.stop();
      await page.waitForTimeout(500);
      natsNow = await startNats(natsPort);
      for (const p of [page, other]) {
        const before = (await stats(p)).framesDisplayed;
        await p.waitForFunction((n) => (window as any).rfbView.stats().framesDisplayed > n + 30, before, { timeout: 20_000 });
        await correctColours(p);
      }

      // Restart the origin on its port: the edges close their viewers (4410, retried)
      // and the reconnected viewers show the new origin's frames.
      const reconnects = (p: Page) =>
        p.evaluate(() => (window as any).rfbEvents.filter((e: any) => e.type === "state" && e.state === "reconnecting").length);
      const before = [await reconnects(page), await reconnects(other)];
      const originPort = origin.port;
      await origin.stop();
      origin = await startServer({ port: originPort, extra: ["--relay", natsNow.url, "--relay-name", "origin", ...RECORD] });
      for (const [i, p] of [page, other].entries()) {
        await p.waitForFunction(
          (n) => (window as any).rfbEvents.filter((e: any) => e.type === "state" && e.state === "reconnecting").length > n,
          before[i],
          { timeout: 20_000 },
        );
        await p.waitForFunction(() => (window as any).rfbView.state === "negotiated", null, { timeout: 20_000 });
        await correctColours(p);
      }
      await clickReachesOrigin(page, origin, [320, 240]);
      expect(unexpected).toEqual([]);
    } finally {
      if (unexpected.length) console.log(log.join("\n"));
      await other.close();
      await a.stop();
      await b.stop();
      if (origin !== server) await origin.stop();
      if (natsNow !== nats) await natsNow.stop();
    }
  });
});
