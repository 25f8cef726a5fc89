// One latency run of rfb or the reference against one headless Chromium page, and the
// configuration syntax: shared by `npm run bench:latency` (latency.mjs) and
// `npm run bench:floor` (floor.mjs), which measures rfb's publish -> displayed with it.
import { chromium } from "@playwright/test";
import { CHROMIUM, cpuSeconds, machineCpu, startRef, startRfb, waitQuiet } from "./servers.mjs";
import { hooksScript } from "./hooks.mjs";
import { clockOffset, latencies } from "./analyze.mjs";

/** Headless Chromium's flags for every bench page: software decode and canvas. */
export const BROWSER_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

/** `WxH@FPS` or `WxH@FPS/WINWxWINH`. */
export function parseConfig(c, flag) {
  const m = /^(\d+)x(\d+)@(\d+)(?:\/(\d+)x(\d+))?$/.exec(c);
  if (!m) throw new Error(`${flag}: ${c} is not WIDTHxHEIGHT@FPS[/WINWxWINH]`);
  const [width, height, fps] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const window = m[4] ? { width: Number(m[4]), height: Number(m[5]) } : { width, height };
  return { width, height, fps, window };
}

/** `1280x720@30` or `1280x720@30 in 1300x740`. */
export const labelOf = (c) =>
  `${c.width}x${c.height}@${c.fps}${c.window.width === c.width && c.window.height === c.height ? "" : ` in ${c.window.width}x${c.window.height}`}`;

/** Presses keys on the focused canvas so the server stamps them (the clock sync). */
export async function keyPresses(page, count) {
  for (let i = 0; i < count; i++) {
    await page.keyboard.press("KeyA");
    await page.waitForTimeout(25);
  }
}

/**
 * One latency run (`npm run bench:latency`'s row): `impl` (`rfb`, `rfb-worker` or `ref`)
 * serving test_card at `config` to one headless Chromium page of `config.window`'s size,
 * measured for `seconds` once the machine is quiet (waiting at most `quietWait` s).
 * Returns the latencies (`latencies()` in analyze.mjs: `pixel` is publish -> displayed),
 * the servers' own numbers and, for rfb, its `/metrics` session (`metrics.stages`) and the
 * viewer's `stats().stages`.
 */
export async function runOne(impl, config, transport, pages, { seconds, quietWait }) {
  const { width, height, fps, window } = config;
  const quietBefore = await waitQuiet(0.15, quietWait);
  const isRfb = impl === "rfb" || impl === "rfb-worker";
  const server = isRfb
    ? await startRfb({ width, height, fps, worker: impl === "rfb-worker" })
    : await startRef({ width, height, fps, transport, pagesUrl: pages.url });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const page = await browser.newPage({ viewport: window });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.addInitScript({ content: hooksScript(isRfb ? "rfb" : impl) });
    await page.goto(server.pageUrl(transport));
    await page.waitForFunction(() => globalThis.__bench?.draws.length >= 30, null, { timeout: 30_000 });
    await page.mouse.click(window.width / 2, window.height / 2);
    await page.waitForTimeout(1000);
    await keyPresses(page, 20);
    await page.waitForTimeout(500);

    const start = await page.evaluate(() => globalThis.__bench.reset());
    const cpu0 = cpuSeconds(server.pid);
    const machine0 = machineCpu();
    const t0 = performance.now();
    await page.waitForTimeout(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(server.pid) - cpu0) / elapsed) * 100;
    const machine1 = machineCpu();
    // Everything busy on the machine during the window, in % of one core (2 cores = 200).
    const machineBusy = ((machine1.busy - machine0.busy) / elapsed) * 100;
    const bench = await page.evaluate(() => {
      const b = globalThis.__bench;
      return { frames: b.frames.slice(), acks: b.acks.slice(), draws: b.draws.slice(), decodes: (b.decodes ?? []).slice() };
    });
    bench.start = start;
    const metrics = await (await fetch(`${server.url}metrics`)).json();
    // rfb's viewer: its own stages over its last 5 s (the server's from its last Stats).
    const viewerStages = isRfb ? await page.evaluate(() => globalThis.rfbView?.stats().stages ?? null) : null;
    await keyPresses(page, 20);
    await page.waitForTimeout(500);

    const sync = clockOffset(await server.inputs());
    const patternSeq = isRfb ? (f) => f.frameSeq : (f) => server.patternSeq(f.tsUs);
    const lat = latencies(bench, patternSeq, sync.offsetMs, elapsed);
    const m = metrics[0] ?? {};
    return {
      impl, width, height, fps, window, transport, seconds: elapsed, cpuPercent: cpu, machineBusyPercent: machineBusy, quietBefore, sync, ...lat,
      server: {
        encodeMs: m.encode_ms, encodeP95Ms: m.encode_p95_ms, rttMs: m.rtt_ms, rttP95Ms: m.rtt_p95_ms,
        fpsSent: m.fps_sent, framesDropped: m.frames_dropped, transport: m.transport ?? null,
      },
      metrics: isRfb ? m : null,
      viewerStages,
      errors,
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}
