// The Firefox leg's plumbing: `rfb serve` on a free port (as tests/e2e/fixtures.ts starts
// it), Debian's firefox-esr driven over WebDriver BiDi by puppeteer-core, and the checks
// the Chromium suite makes (quadrant colours, recorded input), in plain Node (`node --test`).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const RFB_BIN = process.env.RFB_BIN ?? path.join(ROOT, "target/release/rfb");
const FIREFOX = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
/** Per-channel tolerance for decoded colours, as in the Chromium suite. */
export const TOLERANCE = 6;

/** Starts `rfb serve --pattern test_card` (640x480@30) plus `extra` flags. */
export async function startServer({ port = 0, extra = [] } = {}) {
  const args = [
    "serve", "--pattern", "test_card", "--width", "640", "--height", "480", "--fps", "30",
    "--port", String(port), "--host", "127.0.0.1", ...extra,
  ];
  const proc = spawn(RFB_BIN, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  createInterface({ input: proc.stderr }).on("line", (l) => log.push(l));
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  const bound = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rfb serve printed nothing\n${log.join("\n")}`)), 30_000);
    createInterface({ input: proc.stdout }).once("line", (line) => {
      clearTimeout(timer);
      const m = /^rfb listening on http:\/\/127\.0\.0\.1:(\d+)\/$/.exec(line);
      m ? resolve(Number(m[1])) : reject(new Error(`unexpected first line ${JSON.stringify(line)}`));
    });
    proc.on("error", reject);
  });
  const url = `http://127.0.0.1:${bound}/`;
  for (const deadline = Date.now() + 15_000; ; ) {
    try {
      if ((await fetch(`${url}health`)).ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error("GET /health never answered");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port: bound,
    url,
    async stop(signal = "SIGINT") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    },
  };
}

/** Headless firefox-esr over WebDriver BiDi. */
export function launchFirefox() {
  return puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: {
      // No first-run pages, updates or telemetry in the test profile.
      "browser.shell.checkDefaultBrowser": false,
      "app.update.enabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
    },
  });
}

/** A new page whose console errors and page errors are collected in `errors`. */
export async function newPage(browser, { width = 640, height = 480, dpr = 1 } = {}) {
  const page = await browser.newPage();
  await page.setViewport({ width, height, deviceScaleFactor: dpr });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e?.message ?? e)));
  return { page, errors };
}

export async function waitFor(page, fn, arg, timeout = 20_000) {
  await page.waitForFunction(fn, { timeout, polling: 50 }, arg);
}

/** Opens the demo page with `query` and waits for frames. */
export async function openViewer(page, server, query = {}) {
  const qs = new URLSearchParams(query).toString();
  await page.goto(`${server.url}${qs ? `?${qs}` : ""}`);
  await waitFor(page, () => window.rfbView?.state === "negotiated" && window.rfbView.stats().framesDisplayed > 0);
}

/** Pixels at the quadrant centres and the test card's colours, of `count` distinct frames. */
export async function quadrantFrames(page, count) {
  const frames = [];
  let last = null;
  for (const deadline = Date.now() + 20_000; frames.length < count; ) {
    if (Date.now() > deadline) throw new Error(`only ${frames.length} of ${count} distinct frames`);
    const f = await page.evaluate(async () => {
      const pkg = await import("/pkg/rfb_viewer.js");
      const cap = await window.rfbView.capture();
      const points = [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]];
      const pixels = points.map(([fx, fy]) => {
        const i = (Math.floor(fy * cap.height) * cap.width + Math.floor(fx * cap.width)) * 4;
        return [cap.data[i], cap.data[i + 1], cap.data[i + 2]];
      });
      const seq = cap.stats.lastFrameSeq;
      return { seq, shown: cap.stats.lastDisplayedSeq, pixels, expected: [0, 1, 2, 3].map((q) => pkg.expectedQuadrantColor(seq, q)) };
    });
    if (f.shown !== null && f.shown !== last) {
      last = f.shown;
      frames.push(f);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return frames;
}

/** Asserts every sampled quadrant is its test-card colour and the frames advanced. */
export function checkQuadrants(assert, frames) {
  for (const f of frames) {
    f.pixels.forEach((px, q) => {
      const ok = px.every((v, i) => Math.abs(v - f.expected[q][i]) <= TOLERANCE);
      assert.ok(ok, `frame_seq ${f.seq} quadrant ${q}: rgb(${px}) vs rgb(${f.expected[q]})`);
    });
  }
  assert.ok(new Set(frames.map((f) => f.seq % 4)).size > 1, "frames advanced");
}

export async function recorded(server) {
  return (await (await fetch(`${server.url}recorded-events`)).json()).map((r) => r.event);
}

export async function resetRecorded(server) {
  await fetch(`${server.url}recorded-events/reset`, { method: "POST" });
}

/** Waits until the server received an event of `type`, returns it. */
export async function waitForEvent(server, type) {
  for (const deadline = Date.now() + 10_000; ; ) {
    const e = (await recorded(server)).find((x) => x.type === type);
    if (e) return e;
    if (Date.now() > deadline) throw new Error(`no ${type} event`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Where a fw x fh frame lands in a cw x ch canvas (independent of the Rust). */
export function fitRect(fit, fw, fh, cw, ch) {
  if (fit === "fill") return { x: 0, y: 0, w: cw, h: ch };
  const s = fit === "contain" ? Math.min(cw / fw, ch / fh) : Math.max(cw / fw, ch / fh);
  return { x: (cw - fw * s) / 2, y: (ch - fh * s) / 2, w: fw * s, h: fh * s };
}
