// `rfb serve --token T`: the viewer's `token` option (the demo page's `token=`) travels in
// Hello. The right token streams; a wrong or missing one is closed with 4401 and shows as an
// error state on the page: one report, state `closed`, the HUD in its error style, and no
// second connection attempt (no reconnect loop).
import type { Page } from "@playwright/test";
import { test, expect, type RfbServer } from "./fixtures";
import { distinctFrames, expectQuadrants, openViewer, quadrantCentres } from "./viewer";

test.use({ serverSpec: { extra: ["--token", "s3cret"] } });

async function expectRefused(page: Page, server: RfbServer, query: string) {
  const sockets: string[] = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.goto(`${server.url}${query}`);
  await page.waitForFunction(() => (window as any).rfbView?.state === "closed");
  // Long enough for any retry to show up.
  await page.waitForTimeout(3000);
  const events = await page.evaluate(() => (window as any).rfbEvents);
  const errors = events.filter((e: any) => e.type === "error");
  expect(errors).toEqual([expect.objectContaining({ stage: "server", code: 4401 })]);
  expect(errors[0].message).toMatch(/server closed the connection: 4401 Unauthorized: unauthorized/);
  expect(events.filter((e: any) => e.type === "state").map((e: any) => e.state)).toEqual(["connecting", "open", "closed"]);
  expect(sockets, "one connection attempt, no reconnect").toHaveLength(1);
  // What the user sees: the error state, not a spinner.
  await expect(page.locator("#overlay")).toHaveClass(/error/);
  await expect(page.locator("#overlay")).toContainText("not authorized");
  expect(await page.evaluate(() => document.body.dataset.state)).toBe("closed");
  expect(await page.evaluate(() => (window as any).rfbView.stats().framesDisplayed)).toBe(0);
  // The server kept no session (its side channel needs the token too).
  expect((await fetch(`${server.url}metrics`)).status).toBe(401);
  const metrics = await fetch(`${server.url}metrics`, { headers: { Authorization: "Bearer s3cret" } });
  expect(await metrics.json()).toEqual([]);
}

test.describe("refused", () => {
  test.use({ allowedConsoleErrors: { patterns: [/^rfb-viewer: server closed the connection: 4401 Unauthorized: /] } });

  test("a wrong token shows an error state and does not reconnect", async ({ page, server }) => {
    await expectRefused(page, server, "?token=wrong");
  });

  test("a missing token too", async ({ page, server }) => {
    await expectRefused(page, server, "");
  });
});

test("the right token streams", async ({ page, server }) => {
  await openViewer(page, server, { token: "s3cret", transport: "video" });
  expectQuadrants(await distinctFrames(page, 6, () => quadrantCentres(640, 480)));
  expect(await page.evaluate(() => document.body.dataset.state)).toBe("negotiated");
});
