// Measuring a viewer on a page whose main thread is busy part of the time (tests/apps/
// static/busy.html): the server's acknowledgements are sampled from outside the browser
// (`/metrics`, every few ms), and split by the page's busy periods (`window.busyLog`, wall
// clock). An ACK leaves the viewer once a frame is drawn, so acks inside a busy period are
// frames drawn while the page's main thread could not run anything. Shared by
// tests/e2e/busy.spec.ts and bench/busy.mjs.

/**
 * Samples the server's acknowledged-frame count (all sessions) every `everyMs` for
 * `durationMs`: `[{ at, span, acked }]`, `at` the wall-clock middle of the request and
 * `span` its duration (how uncertain `at` is).
 */
export async function sampleAcks(url, durationMs, everyMs = 20) {
  const samples = [];
  const stop = Date.now() + durationMs;
  while (Date.now() < stop) {
    const sent = Date.now();
    const sessions = await (await fetch(`${url}metrics`)).json();
    const received = Date.now();
    samples.push({ at: (sent + received) / 2, span: received - sent, acked: sessions.reduce((sum, s) => sum + s.frames_acked, 0) });
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - sent))));
  }
  return samples;
}

/**
 * Splits the acks between consecutive samples into busy and idle time: a pair counts as
 * busy when both lie inside one busy period shrunk by `marginMs` at each end, as idle when
 * it overlaps no busy period widened by `marginMs`; pairs across an edge, samples outside
 * the logged periods' span (a period is logged when it ends) and samples whose request
 * took more than `marginMs` (their time is that uncertain) are left out.
 * Returns `{ busy, idle, cycles }`: frames, milliseconds and frames per second, and per
 * busy period its frames and milliseconds.
 */
export function splitByLoad(samples, busyLog, marginMs = 30) {
  if (busyLog.length === 0) throw new Error("splitByLoad: the page logged no busy period");
  const first = busyLog[0].start;
  const last = busyLog[busyLog.length - 1].end;
  const within = (a, b) => busyLog.findIndex((p) => a >= p.start + marginMs && b <= p.end - marginMs);
  const overlaps = (a, b) => busyLog.some((p) => a <= p.end + marginMs && b >= p.start - marginMs);
  const busy = { frames: 0, ms: 0 };
  const idle = { frames: 0, ms: 0 };
  const cycles = busyLog.map(() => ({ frames: 0, ms: 0 }));
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1], samples[i]];
    if (a.at < first || b.at > last || a.span > marginMs || b.span > marginMs) continue;
    const frames = b.acked - a.acked;
    const ms = b.at - a.at;
    const period = within(a.at, b.at);
    if (period >= 0) {
      busy.frames += frames;
      busy.ms += ms;
      cycles[period].frames += frames;
      cycles[period].ms += ms;
    } else if (!overlaps(a.at, b.at)) {
      idle.frames += frames;
      idle.ms += ms;
    }
  }
  const fps = (p) => ({ ...p, fps: p.ms > 0 ? (p.frames * 1000) / p.ms : null });
  return { busy: fps(busy), idle: fps(idle), cycles: cycles.filter((c) => c.ms > 0) };
}
