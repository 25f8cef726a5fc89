// Many-viewer benchmark (issue 6): N real headless Chromium viewers (one browser, one
// context and page each) on one test_card display, for rfb and the reference back to back;
// per viewer: frames shown per second, drops, round trips, publish -> display latency.
// See bench/README.md.
//
//   npm run bench:viewers -- [--viewers 4] [--seconds 20] [--size 1280x720] [--fps 30]
//                            [--transport h264] [--impls rfb,ref] [--json FILE]
import fs from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "@playwright/test";
import { CHROMIUM, cpuSeconds, machineCpu, startPages, startRef, startRfb, waitQuiet } from "./lib/servers.mjs";
import { hooksScript } from "./lib/hooks.mjs";
import { clockOffset, latencies, mean, ms, table } from "./lib/analyze.mjs";

const { values: opts } = parseArgs({
  options: {
    viewers: { type: "string", default: "4" },
    seconds: { type: "string", default: "20" },
    size: { type: "string", default: "1280x720" },
    fps: { type: "string", default: "30" },
    transport: { type: "string", default: "h264" },
    impls: { type: "string", default: "rfb,ref" },
    json: { type: "string" },
  },
});
const VIEWERS = Number(opts.viewers);
const SECONDS = Number(opts.seconds);
const [WIDTH, HEIGHT] = opts.size.split("x").map(Number);
const FPS = Number(opts.fps);
const BROWSER_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

/** Pids of `root` and all its descendants. */
function processTree(root) {
  const children = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone
    }
  }
  const out = [];
  const walk = (pid) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** CPU seconds of every process this script started except the server: the browser's. */
function browserCpu(serverPid) {
  const server = new Set(processTree(serverPid));
  return processTree(process.pid)
    .filter((pid) => pid !== process.pid && !server.has(pid))
    .reduce((sum, pid) => {
      try {
        return sum + cpuSeconds(pid);
      } catch {
        return sum;
      }
    }, 0);
}

async function runOne(impl, pages) {
  const quietBefore = await waitQuiet();
  const config = { width: WIDTH, height: HEIGHT, fps: FPS, transport: opts.transport };
  const server = impl === "rfb" ? await startRfb(config) : await startRef({ ...config, pagesUrl: pages.url });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const viewers = [];
    for (let i = 0; i < VIEWERS; i++) {
      const context = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT } });
      const page = await context.newPage();
      await page.addInitScript({ content: hooksScript(impl) });
      await page.goto(server.pageUrl(opts.transport));
      // One at a time, so the server's sessions are in viewer order.
      await page.waitForFunction(() => globalThis.__bench?.draws.length >= 10, null, { timeout: 60_000 });
      viewers.push(page);
    }
    // Clock sync through the first viewer; the others' clocks differ by their time origins.
    const first = viewers[0];
    await first.mouse.click(WIDTH / 2, HEIGHT / 2);
    await first.waitForTimeout(500);
    for (let i = 0; i < 20; i++) {
      await first.keyboard.press("KeyA");
      await first.waitForTimeout(25);
    }
    await first.waitForTimeout(1000);
    const before = await (await fetch(`${server.url}metrics`)).json();
    const starts = [];
    for (const page of viewers) starts.push(await page.evaluate(() => globalThis.__bench.reset()));
    const cpu0 = cpuSeconds(server.pid);
    const bcpu0 = browserCpu(server.pid);
    const machine0 = machineCpu();
    const t0 = performance.now();
    const samples = [];
    while (performance.now() - t0 < SECONDS * 1000) {
      await new Promise((r) => setTimeout(r, 2000));
      samples.push(await (await fetch(`${server.url}metrics`)).json());
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(server.pid) - cpu0) / elapsed) * 100;
    const bcpu = ((browserCpu(server.pid) - bcpu0) / elapsed) * 100;
    const machineBusy = ((machineCpu().busy - machine0.busy) / elapsed) * 100;
    const after = samples.at(-1);
    const sync = clockOffset(await server.inputs());
    const origin0 = await first.evaluate(() => performance.timeOrigin);
    const patternSeq = impl === "rfb" ? (f) => f.frameSeq : (f) => server.patternSeq(f.tsUs);

    const rows = [];
    for (const [i, page] of viewers.entries()) {
      const { bench, origin } = await page.evaluate(() => ({
        bench: { frames: globalThis.__bench.frames, acks: globalThis.__bench.acks, draws: globalThis.__bench.draws },
        origin: performance.timeOrigin,
      }));
      bench.start = starts[i];
      // A time on this page's clock is (origin - origin0) later on the first page's.
      const lat = latencies(bench, patternSeq, sync.offsetMs + (origin - origin0), elapsed);
      rows.push({ viewer: i + 1, ...lat });
    }
    // Sessions, in connection order (client ids / ages), which is viewer order.
    const sessionsAt = (list) => [...list].sort((a, b) => (a.client_id ?? 0) - (b.client_id ?? 0) || (b.elapsed_s ?? 0) - (a.elapsed_s ?? 0));
    const sBefore = sessionsAt(before);
    const sAfter = sessionsAt(after);
    const perSession = sAfter.map((s, k) => ({
      dropped: s.frames_dropped - (sBefore[k]?.frames_dropped ?? 0),
      layerSkips: s.layer_skips === undefined ? undefined : s.layer_skips - (sBefore[k]?.layer_skips ?? 0),
      sent: s.frames_sent - (sBefore[k]?.frames_sent ?? 0),
      rttMean: mean(samples.map((list) => sessionsAt(list)[k]?.rtt_ms).filter(Number.isFinite)),
      rttP95: impl === "rfb" ? Math.max(...samples.map((list) => sessionsAt(list)[k]?.rtt_p95_ms ?? 0)) : NaN,
      shared: s.shared_encoder,
      fallbacks: s.lane_fallbacks,
    }));
    return { impl, viewers: VIEWERS, seconds: elapsed, cpuPercent: cpu, browserCpuPercent: bcpu, machineBusyPercent: machineBusy, quietBefore, sync, rows, perSession };
  } finally {
    await browser.close();
    await server.stop();
  }
}

const pages = await startPages();
const results = [];
try {
  for (const impl of opts.impls.split(",")) {
    process.stderr.write(`running ${impl}: ${VIEWERS} viewers, ${opts.transport} ${WIDTH}x${HEIGHT}@${FPS}, ${SECONDS} s...\n`);
    results.push(await runOne(impl, pages));
  }
} finally {
  await pages.close();
}

const out = [];
for (const r of results) {
  for (const [k, v] of r.rows.entries()) {
    const s = r.perSession[k] ?? {};
    out.push([
      r.impl, v.viewer, ms(v.fpsShown), `${s.sent ?? "-"}`,
      `${s.dropped ?? "-"}${s.layerSkips === undefined ? "" : ` (${s.layerSkips})`}`, `${v.keyframes}`,
      `${ms(s.rttMean)}${Number.isFinite(s.rttP95) ? ` / ${ms(s.rttP95)}` : ""}`,
      `${ms(v.ack.p50)} / ${ms(v.ack.p95)}`,
      `${ms(v.pixel.p50)} / ${ms(v.pixel.p95)}`,
      s.shared === undefined ? "-" : `${s.shared ? "shared" : "own"}, ${s.fallbacks} fallbacks`,
      k === 0 ? ms(r.cpuPercent) : "", k === 0 ? ms(r.browserCpuPercent) : "", k === 0 ? ms(r.machineBusyPercent) : "",
    ]);
  }
}
console.log(`\n${VIEWERS} headless Chromium viewers on one ${opts.transport} ${WIDTH}x${HEIGHT}@${FPS} test_card display, ${SECONDS} s, ${new Date().toISOString()}`);
console.log(table(
  ["impl", "viewer", "fps shown", "frames sent", "dropped (layer-1 skips)", "keyframes", "rtt mean / p95 ms (server)", "publish→ack p50/p95 ms", "publish→display px p50/p95 ms", "encoder (end)", "server CPU %", "browser CPU %", "machine CPU %"],
  out,
));
console.log("\ndropped: published frames the server never sent that viewer (its /metrics, over the run); in brackets the ones it");
console.log("  skipped as temporal layer 1 (rfb: no keyframe needed); the rest the shared encoder never encoded (busy: latest frame wins).");
console.log("keyframes: received by the page over the run. rtt: the server's ACK round");
console.log("  trip (send -> displayed); rfb: mean of 2 s samples of its 3 s window mean / worst 95th percentile; reference: its moving average.");
console.log("encoder: whether the viewer ended on the shared encode (lane) or its own, and how often it fell off the lane (rfb).");
console.log("CPU %: of one core (the machine has 2), /proc over the run; browser = every Chromium process; machine = everything.");
const ours = results.find((r) => r.impl === "rfb");
if (ours) {
  const checks = ours.rows.map((v, k) => [`viewer ${v.viewer}`, `fps ${ms(v.fpsShown)} >= 27, dropped ${ours.perSession[k]?.dropped} <= 2`,
    v.fpsShown >= 27 && (ours.perSession[k]?.dropped ?? Infinity) <= 2 ? "ok" : "MISS"]);
  console.log(`\nTargets (issue 6):\n${table(["rfb", "target", ""], checks)}`);
  // Issue 14's, for 4 viewers: >= 29 fps, <= 2 drops and <= 3 keyframes each, mean send -> ACK
  // (the server's rtt) below the reference's in the same run.
  const ref = results.find((r) => r.impl === "ref");
  const refRtt = ref ? mean(ref.perSession.map((s) => s.rttMean).filter(Number.isFinite)) : NaN;
  const latest = ours.rows.map((v, k) => {
    const s = ours.perSession[k] ?? {};
    const ok = v.fpsShown >= 29 && s.dropped <= 2 && v.keyframes <= 3 && (!Number.isFinite(refRtt) || s.rttMean < refRtt);
    const rtt = Number.isFinite(refRtt) ? `, rtt ${ms(s.rttMean)} < ref ${ms(refRtt)}` : `, rtt ${ms(s.rttMean)} (no reference run)`;
    return [`viewer ${v.viewer}`, `fps ${ms(v.fpsShown)} >= 29, dropped ${s.dropped} <= 2, keyframes ${v.keyframes} <= 3${rtt}`, ok ? "ok" : "MISS"];
  });
  console.log(`\nTargets (issue 14, 4 viewers):\n${table(["rfb", "target", ""], latest)}`);
}
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(results, null, 2));
