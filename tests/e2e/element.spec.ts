// `<rfb-view>` (client-wasm/js/element.js) on a blank page that only registers it
// (tests/apps/static/element.html): it shows the test card in worker mode and on the main
// thread; `fit` and `background` apply live to the same view (the letterbox bars change);
// `src`, `token` and `image-only` rebuild the view inside the same element (another stream,
// a refused then accepted credential, another transport); `rfb-state`, `rfb-stats` and
// `rfb-error` reach listeners outside any shadow root; `controls` renders its parts,
// styled by custom properties and `::part()`, and the screenshot button downloads a PNG of
// the frame; `capture()` returns the frame with its stats; removing the element disposes
// the view (the server's session and the worker end), moving it does not; the view comes
// back by itself after a server restart, unless `reconnect="off"`.
import type { Page } from "@playwright/test";
import fs from "node:fs";
import { startServer, test, expect, type RfbServer } from "./fixtures";
import { expectColor, expectQuadrants, fitRect, hex, quadrantCentres, toCanvas } from "./viewer";
import {
  captureSnapshot, distinctCaptures, expectSolid, staticPages, viewKind, viewersPerStream, waitShowing,
} from "./package";

const BG = "#ff00ff"; // not a test-card colour

/** Opens the blank page and adds `<rfb-view id="view">` with `attributes` and a CSS size;
 * every rfb-* event reaching `document` is recorded in `window.rfbEvents`. With `nested`,
 * the element sits inside another element's shadow root (events must be composed). */
async function addView(
  page: Page,
  server: RfbServer,
  attributes: Record<string, string>,
  { width = 640, height = 480, nested = false } = {},
) {
  await page.goto(`${server.url}element.html`);
  await page.waitForFunction(() => document.body.dataset.ready === "1");
  await page.evaluate(
    ({ attributes, width, height, nested }) => {
      const w = window as any;
      w.rfbEvents = [];
      for (const type of ["rfb-state", "rfb-stats", "rfb-error"]) {
        document.addEventListener(type, (e: any) => {
          const d = e.detail;
          const detail = type === "rfb-error" ? { message: d.message, stage: d.stage, code: d.code } : d;
          w.rfbEvents.push({ type, detail: JSON.parse(JSON.stringify(detail)) });
        });
      }
      const el = document.createElement("rfb-view");
      el.id = "view";
      el.style.width = `${width}px`;
      el.style.height = `${height}px`;
      for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
      if (nested) {
        const host = document.createElement("div");
        host.attachShadow({ mode: "open" }).append(el);
        document.body.append(host);
      } else {
        document.body.append(el);
      }
      w.rfbElement = el;
    },
    { attributes, width, height, nested },
  );
}

/** The element by its global (it may sit in a shadow root, out of selectors' reach). */
const EL = "window.rfbElement";

async function events(page: Page, type: string): Promise<any[]> {
  return page.evaluate((type) => (window as any).rfbEvents.filter((e: any) => e.type === type).map((e: any) => e.detail), type);
}

test.describe("<rfb-view> on a blank page", () => {
  test.use({ serverSpec: { extra: staticPages } });

  for (const mode of ["worker", "in-thread"] as const) {
    test(`shows the test card (${mode})`, async ({ page, server }) => {
      await addView(page, server, mode === "worker" ? {} : { "no-worker": "" });
      await waitShowing(page, EL);
      expect(await viewKind(page, EL)).toBe(mode);
      const frames = await distinctCaptures(page, EL, 8, (w, h) => quadrantCentres(w, h));
      for (const f of frames) expect([f.width, f.height]).toEqual([640, 480]);
      expectQuadrants(frames);
    });
  }

  test.describe("800x300, wider than the frame", () => {
    test.use({ viewport: { width: 900, height: 400 } });

    test("fit and background apply live: contain's bars become picture under cover", async ({ page, server }) => {
      await addView(page, server, { fit: "contain", background: BG, scaling: "canvas" }, { width: 800, height: 300 });
      await waitShowing(page, EL);
      await page.evaluate(() => ((window as any).firstView = (window as any).rfbElement.view));
      // contain: the picture is 400x300 at x=200; (100, 100) and (700, 200) are in the bars.
      const probes: [number, number][] = [[100, 100], [700, 200]];
      const contain = (w: number, h: number) => {
        const rect = fitRect("contain", 640, 480, w, h);
        return [...quadrantCentres(640, 480).map(([x, y]) => toCanvas(rect, 640, 480, x, y)), ...probes];
      };
      const before = await distinctCaptures(page, EL, 4, contain);
      for (const f of before) probes.forEach((_, i) => expectColor(f.pixels[4 + i], hex(BG), `contain: bar sample ${i}`));
      expectQuadrants(before);

      await page.evaluate(() => (window as any).rfbElement.setAttribute("background", "#00ffff"));
      await expect.poll(async () => (await captureSnapshot(page, EL, probes)).pixels[0], { timeout: 5_000 }).toEqual([0, 255, 255]);

      await page.evaluate(() => (window as any).rfbElement.setAttribute("fit", "cover"));
      // cover: scaled 1.25x, rows 120..360 of the frame visible: (100, 100) is frame (80, 200),
      // quadrant 0; (700, 200) is frame (560, 280), quadrant 3.
      await expect
        .poll(async () => {
          const s = await captureSnapshot(page, EL, probes);
          return [0, 3].every((q, i) => s.pixels[i].every((v, c) => Math.abs(v - s.expected[q][c]) <= 6));
        }, { timeout: 5_000 })
        .toBe(true);
      const frames = await distinctCaptures(page, EL, 4, () => probes);
      for (const f of frames) {
        expectColor(f.pixels[0], f.expected[0], "cover: (100, 100)");
        expectColor(f.pixels[1], f.expected[3], "cover: (700, 200)");
      }
      expect(await page.evaluate(() => (window as any).rfbElement.view === (window as any).firstView), "same view").toBe(true);
      expect(await page.evaluate(() => (window as any).rfbElement.fit)).toBe("cover");
    });
  });

  test("image-only rebuilds the view on the image transport", async ({ page, server }) => {
    await addView(page, server, {});
    await waitShowing(page, EL);
    expect((await captureSnapshot(page, EL, [])).stats.transport).toBe("h264");
    await page.evaluate(() => (window as any).rfbElement.setAttribute("image-only", ""));
    await page.waitForFunction(() => (window as any).rfbElement.stats()?.transport === "jpeg");
    await waitShowing(page, EL);
    expectQuadrants(await distinctCaptures(page, EL, 4, (w, h) => quadrantCentres(w, h)));
  });

  test("the options property: callbacks, and a worker factory called for each rebuild", async ({ page, server }) => {
    await addView(page, server, {});
    await waitShowing(page, EL);
    await page.evaluate(() => {
      const w = window as any;
      w.optionStates = [];
      w.rfbElement.options = {
        onState: (s: string) => w.optionStates.push(s),
        worker: () => new Worker("/rfb-worker.js", { type: "module", name: "from-options" }),
      };
    });
    await page.waitForFunction(() => (window as any).optionStates.includes("negotiated"));
    await waitShowing(page, EL);
    expect(page.workers().map((w) => new URL(w.url()).pathname)).toEqual(["/rfb-worker.js"]);
    // An attribute change rebuilds: the factory gives the new view its own worker.
    await page.evaluate(() => (window as any).rfbElement.setAttribute("image-only", ""));
    await page.waitForFunction(() => (window as any).rfbElement.stats()?.transport === "jpeg");
    await waitShowing(page, EL);
    await expect.poll(() => page.workers().map((w) => new URL(w.url()).pathname)).toEqual(["/rfb-worker.js"]);
    expectQuadrants(await distinctCaptures(page, EL, 4, (w, h) => quadrantCentres(w, h)));
    const states = await page.evaluate(() => (window as any).optionStates);
    expect(states.filter((s: string) => s === "negotiated")).toHaveLength(2);
  });

  test("capture() is the frame with its stats; screenshot() a PNG of it", async ({ page, server }) => {
    await addView(page, server, {});
    await waitShowing(page, EL, 3);
    const shot = await page.evaluate(async () => {
      const el = (window as any).rfbElement;
      const cap = await el.capture();
      const blob: Blob = await el.screenshot();
      const bitmap = await createImageBitmap(blob);
      return {
        width: cap.width, height: cap.height, bytes: cap.data.length, colorSpace: cap.colorSpace,
        displayed: cap.stats.framesDisplayed, seq: cap.stats.lastFrameSeq,
        type: blob.type, png: [bitmap.width, bitmap.height],
      };
    });
    expect(shot).toMatchObject({ width: 640, height: 480, bytes: 640 * 480 * 4, colorSpace: "srgb", type: "image/png", png: [640, 480] });
    expect(shot.displayed).toBeGreaterThanOrEqual(3);
    expect(shot.seq).not.toBeNull();
    // Without a view (never connected) it rejects.
    await expect(page.evaluate(() => document.createElement("rfb-view").capture())).rejects.toThrow(/no view/);
  });

  test("removing the element disposes the view; moving it keeps it", async ({ page, server }) => {
    await addView(page, server, {});
    await waitShowing(page, EL);
    expect(page.workers()).toHaveLength(1);
    expect(await viewersPerStream(server)).toEqual({ default: 1 });
    const kept = await page.evaluate(() => {
      const el = (window as any).rfbElement;
      const view = el.view;
      const box = document.createElement("section");
      document.body.append(box);
      box.append(el); // removed and inserted again in one task
      return new Promise((resolve) => setTimeout(() => resolve(el.view === view), 100));
    });
    expect(kept, "a move keeps the view").toBe(true);
    await waitShowing(page, EL, 5);
    expect(await viewersPerStream(server)).toEqual({ default: 1 });

    await page.evaluate(() => (window as any).rfbElement.remove());
    await expect.poll(() => viewersPerStream(server), { timeout: 5_000 }).toEqual({ default: 0 });
    await expect.poll(() => page.workers().length, { timeout: 5_000 }).toBe(0);
    expect(await page.evaluate(() => (window as any).rfbElement.view)).toBeNull();
    // Inserted again, it connects again.
    await page.evaluate(() => document.body.append((window as any).rfbElement));
    await waitShowing(page, EL);
    expect(await viewersPerStream(server)).toEqual({ default: 1 });
  });
});

test.describe("src switches streams", () => {
  test.use({ serverSpec: { extra: [...staticPages, "--stream", "cam=solid:320x240"] } });

  test("a new src rebuilds the view in the same element, on the other stream", async ({ page, server }) => {
    await addView(page, server, { scaling: "canvas" });
    await waitShowing(page, EL);
    expectQuadrants(await distinctCaptures(page, EL, 4, (w, h) => quadrantCentres(w, h)));
    await page.evaluate(() => ((window as any).firstView = (window as any).rfbElement.view));

    await page.evaluate((port) => ((window as any).rfbElement.src = `ws://127.0.0.1:${port}/cam`), server.port);
    await page.waitForFunction(() => (window as any).rfbElement.stats()?.frameWidth === 320);
    await waitShowing(page, EL);
    // The cam stream: one flat colour, the palette entry of its frame_seq, drawn 2x.
    const frames = await distinctCaptures(page, EL, 4, (w, h) => quadrantCentres(w, h));
    for (const f of frames) expect([f.stats.frameWidth, f.stats.frameHeight, f.width]).toEqual([320, 240, 640]);
    expectSolid(frames, "cam");
    expect(await page.evaluate(() => (window as any).rfbElement.view !== (window as any).firstView), "a new view").toBe(true);
    expect(await page.evaluate(() => (window as any).rfbElement.isConnected)).toBe(true);
    // The old view's connection and worker are gone.
    await expect.poll(() => viewersPerStream(server), { timeout: 5_000 }).toEqual({ default: 0, cam: 1 });
    await expect.poll(() => page.workers().length, { timeout: 5_000 }).toBe(1);
  });
});

test.describe("events", () => {
  test.use({ serverSpec: { extra: staticPages } });

  test("rfb-state and rfb-stats reach document from inside another shadow root", async ({ page, server }) => {
    await addView(page, server, {}, { nested: true });
    await waitShowing(page, EL);
    await page.waitForFunction(() => (window as any).rfbEvents.some((e: any) => e.type === "rfb-stats" && e.detail.stats.framesDisplayed > 0));
    const states = await events(page, "rfb-state");
    expect(states.slice(0, 3)).toEqual(["connecting", "open", "negotiated"]);
    const stats = (await events(page, "rfb-stats")).find((d) => d.stats.framesDisplayed > 0);
    expect(stats.stats.transport).toBe("h264");
    expect(stats.timing).toHaveProperty("receiveToDisplayMs");
    expect(await events(page, "rfb-error")).toEqual([]);
  });
});

test.describe("a server that wants a token", () => {
  test.use({
    serverSpec: { extra: [...staticPages, "--token", "s3cret"] },
    allowedConsoleErrors: { patterns: [/^rfb-viewer: server closed the connection: 4401 Unauthorized/] },
  });

  test("a wrong token is one rfb-error (4401, no retry); the right one rebuilds and streams", async ({ page, server }) => {
    await addView(page, server, { token: "wrong" });
    await page.waitForFunction(() => (window as any).rfbElement.state === "closed");
    await page.waitForTimeout(1500); // any retry would show up by now
    expect(await events(page, "rfb-error")).toEqual([expect.objectContaining({ stage: "server", code: 4401 })]);
    expect(await events(page, "rfb-state")).toEqual(["connecting", "open", "closed"]);

    await page.evaluate(() => (window as any).rfbElement.setAttribute("token", "s3cret"));
    await waitShowing(page, EL);
    expectQuadrants(await distinctCaptures(page, EL, 4, (w, h) => quadrantCentres(w, h)));
    expect(await events(page, "rfb-error")).toHaveLength(1);
  });
});

test.describe("controls", () => {
  test.use({ serverSpec: { extra: [...staticPages, "--stats-interval", "1"] } });

  test("the chrome renders its parts, styled by custom properties and ::part()", async ({ page, server }) => {
    await addView(page, server, {});
    await waitShowing(page, EL);
    const chrome = page.locator("#view .chrome");
    await expect(chrome).toBeHidden();

    await page.addStyleTag({
      content: "#view { --rfb-accent: rgb(1, 2, 3); --rfb-chrome-fg: rgb(4, 5, 6); } #view::part(toolbar) { padding-top: 7px; }",
    });
    await page.evaluate(() => ((window as any).rfbElement.controls = true));
    await expect(chrome).toBeVisible();
    const view = page.locator("#view");
    await expect(view.locator("[part~=status]")).toHaveText("negotiated");
    // The latency badge: the server's ack round trip, from the first stats tick.
    await expect(view.locator("[part~=latency]")).toHaveText(/^\d+\.\d ms$/, { timeout: 5_000 });
    await expect(view.locator("[part~=toolbar] [part~=button]")).toHaveCount(3);
    await expect(view.locator("[part~=retry-button]")).toBeHidden(); // the alert shows only after an error
    await expect(view.locator("[part~=canvas]")).toHaveCount(1);
    expect(await view.locator("[part~=toolbar]").evaluate((e) => getComputedStyle(e).paddingTop)).toBe("7px");
    expect(await chrome.evaluate((e) => getComputedStyle(e).color)).toBe("rgb(4, 5, 6)");

    // The stats HUD toggles, and its button takes the accent colour while pressed.
    const hud = view.locator("[part~=hud]");
    await expect(hud).toBeHidden();
    await view.locator("[part~=hud-button]").click();
    await expect(hud).toBeVisible();
    await expect(hud).toContainText(/frames \d+ shown/, { timeout: 5_000 });
    await expect(hud).toContainText("server: rtt");
    await page.mouse.move(0, 0); // not hovering: the pressed colour, not the hover one
    expect(await view.locator("[part~=hud-button]").evaluate((e) => getComputedStyle(e).backgroundColor)).toBe("rgb(1, 2, 3)");
    await view.locator("[part~=hud-button]").click();
    await expect(hud).toBeHidden();

    // The screenshot button downloads a PNG of the frame.
    const [download] = await Promise.all([page.waitForEvent("download"), view.locator("[part~=screenshot-button]").click()]);
    expect(download.suggestedFilename()).toMatch(/^rfb-.*\.png$/);
    const png = fs.readFileSync(await download.path());
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join("")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)], "PNG width, height").toEqual([640, 480]);

    // The fullscreen button puts the element itself in fullscreen, and takes it out.
    await view.locator("[part~=fullscreen-button]").click();
    await page.waitForFunction(() => document.fullscreenElement === (window as any).rfbElement);
    await view.locator("[part~=fullscreen-button]").click();
    await page.waitForFunction(() => document.fullscreenElement === null);
  });
});

test.describe("a server restarted on the same port", () => {
  /** Chromium's own report of each refused attempt while the server is down. */
  const REFUSED = /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/' failed: .*ERR_CONNECTION_REFUSED/;
  test.use({
    serverSpec: { extra: staticPages },
    allowedConsoleErrors: { patterns: [REFUSED, /^rfb-viewer: connection to ws:\/\/127\.0\.0\.1:\d+\/ was lost \(code 1006\)$/] },
  });

  for (const reconnect of ["on", "off"]) {
    test(`reconnect="${reconnect}"`, async ({ page, server }) => {
      await addView(page, server, { reconnect });
      await waitShowing(page, EL);
      await server.stop("SIGKILL");
      if (reconnect === "on") {
        await page.waitForFunction(() => (window as any).rfbElement.state === "reconnecting");
        const drop = (await events(page, "rfb-error"))[0];
        expect(drop.stage).toBe("connection");
        let again: RfbServer | undefined;
        try {
          again = await startServer({ port: server.port, extra: staticPages });
          await page.waitForFunction(() => (window as any).rfbElement.state === "negotiated", null, { timeout: 20_000 });
          expectQuadrants(await distinctCaptures(page, EL, 4, (w, h) => quadrantCentres(w, h)));
          expect(await events(page, "rfb-state")).toContain("reconnecting");
        } finally {
          await again?.stop();
        }
      } else {
        await page.waitForFunction(() => (window as any).rfbElement.state === "closed");
        await page.waitForTimeout(1500); // any retry would show by now
        expect(await events(page, "rfb-state")).toEqual(["connecting", "open", "negotiated", "closed"]);
        expect(await events(page, "rfb-error")).toEqual([expect.objectContaining({ stage: "connection", code: 1006 })]);
      }
    });
  }
});
