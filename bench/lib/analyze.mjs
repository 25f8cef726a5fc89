// Turning what the page hooks and the servers recorded into latencies.
//
// Clocks: frames carry `timestamp_us`, their publish time on the display's clock, and the
// display stamps every input event it receives on the same clock (`received_us`). The
// viewers send each key event's `event.timeStamp` (the page's performance clock). So for
// a key event, received_us/1000 - timestamp*1000 = offset + (page -> server delay); the
// minimum over a few dozen key presses is the offset between the two clocks, off by at
// most the smallest one-way delay of a WebSocket message on loopback (well under 1 ms),
// and in the direction of making latencies look longer, for both implementations alike.

export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((sorted.length - 1) * q)))];
}

export const mean = (values) => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);

/**
 * The display-clock minus page-clock offset (ms), from key-down events
 * `{ receivedUs, timestamp, type }`; also the spread between the first and second half of
 * the samples (clock drift plus noise).
 */
export function clockOffset(inputs) {
  const keys = inputs.filter((e) => e.type === "key_down" && typeof e.timestamp === "number");
  if (keys.length < 5) throw new Error(`clock sync needs key events, got ${keys.length}`);
  const offsets = keys.map((e) => e.receivedUs / 1000 - e.timestamp * 1000);
  const half = Math.floor(offsets.length / 2);
  const first = Math.min(...offsets.slice(0, half));
  const second = Math.min(...offsets.slice(half));
  return { offsetMs: Math.min(first, second), driftMs: second - first, samples: offsets.length };
}

/**
 * Latencies of one run. `bench`: the page's `{ frames, acks, draws }` and `start` (page
 * clock) of the window, which lasts `seconds`; `patternSeq(frame)`: the test card seq a
 * received frame shows; `offsetMs`: from `clockOffset`.
 */
export function latencies(bench, patternSeq, offsetMs, seconds) {
  const end = bench.start + seconds * 1000;
  const inWindow = (r) => r.t <= end;
  const frames = bench.frames.filter(inWindow);
  const acks = bench.acks.filter(inWindow);
  const draws = bench.draws.filter(inWindow);
  const publishedAt = (f) => f.tsUs / 1000 - offsetMs;

  // ACKs: each displayed frame is acknowledged with its own seq by both viewers.
  const ackAt = new Map();
  for (const a of acks) if (!ackAt.has(a.seq)) ackAt.set(a.seq, a.t);
  const ack = [];
  for (const f of frames) {
    const t = ackAt.get(f.seq);
    if (t !== undefined) ack.push(t - publishedAt(f));
  }

  // Pixels: a draw whose colour phase differs from the previous draw's shows a new frame:
  // the newest frame received before it with that phase (never older than the last match).
  const withSeq = frames.map((f) => ({ ...f, pattern: patternSeq(f) })).filter((f) => Number.isFinite(f.pattern));
  const pixel = [];
  const receiveToDisplay = [];
  let lastPhase = null;
  let lastIndex = -1;
  let unmatched = 0;
  let newFrames = 0;
  for (const d of draws) {
    if (d.phase < 0 || d.phase === lastPhase) continue;
    lastPhase = d.phase;
    newFrames++;
    let match = -1;
    for (let i = withSeq.length - 1; i > lastIndex; i--) {
      const f = withSeq[i];
      if (f.t <= d.t && f.pattern % 4 === d.phase) {
        match = i;
        break;
      }
    }
    if (match < 0) {
      unmatched++;
      continue;
    }
    lastIndex = match;
    pixel.push(d.t - publishedAt(withSeq[match]));
    receiveToDisplay.push(d.t - withSeq[match].t);
  }
  // The viewer's own handling before the decoder: message arrival -> `decode()` called for
  // the access unit with that frame's timestamp (first arrival of each timestamp).
  const arrivedAt = new Map();
  for (const f of frames) if (!arrivedAt.has(f.tsUs)) arrivedAt.set(f.tsUs, f.t);
  const handoff = [];
  for (const d of (bench.decodes ?? []).filter(inWindow)) {
    const t = arrivedAt.get(d.tsUs);
    if (t !== undefined && d.t >= t) handoff.push(d.t - t);
  }
  const firstDraw = draws.find((d) => d.phase >= 0);
  return {
    fpsShown: newFrames / seconds,
    framesReceived: frames.length,
    keyframes: frames.filter((f) => f.key).length,
    pixel: { p50: quantile(pixel, 0.5), p95: quantile(pixel, 0.95), n: pixel.length, unmatched },
    ack: { p50: quantile(ack, 0.5), p95: quantile(ack, 0.95), n: ack.length },
    receiveToDisplay: { p50: quantile(receiveToDisplay, 0.5), p95: quantile(receiveToDisplay, 0.95) },
    handoff: { p50: quantile(handoff, 0.5), p95: quantile(handoff, 0.95), n: handoff.length },
    firstDrawAt: firstDraw?.t,
  };
}

/** A fixed-width text table. */
export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  return [line(headers), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

export const ms = (v) => (Number.isFinite(v) ? v.toFixed(1) : "-");
export const ms2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : "-");
