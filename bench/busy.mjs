// Busy-page benchmark (issue 7): how many frames per second an `<rfb-view>` shows while the
// page's main thread is blocked `--busy` ms of every `--period` ms (tests/apps/static/
// busy.html), in worker mode and on the main thread, per transport; one headless Chromium
// viewer, viewport = frame size. Rates come from the server's ACK count (`/metrics`,
// sampled every 20 ms from this process, so the page's blocked thread does not skew them),
// split by the page's busy periods (bench/lib/busy.mjs). A row with `--busy 0` is the
// unloaded baseline. See bench/README.md.
//
//   npm run bench:busy -- [--seconds 20] [--size 1280x720] [--fps 30] [--busy 500]
//                         [--period 1000] [--transports h264,jpeg] [--modes worker,in-thread]
//                         [--baseline] [--json FILE]
import fs from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "@playwright/test";
import { CHROMIUM, ROOT, startRfb } from "./lib/servers.mjs";
import { sampleAcks, splitByLoad } from "./lib/busy.mjs";
import { table } from "./lib/analyze.mjs";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    size: { type: "string", default: "1280x720" },
    fps: { type: "string", default: "30" },
    busy: { type: "string", default: "500" },
    period: { type: "string", default: "1000" },
    transports: { type: "string", default: "h264,jpeg" },
    modes: { type: "string", default: "worker,in-thread" },
    baseline: { type: "boolean", default: false },
    json: { type: "string" },
  },
});
const SECONDS = Number(opts.seconds);
const [WIDTH, HEIGHT] = opts.size.split("x").map(Number);
const FPS = Number(opts.fps);
const BUSY = Number(opts.busy);
const PERIOD = Number(opts.period);

const BROWSER_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

async function runOne(transport, mode, busyMs) {
  const server = await startRfb({ width: WIDTH, height: HEIGHT, fps: FPS, extra: ["--web-dir", `${ROOT}/tests/apps/static`] });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    const query = new URLSearchParams({
      worker: mode === "worker" ? "1" : "0",
      transport: transport === "h264" ? "video" : "image",
      busy: String(busyMs),
      period: String(PERIOD),
    });
    await page.goto(`${server.url}busy.html?${query}`);
    await page.waitForFunction(() => (globalThis.rfbElement?.stats()?.framesDisplayed ?? 0) >= 30, null, { timeout: 30_000 });
    const negotiated = await page.evaluate(() => globalThis.rfbElement.stats().transport);
    if (negotiated !== transport) throw new Error(`asked for ${transport}, negotiated ${negotiated}`);
    await page.waitForTimeout(1000);
    const samples = await sampleAcks(server.url, SECONDS * 1000);
    await page.waitForTimeout(100);
    const log = await page.evaluate(() => globalThis.busyLog);
    const first = samples[0];
    const last = samples[samples.length - 1];
    const overall = ((last.acked - first.acked) * 1000) / (last.at - first.at);
    const periods = log.filter((p) => p.start >= first.at && p.end <= last.at);
    const split = periods.length > 0 ? splitByLoad(samples, periods) : null;
    const metrics = (await (await fetch(`${server.url}metrics`)).json())[0] ?? {};
    return {
      transport, mode, busyMs, periodMs: PERIOD, seconds: (last.at - first.at) / 1000, overallFps: overall,
      busyFps: split?.busy.fps ?? null, idleFps: split?.idle.fps ?? null, busyPeriods: periods.length,
      perPeriod: split?.cycles.map((c) => (c.frames * 1000) / c.ms) ?? [],
      server: { fpsSent: metrics.fps_sent, framesDropped: metrics.frames_dropped, rttMs: metrics.rtt_ms },
      errors,
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}

const results = [];
for (const transport of opts.transports.split(",")) {
  for (const mode of opts.modes.split(",")) {
    for (const busyMs of opts.baseline ? [0, BUSY] : [BUSY]) {
      const label = `${transport} ${mode} busy ${busyMs}/${PERIOD} ms`;
      process.stderr.write(`running ${label} for ${SECONDS} s...\n`);
      try {
        const r = await runOne(transport, mode, busyMs);
        results.push(r);
        const f = (v) => (v === null ? "-" : v.toFixed(1));
        process.stderr.write(`  ${f(r.overallFps)} fps overall, ${f(r.busyFps)} while busy, ${f(r.idleFps)} while idle\n`);
      } catch (e) {
        process.stderr.write(`  failed: ${e.stack ?? e}\n`);
        results.push({ transport, mode, busyMs, failed: String(e.message ?? e) });
      }
    }
  }
}

const f = (v) => (v === null || v === undefined ? "-" : v.toFixed(1));
const rows = results.map((r) =>
  r.failed
    ? [r.transport, r.mode, `${r.busyMs}/${PERIOD}`, "failed", "", "", "", "", ""]
    : [
        r.transport, r.mode, `${r.busyMs}/${r.periodMs}`, f(r.overallFps), f(r.busyFps), f(r.idleFps),
        r.perPeriod.length ? `${f(Math.min(...r.perPeriod))}..${f(Math.max(...r.perPeriod))}` : "-",
        f(r.server.fpsSent), `${r.server.framesDropped ?? "-"}`,
      ],
);
console.log(`\nBusy page, ${WIDTH}x${HEIGHT}@${FPS} test_card, ${SECONDS} s per row, one headless Chromium viewer (--disable-gpu), ${new Date().toISOString()}`);
console.log(table(
  ["codec", "mode", "busy/period ms", "fps shown", "fps while busy", "fps while idle", "busy periods min..max", "server fps sent", "dropped"],
  rows,
));
console.log("\nfps: frames acknowledged by the viewer (it acks after drawing) per second, from the server's /metrics sampled every");
console.log("  20 ms; 'while busy' counts only samples inside the page's busy periods (30 ms margins), 'while idle' those outside.");
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(results, null, 2));
