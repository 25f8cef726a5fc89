// End-to-end latency benchmark (issues 5 and 14): each server publishes test_card to one
// headless Chromium viewer (its own viewer page) for N seconds; for rfb and the reference
// implementation, back to back, at each size/rate, window and transport. For rfb it also
// prints where the time goes, stage by stage (one table per configuration), and measures
// input -> photon with mouse moves on `rfb serve --answer-input`. See bench/README.md.
//
//   npm run bench:latency -- [--seconds 20] [--configs 1280x720@30,1280x720@30/1300x740,...]
//                            [--transports h264,jpeg] [--impls rfb,ref,rfb-worker]
//                            [--photon h264,jpeg] [--photon-config 1280x720@30]
//                            [--quiet-wait 180] [--json FILE]
//
// A config is WIDTHxHEIGHT@FPS (the page's viewport is the frame size: drawn 1:1) or
// WIDTHxHEIGHT@FPS/WINWxWINH (a WINWxWINH window: the frame is scaled to fit it).
import fs from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "@playwright/test";
import { CHROMIUM, startPages, startRfb, waitQuiet } from "./lib/servers.mjs";
import { ms, ms2, table } from "./lib/analyze.mjs";
import { BROWSER_ARGS, labelOf, parseConfig, runOne } from "./lib/runs.mjs";
import { photonTable, stageTable } from "./lib/stages.mjs";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    configs: { type: "string", default: "1280x720@30,1280x720@30/1300x740,1280x720@60,1920x1080@30" },
    transports: { type: "string", default: "h264,jpeg" },
    impls: { type: "string", default: "rfb,ref" },
    photon: { type: "string", default: "h264,jpeg" },
    "photon-config": { type: "string", default: "1280x720@30" },
    "quiet-wait": { type: "string", default: "180" },
    json: { type: "string" },
  },
});
const SECONDS = Number(opts.seconds);
const QUIET_WAIT = Number(opts["quiet-wait"]);

const CONFIGS = opts.configs.split(",").map((c) => parseConfig(c, "--configs"));
const TRANSPORTS = opts.transports.split(",");
const IMPLS = opts.impls.split(",");
const PHOTON = opts.photon === "" ? [] : opts.photon.split(",");
const PHOTON_CONFIG = parseConfig(opts["photon-config"], "--photon-config");

/**
 * Input -> photon on `rfb serve --answer-input` (each frame answers the input drained
 * before it and shows a marker at the pointer): Playwright moves the mouse over the canvas
 * for the whole window, then the viewer's `stats().inputToPhoton` (its last 5 s) and the
 * server's last report (`/metrics`) are read, with the stages of the same run.
 */
async function runPhoton(config, transport) {
  const { width, height, fps, window } = config;
  const quietBefore = await waitQuiet(0.15, QUIET_WAIT);
  const server = await startRfb({ width, height, fps, extra: ["--answer-input"] });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const page = await browser.newPage({ viewport: window });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(server.pageUrl(transport));
    await page.waitForFunction(() => globalThis.rfbView?.stats().framesDisplayed >= 30, null, { timeout: 30_000 });
    // A hovering pointer across the frame, a move every 8-25 ms (random: about a 60 Hz
    // mouse, at no fixed phase to the 30 fps publish ticks, which a steady pace would lock
    // to and so measure one arbitrary wait for the next tick instead of all of them).
    let moves = 0;
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      const x = window.width * (0.1 + 0.8 * (((moves * 7) % 100) / 100));
      const y = window.height * (0.1 + 0.8 * (((moves * 3) % 100) / 100));
      await page.mouse.move(x, y);
      moves++;
      await page.waitForTimeout(8 + Math.random() * 17);
    }
    const viewer = await page.evaluate(() => globalThis.rfbView.stats().inputToPhoton);
    await page.waitForTimeout(1200); // the viewer's next report (about once a second)
    const [m] = await (await fetch(`${server.url}metrics`)).json();
    return { transport, config, seconds: SECONDS, quietBefore, moves, viewer, server: m?.input_to_photon ?? null, inputToPublish: m?.input_to_publish, stages: m?.stages, latencyMs: m?.latency_ms, errors };
  } finally {
    await browser.close();
    await server.stop();
  }
}

// The reference's viewer page needs its installed wheel: only start its page server for it.
const pages = IMPLS.includes("ref") ? await startPages() : null;
const results = [];
const photonRuns = [];
try {
  for (const config of CONFIGS) {
    for (const transport of TRANSPORTS) {
      for (const impl of IMPLS) {
        const label = `${impl} ${transport} ${labelOf(config)}`;
        process.stderr.write(`running ${label} for ${SECONDS} s...\n`);
        try {
          const r = await runOne(impl, config, transport, pages, { seconds: SECONDS, quietWait: QUIET_WAIT });
          results.push(r);
          process.stderr.write(`  ${ms(r.fpsShown)} fps, pixels p50 ${ms(r.pixel.p50)} p95 ${ms(r.pixel.p95)} ms, ack p50 ${ms(r.ack.p50)} ms, cpu ${ms(r.cpuPercent)}%, clock drift ${ms(r.sync.driftMs)} ms\n`);
        } catch (e) {
          process.stderr.write(`  failed: ${e.stack ?? e}\n`);
          results.push({ impl, ...config, transport, failed: String(e.message ?? e) });
        }
      }
    }
  }
  for (const transport of PHOTON) {
    process.stderr.write(`running input->photon ${transport} ${labelOf(PHOTON_CONFIG)} for ${SECONDS} s...\n`);
    try {
      const r = await runPhoton(PHOTON_CONFIG, transport);
      photonRuns.push(r);
      process.stderr.write(`  ${r.moves} moves, input->photon p50 ${ms(r.viewer?.p50Ms)} p95 ${ms(r.viewer?.p95Ms)} ms (${r.viewer?.samples ?? 0} samples)\n`);
    } catch (e) {
      process.stderr.write(`  failed: ${e.stack ?? e}\n`);
      photonRuns.push({ transport, config: PHOTON_CONFIG, failed: String(e.message ?? e) });
    }
  }
} finally {
  await pages?.close();
}

const rows = results.map((r) =>
  r.failed
    ? [r.impl, r.transport, labelOf(r), "failed", "", "", "", "", "", "", "", "", ""]
    : [
        r.impl, r.transport, labelOf(r),
        ms(r.fpsShown),
        `${ms(r.pixel.p50)} / ${ms(r.pixel.p95)}`,
        `${ms(r.ack.p50)} / ${ms(r.ack.p95)}`,
        `${ms(r.server.encodeMs)} + ${ms(r.server.rttMs)}`,
        `${ms(r.receiveToDisplay.p50)} / ${ms(r.receiveToDisplay.p95)}`,
        r.handoff?.n ? `${ms2(r.handoff.p50)} / ${ms2(r.handoff.p95)}` : "-",
        ms(r.cpuPercent),
        ms(r.machineBusyPercent),
        `${r.server.framesDropped ?? "-"}`,
        `${r.keyframes}/${r.framesReceived}`,
      ],
);
console.log(`\nEnd-to-end latency, ${SECONDS} s per row, test_card, one headless Chromium viewer (--disable-gpu) per server, ${new Date().toISOString()}`);
console.log("(size@fps alone: the page's viewport is the frame size, drawn 1:1; \"in WxH\": a WxH window, the frame scaled to fit)");
console.log(table(
  ["impl", "codec", "size@fps", "fps shown", "publish→display px p50/p95 ms", "publish→ack p50/p95 ms",
    "server encode+rtt ms", "recv→display p50/p95 ms", "recv→decode() p50/p95 ms", "server CPU %", "machine CPU %", "dropped", "key/recv"],
  rows,
));
console.log("\npublish→display px: publish time (frame timestamp, display clock) to the draw that put the frame's colours on the canvas,");
console.log("  the frame identified by the test card's colour phase read back from the canvas; clocks synced through input events.");
console.log("recv→decode(): the viewer's own work between a frame message's arrival and handing its access unit to");
console.log("  VideoDecoder.decode() (parse, copies, bookkeeping), on the page's clock (video only).");
console.log("publish→ack: publish time to the viewer sending the ACK of that frame. server encode+rtt: the server's own /metrics means");
console.log("  (rfb: 3 s window; reference: moving average). server CPU %: of one core, /proc/<pid>/stat over the run;");
console.log("  machine CPU %: everything (server, browser, bench, anything else) over the run, of one core (2 cores = 200).");

// Where the time goes, per configuration (rfb: /metrics stages at the end of the run).
for (const r of results) {
  if (r.failed || !r.metrics) continue;
  console.log(`\nStages, ${r.impl} ${r.transport} ${labelOf(r)}: server /metrics at the end of the run (last 3 s; the viewer's durations from its ACKs), and the viewer's stats() (its last 5 s; server stages from its last Stats)`);
  console.log(stageTable(r.metrics, r.viewerStages));
}
if (photonRuns.length > 0) {
  console.log(`\nInput -> photon, rfb serve --answer-input ${labelOf(PHOTON_CONFIG)}, Playwright mouse moves (each followed by a random 8-25 ms wait) for ${SECONDS} s: from the DOM event to the first drawn frame answering it`);
  console.log(photonTable(photonRuns));
}

// The targets of issue 5, per configuration.
const find = (impl, t, c) => results.find((r) => !r.failed && r.impl === impl && r.transport === t && labelOf(r) === labelOf(c));
const checks = [];
for (const c of CONFIGS) {
  for (const t of TRANSPORTS) {
    const ours = find("rfb", t, c);
    const ref = find("ref", t, c);
    if (!ours) continue;
    const minFps = c.fps >= 60 ? 55 : 29;
    checks.push([`${t} ${labelOf(c)}`, `fps ${ms(ours.fpsShown)} >= ${minFps}`, ours.fpsShown >= minFps ? "ok" : "MISS"]);
    checks.push(["", `p95 ${ms(ours.pixel.p95)} <= 20 ms`, ours.pixel.p95 <= 20 ? "ok" : "MISS"]);
    if (ref) {
      const bound = 0.6 * ref.pixel.p50;
      checks.push(["", `p50 ${ms(ours.pixel.p50)} <= 0.6 x ref ${ms(ref.pixel.p50)} = ${ms(bound)} ms`, ours.pixel.p50 <= bound ? "ok" : "MISS"]);
    }
  }
}
console.log(`\nTargets (issue 5):\n${table(["config", "target", ""], checks)}`);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ results, photon: photonRuns }, null, 2));
