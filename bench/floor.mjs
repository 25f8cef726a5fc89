// The floor (issue 14, item 2): how far rfb's publish -> displayed is from what this
// machine and browser allow at all. Per configuration and viewer mode, in one run:
//
// 1. encoder alone: `rfb dump-au` records the access units a shared lane sends for the
//    configuration (the lane's own encoder spec) with each encode's wall time;
// 2. bare decode + draw: bench/pages/floor.html plays those units with a bare WebCodecs
//    `VideoDecoder` + `drawImage` (no rfb code) at the stream's rate, in the page's
//    thread or in a dedicated worker on an OffscreenCanvas, timing submitted -> decoder
//    output -> drawn;
// 3. rfb: `rfb serve` and its viewer (in-thread or `worker=1`), publish -> displayed from
//    the drawn pixels, by the latency bench's own machinery (lib/runs.mjs), with its
//    `/metrics` stages;
//
// and prints `overhead = rfb p50 - (encode p50 + bare decode+draw p50)` with the stage
// that holds it (lib/floor.mjs). See bench/README.md.
//
//   npm run bench:floor -- [--seconds 15] [--configs 1280x720@30,1280x720@30/1300x740,1920x1080@30]
//                          [--modes in-thread,worker] [--warmup 30] [--quiet-wait 180] [--json FILE]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import { chromium } from "@playwright/test";
import { CHROMIUM, RFB_BIN, ROOT, machineCpu, startFiles, waitQuiet } from "./lib/servers.mjs";
import { ms, table } from "./lib/analyze.mjs";
import { BROWSER_ARGS, labelOf, parseConfig, runOne } from "./lib/runs.mjs";
import { stageTable } from "./lib/stages.mjs";
import { attributionTable, bareFloor, encoderAlone, floorRow, floorTable } from "./lib/floor.mjs";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "15" },
    configs: { type: "string", default: "1280x720@30,1280x720@30/1300x740,1920x1080@30" },
    modes: { type: "string", default: "in-thread,worker" },
    warmup: { type: "string", default: "30" },
    "quiet-wait": { type: "string", default: "180" },
    json: { type: "string" },
  },
});
const SECONDS = Number(opts.seconds);
const WARMUP = Number(opts.warmup);
const QUIET_WAIT = Number(opts["quiet-wait"]);
const CONFIGS = opts.configs.split(",").map((c) => parseConfig(c, "--configs"));
const MODES = opts.modes.split(",");
for (const m of MODES) if (m !== "in-thread" && m !== "worker") throw new Error(`--modes: ${m} is not in-thread or worker`);
const TARGET_MS = 1.5; // issue 14: overhead over the floor <= 1.5 ms p50

const dumpKey = (c) => `${c.width}x${c.height}@${c.fps}`;
const drawnAtFrameSize = (c) => c.window.width === c.width && c.window.height === c.height;

/** How the bare page scales a frame into a larger window: as rfb's page does, by CSS
 * (`object-fit`) unless `RFB_PAGE_QUERY` asks rfb for `scaling=canvas` (then inside
 * `drawImage`), so both sides do the same work. */
const BARE_SCALED_FIT = new URLSearchParams(process.env.RFB_PAGE_QUERY ?? "").get("scaling") === "canvas" ? "contain" : "css";

/** Starts measuring the whole machine's CPU; the returned function gives % of one core since. */
function busyMeter() {
  const a = machineCpu();
  const t0 = performance.now();
  return () => ((machineCpu().busy - a.busy) / ((performance.now() - t0) / 1000)) * 100;
}

/** `rfb dump-au` for a size and rate into a fresh folder under `root`; returns the folder. */
async function dump(config, root) {
  const out = path.join(root, dumpKey(config));
  const frames = WARMUP + Math.ceil(SECONDS * config.fps);
  const args = ["dump-au", "--pattern", "test_card", "--width", String(config.width), "--height", String(config.height),
    "--fps", String(config.fps), "--frames", String(frames), "--out", out];
  const quietBefore = await waitQuiet(0.15, QUIET_WAIT);
  const busy = busyMeter();
  const { stdout } = await promisify(execFile)(RFB_BIN, args, { cwd: ROOT });
  process.stderr.write(`  ${stdout.trim()}\n`);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
  return { out, manifest, quietBefore, machineBusyPercent: busy() };
}

/** The bare page playing a dump (`auUrl`) in `mode` at `config`'s window. */
async function runBare(config, mode, files, auUrl) {
  const quietBefore = await waitQuiet(0.15, QUIET_WAIT);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const page = await browser.newPage({ viewport: config.window });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    const fit = drawnAtFrameSize(config) ? "1:1" : BARE_SCALED_FIT;
    const query = new URLSearchParams({ au: auUrl, fit, mode: mode === "worker" ? "worker" : "thread" });
    const busy = busyMeter();
    await page.goto(`${files.url}floor.html?${query}`);
    const result = await page.evaluate(() => globalThis.__floor);
    const machineBusyPercent = busy();
    errors.push(...result.errors);
    const canvas = await page.evaluate(() => {
      const c = document.getElementById("view");
      return { width: c.width, height: c.height };
    });
    return { quietBefore, machineBusyPercent, fit, canvas, browserVersion: browser.version(), records: result.records, errors };
  } finally {
    await browser.close();
  }
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rfb-floor-"));
const dumps = new Map();
const results = [];
let files;
try {
  for (const config of CONFIGS) {
    if (!dumps.has(dumpKey(config))) {
      process.stderr.write(`dumping ${dumpKey(config)} (${WARMUP} + ${SECONDS} s of units)...\n`);
      dumps.set(dumpKey(config), await dump(config, root));
    }
  }
  files = await startFiles({ "/": path.join(ROOT, "bench/pages"), "/au/": root });
  for (const config of CONFIGS) {
    const d = dumps.get(dumpKey(config));
    const encoder = encoderAlone(d.manifest.units, WARMUP);
    for (const mode of MODES) {
      const label = labelOf(config);
      try {
        process.stderr.write(`running bare ${mode} ${label}...\n`);
        const bareRun = await runBare(config, mode, files, `/au/${dumpKey(config)}/`);
        const bare = bareFloor(bareRun.records, WARMUP);
        process.stderr.write(`  decode+draw p50 ${ms(bare.decodeDraw.p50)} p95 ${ms(bare.decodeDraw.p95)} ms (decode ${ms(bare.decode.p50)}, draw ${ms(bare.draw.p50)}), ${bare.lost} lost, ${bare.wrongPicture} wrong pictures\n`);
        if (bareRun.errors.length > 0) throw new Error(`bare page: ${bareRun.errors.join("; ")}`);
        if (bare.wrongPicture > 0) throw new Error(`bare page drew ${bare.wrongPicture} pictures whose colours are not their unit's`);
        process.stderr.write(`running rfb ${mode} ${label} for ${SECONDS} s...\n`);
        const impl = mode === "worker" ? "rfb-worker" : "rfb";
        const rfb = await runOne(impl, config, "h264", null, { seconds: SECONDS, quietWait: QUIET_WAIT });
        if (rfb.errors.length > 0) throw new Error(`rfb page: ${rfb.errors.join("; ")}`);
        process.stderr.write(`  publish->displayed p50 ${ms(rfb.pixel.p50)} p95 ${ms(rfb.pixel.p95)} ms, ${ms(rfb.fpsShown)} fps\n`);
        const row = floorRow(encoder, bare, { p50: rfb.pixel.p50, stages: rfb.metrics?.stages });
        results.push({ label, config, mode, encoder, bare, bareRun: { ...bareRun, records: undefined }, rfb, row });
      } catch (e) {
        process.stderr.write(`  failed: ${e.stack ?? e}\n`);
        results.push({ label, config, mode, failed: String(e.message ?? e) });
      }
    }
  }
} finally {
  await files?.close();
  fs.rmSync(root, { recursive: true, force: true });
}

const browserVersion = results.find((r) => r.bareRun)?.bareRun.browserVersion ?? "?";
console.log(`\nThe floor, ${new Date().toISOString()}: test_card, H.264 (rfb serve's defaults), headless Chromium ${browserVersion} (--disable-gpu), one page at a time`);
console.log(`${SECONDS} s of units per bare run and per rfb run, the first ${WARMUP} units of the dump and the bare run left out`);
console.log(floorTable(results));
console.log("\nencoder alone: rfb dump-au's encode wall time per access unit (the lane's encoder spec, RGB -> I420 included, frames paced at fps).");
console.log("bare decode+draw: bench/pages/floor.html, VideoDecoder.decode() -> output callback -> drawImage returned, no rfb code.");
console.log("rfb publish→displayed: publish time to the draw that put the frame's colours on the canvas (bench:latency's pixels).");
console.log("overhead = rfb p50 - (encoder alone p50 + bare decode+draw p50); held by: the stage whose /metrics mean exceeds");
console.log("  its floor the most (queue, send and network have no floor: all of them counts).");

const details = results.filter((r) => !r.failed).map((r) => [
  r.label, r.mode, r.bareRun.fit, `${r.bareRun.canvas.width}x${r.bareRun.canvas.height}`,
  `${ms(r.bare.decode.p50)} / ${ms(r.bare.decode.p95)}`, `${ms(r.bare.draw.p50)} / ${ms(r.bare.draw.p95)}`,
  `${r.bare.decodeDraw.n}`, `${r.bare.lost}`,
  `${ms(r.encoder.p50)} / ${ms(r.encoder.p95)}`, `${ms(r.rfb.metrics?.stages?.encode?.mean_ms)}`,
  `${ms(r.rfb.pixel.p50)} / ${ms(r.rfb.pixel.p95)}`, ms(r.rfb.fpsShown),
  `${ms(dumps.get(dumpKey(r.config)).machineBusyPercent)} / ${ms(r.bareRun.machineBusyPercent)} / ${ms(r.rfb.machineBusyPercent)}`,
]);
console.log(`\n${table(["config", "mode", "bare fit", "bare canvas", "bare decode p50/p95 ms", "bare draw p50/p95 ms", "units", "lost",
  "encoder alone p50/p95 ms", "rfb encode stage mean ms", "rfb publish→displayed p50/p95 ms", "rfb fps", "machine CPU % dump / bare / rfb"], details)}`);
console.log("machine CPU %: everything busy on the machine during the dump, the bare run and the rfb run, of one core (2 cores = 200).");

for (const r of results) {
  if (r.failed) continue;
  console.log(`\nWhere the overhead sits, ${r.label} ${r.mode}: rfb's /metrics stage means (last 3 s of its run) against the floor's means`);
  console.log(attributionTable(r.row.where));
  console.log(stageTable(r.rfb.metrics, r.rfb.viewerStages));
}

const checks = results.filter((r) => !r.failed).map((r) => [
  `${r.label} ${r.mode}`, `overhead ${ms(r.row.overheadMs)} <= ${TARGET_MS} ms`, r.row.overheadMs <= TARGET_MS ? "ok" : "MISS",
]);
console.log(`\nTarget (issue 14):\n${table(["config", "target", ""], checks)}`);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ results }, null, 2));
