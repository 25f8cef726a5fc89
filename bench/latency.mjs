// End-to-end latency benchmark (issue 5): each server publishes test_card to one headless
// Chromium viewer (its own viewer page) for N seconds; for rfb and the reference
// implementation, back to back, at each size/rate and transport. See bench/README.md.
//
//   npm run bench:latency -- [--seconds 20] [--configs 1280x720@30,1280x720@60,1920x1080@30]
//                            [--transports h264,jpeg] [--impls rfb,ref,rfb-worker] [--json FILE]
import fs from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "@playwright/test";
import { CHROMIUM, cpuSeconds, machineCpu, startPages, startRef, startRfb, waitQuiet } from "./lib/servers.mjs";
import { hooksScript } from "./lib/hooks.mjs";
import { clockOffset, latencies, ms, table } from "./lib/analyze.mjs";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    configs: { type: "string", default: "1280x720@30,1280x720@60,1920x1080@30" },
    transports: { type: "string", default: "h264,jpeg" },
    impls: { type: "string", default: "rfb,ref" },
    json: { type: "string" },
  },
});
const SECONDS = Number(opts.seconds);
const CONFIGS = opts.configs.split(",").map((c) => {
  const m = /^(\d+)x(\d+)@(\d+)$/.exec(c);
  if (!m) throw new Error(`--configs: ${c} is not WIDTHxHEIGHT@FPS`);
  return { width: Number(m[1]), height: Number(m[2]), fps: Number(m[3]) };
});
const TRANSPORTS = opts.transports.split(",");
const IMPLS = opts.impls.split(",");

export const BROWSER_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

/** Presses keys on the focused canvas so the server stamps them (the clock sync). */
async function keyPresses(page, count) {
  for (let i = 0; i < count; i++) {
    await page.keyboard.press("KeyA");
    await page.waitForTimeout(25);
  }
}

async function runOne(impl, { width, height, fps }, transport, pages) {
  const quietBefore = await waitQuiet();
  const isRfb = impl === "rfb" || impl === "rfb-worker";
  const server = isRfb
    ? await startRfb({ width, height, fps, worker: impl === "rfb-worker" })
    : await startRef({ width, height, fps, transport, pagesUrl: pages.url });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width, height } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.addInitScript({ content: hooksScript(isRfb ? "rfb" : impl) });
    await page.goto(server.pageUrl(transport));
    await page.waitForFunction(() => globalThis.__bench?.draws.length >= 30, null, { timeout: 30_000 });
    await page.mouse.click(width / 2, height / 2);
    await page.waitForTimeout(1000);
    await keyPresses(page, 20);
    await page.waitForTimeout(500);

    const start = await page.evaluate(() => globalThis.__bench.reset());
    const cpu0 = cpuSeconds(server.pid);
    const machine0 = machineCpu();
    const t0 = performance.now();
    await page.waitForTimeout(SECONDS * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(server.pid) - cpu0) / elapsed) * 100;
    const machine1 = machineCpu();
    // Everything busy on the machine during the window, in % of one core (2 cores = 200).
    const machineBusy = ((machine1.busy - machine0.busy) / elapsed) * 100;
    const bench = await page.evaluate(() => {
      const b = globalThis.__bench;
      return { frames: b.frames.slice(), acks: b.acks.slice(), draws: b.draws.slice() };
    });
    bench.start = start;
    const metrics = await (await fetch(`${server.url}metrics`)).json();
    await keyPresses(page, 20);
    await page.waitForTimeout(500);

    const sync = clockOffset(await server.inputs());
    const patternSeq = isRfb ? (f) => f.frameSeq : (f) => server.patternSeq(f.tsUs);
    const lat = latencies(bench, patternSeq, sync.offsetMs, elapsed);
    const m = metrics[0] ?? {};
    return {
      impl, width, height, fps, transport, seconds: elapsed, cpuPercent: cpu, machineBusyPercent: machineBusy, quietBefore, sync, ...lat,
      server: {
        encodeMs: m.encode_ms, encodeP95Ms: m.encode_p95_ms, rttMs: m.rtt_ms, rttP95Ms: m.rtt_p95_ms,
        fpsSent: m.fps_sent, framesDropped: m.frames_dropped, transport: m.transport ?? null,
      },
      errors,
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}

const pages = await startPages();
const results = [];
try {
  for (const config of CONFIGS) {
    for (const transport of TRANSPORTS) {
      for (const impl of IMPLS) {
        const label = `${impl} ${transport} ${config.width}x${config.height}@${config.fps}`;
        process.stderr.write(`running ${label} for ${SECONDS} s...\n`);
        try {
          const r = await runOne(impl, config, transport, pages);
          results.push(r);
          process.stderr.write(`  ${ms(r.fpsShown)} fps, pixels p50 ${ms(r.pixel.p50)} p95 ${ms(r.pixel.p95)} ms, ack p50 ${ms(r.ack.p50)} ms, cpu ${ms(r.cpuPercent)}%, clock drift ${ms(r.sync.driftMs)} ms\n`);
        } catch (e) {
          process.stderr.write(`  failed: ${e.stack ?? e}\n`);
          results.push({ impl, ...config, transport, failed: String(e.message ?? e) });
        }
      }
    }
  }
} finally {
  await pages.close();
}

const rows = results.map((r) =>
  r.failed
    ? [r.impl, r.transport, `${r.width}x${r.height}@${r.fps}`, "failed", "", "", "", "", "", "", "", ""]
    : [
        r.impl, r.transport, `${r.width}x${r.height}@${r.fps}`,
        ms(r.fpsShown),
        `${ms(r.pixel.p50)} / ${ms(r.pixel.p95)}`,
        `${ms(r.ack.p50)} / ${ms(r.ack.p95)}`,
        `${ms(r.server.encodeMs)} + ${ms(r.server.rttMs)}`,
        `${ms(r.receiveToDisplay.p50)} / ${ms(r.receiveToDisplay.p95)}`,
        ms(r.cpuPercent),
        ms(r.machineBusyPercent),
        `${r.server.framesDropped ?? "-"}`,
        `${r.keyframes}/${r.framesReceived}`,
      ],
);
console.log(`\nEnd-to-end latency, ${SECONDS} s per row, test_card, one headless Chromium viewer (--disable-gpu) per server, ${new Date().toISOString()}`);
console.log(table(
  ["impl", "codec", "size@fps", "fps shown", "publish→display px p50/p95 ms", "publish→ack p50/p95 ms",
    "server encode+rtt ms", "recv→display p50/p95 ms", "server CPU %", "machine CPU %", "dropped", "key/recv"],
  rows,
));
console.log("\npublish→display px: publish time (frame timestamp, display clock) to the draw that put the frame's colours on the canvas,");
console.log("  the frame identified by the test card's colour phase read back from the canvas; clocks synced through input events.");
console.log("publish→ack: publish time to the viewer sending the ACK of that frame. server encode+rtt: the server's own /metrics means");
console.log("  (rfb: 3 s window; reference: moving average). server CPU %: of one core, /proc/<pid>/stat over the run;");
console.log("  machine CPU %: everything (server, browser, bench, anything else) over the run, of one core (2 cores = 200).");

// The targets of issue 5, per configuration.
const find = (impl, t, c) => results.find((r) => !r.failed && r.impl === impl && r.transport === t && r.width === c.width && r.height === c.height && r.fps === c.fps);
const checks = [];
for (const c of CONFIGS) {
  for (const t of TRANSPORTS) {
    const ours = find("rfb", t, c);
    const ref = find("ref", t, c);
    if (!ours) continue;
    const minFps = c.fps >= 60 ? 55 : 29;
    checks.push([`${t} ${c.width}x${c.height}@${c.fps}`, `fps ${ms(ours.fpsShown)} >= ${minFps}`, ours.fpsShown >= minFps ? "ok" : "MISS"]);
    checks.push(["", `p95 ${ms(ours.pixel.p95)} <= 20 ms`, ours.pixel.p95 <= 20 ? "ok" : "MISS"]);
    if (ref) {
      const bound = 0.6 * ref.pixel.p50;
      checks.push(["", `p50 ${ms(ours.pixel.p50)} <= 0.6 x ref ${ms(ref.pixel.p50)} = ${ms(bound)} ms`, ours.pixel.p50 <= bound ? "ok" : "MISS"]);
    }
  }
}
console.log(`\nTargets (issue 5):\n${table(["config", "target", ""], checks)}`);
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(results, null, 2));
