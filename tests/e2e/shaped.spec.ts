// A shaped link (relay.ts) between the server and the browser: a healthy phase, then a link
// slower than the stream, then healthy again. Everything is measured on the wire, in the
// relay (bytes queued, frames going down, ACKs coming up, with their times), plus what the
// page shows and what `/metrics` says:
//
// - while the link is slow, the data queued for the viewer stays bounded: the bottleneck's
//   standing queue (bytes past the propagation delay, waiting for bandwidth) stays within
//   2x the 250 ms target of the link's rate once the first second of the slow phase
//   (the transition) is over (the measured value is printed against the target);
// - the view keeps showing correct quadrant colours of recent frames;
// - the server drops frames (latest frame wins) and says so in `/metrics`;
// - after the link recovers, the viewer is current again fast: the first frame the server
//   sends after the first ACK that crosses the healthy link is decoded and displayed (its
//   ACK is back at the relay) soon after that ACK (printed against the 250 ms target,
//   asserted within 2x), and the frames skipped before it are resynced by a keyframe that
//   is on screen within the same bound;
// - no video frame on the wire depends on a picture the viewer did not get (its frame_num
//   continues the newest reference it received): skipped top-layer pictures need no keyframe.
import type { Page } from "@playwright/test";
import { test, expect, type RfbServer } from "./fixtures";
import { continuesReferences } from "./h264";
import { Relay, type RelayedMessage } from "./relay";
import { distinctFrames, expectQuadrants, near, openViewer, quadrantCentres, snapshot } from "./viewer";

/** One-way delay of the link, ms. */
const DELAY_MS = 10;
/** The targets for the standing queue and the resync: measured and printed. */
const TARGET_MS = 250;
/** What the tests assert: twice the target. Without the link budget the queue grows for
 * the whole slow phase (seconds) and a resync waits for the 2 s in-flight backstop, so this
 * still fails on the behaviour, but not on a noisy machine's scheduling jitter (a 266 ms
 * queue was seen once under a parallel build). */
const BOUND_MS = 2 * TARGET_MS;

const isFrame = (m: RelayedMessage) => m.dir === "down" && (m.variant === 1 || m.variant === 2);
const isAck = (m: RelayedMessage) => m.dir === "up" && m.variant === 1;

async function published(server: RfbServer): Promise<number> {
  const streams = await (await fetch(`${server.url}streams`)).json();
  return streams.find((s: any) => s.name === "default").frames_published;
}

async function sessionMetrics(server: RfbServer) {
  const [m] = await (await fetch(`${server.url}metrics`)).json();
  return m;
}

/** Samples the page every ~200 ms for `ms`: colours of the frame on screen and its lag
 * behind the publisher (in frames). */
async function watchView(page: Page, server: RfbServer, ms: number) {
  const out: { seq: number; lag: number; ok: boolean; pixels: number[][]; expected: number[][] }[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const latest = await published(server);
    const s = await snapshot(page, quadrantCentres(640, 480));
    const seq = s.stats.lastFrameSeq ?? 0;
    const ok = [0, 1, 2, 3].every((q) => near(s.pixels[q], s.expected[q]));
    out.push({ seq, lag: latest - seq, ok, pixels: s.pixels, expected: s.expected });
    await page.waitForTimeout(200);
  }
  return out;
}

interface Phase {
  transport: "video" | "image";
  /** The slow link as a fraction of the stream's own rate. */
  fraction: number;
}

async function shapedRun(page: Page, server: RfbServer, { transport, fraction }: Phase) {
  const relay = await Relay.start(server.port, { rateBytesPerSec: null, delayMs: DELAY_MS });
  try {
    // The page, its assets and its WebSocket all go through the relay.
    await openViewer(page, { ...server, url: relay.url }, { transport });

    // Healthy: how fast is the stream?
    await page.waitForTimeout(1500);
    const t0 = performance.now();
    await page.waitForTimeout(1500);
    const healthy = relay.messages.filter((m) => isFrame(m) && m.arrivedAt >= t0);
    const streamRate = (healthy.reduce((n, m) => n + m.bytes, 0) * 1000) / (performance.now() - t0);
    const rate = Math.round(streamRate * fraction);
    const before = await sessionMetrics(server);

    // Slow.
    relay.setLink({ rateBytesPerSec: rate });
    const slowAt = performance.now();
    await page.waitForTimeout(1000); // the first second: the queue the healthy link left drains
    const view = await watchView(page, server, 4000);
    const during = await sessionMetrics(server);
    const slowEnd = performance.now();

    // Healthy again.
    relay.setLink({ rateBytesPerSec: null });
    const recoveredAt = performance.now();
    await page.waitForTimeout(1500);
    const after = await distinctFrames(page, 8, () => quadrantCentres(640, 480));
    const lagAfter = (await published(server)) - ((await snapshot(page, [])).stats.lastFrameSeq ?? 0);

    // The queue while slow, once the transition is over: what was in flight when the link
    // slowed (sized for the healthy link) drains during the first second.
    const samples = relay.samples.filter((s) => s.at >= slowAt + 1000 && s.at < slowEnd);
    const maxStanding = Math.max(...samples.map((s) => s.standing));
    const maxQueued = Math.max(...samples.map((s) => s.bytes));
    const frames = relay.messages.filter(isFrame);
    const slowFrames = frames.filter((m) => m.arrivedAt >= slowAt && m.arrivedAt < slowEnd);
    const maxFrame = Math.max(...slowFrames.map((m) => m.bytes));

    // The resync: the first ACK that crosses the healthy link, the first frame the server
    // sent after it, and the ACK that says that frame is on screen.
    const acks = relay.messages.filter(isAck);
    const healthyAck = acks.find((m) => m.arrivedAt >= recoveredAt && m.deliveredAt !== undefined)!;
    const reply = frames.find((m) => m.arrivedAt >= healthyAck.deliveredAt!)!;
    const previous = frames[frames.indexOf(reply) - 1];
    const shown = acks.find((m) => (m.seq ?? 0) >= reply.seq!)!;
    const firstKey = frames.find((m) => m.arrivedAt >= healthyAck.deliveredAt! && m.keyframe);
    const keyShown = firstKey && acks.find((m) => (m.seq ?? 0) >= firstKey.seq!);

    const report = {
      transport,
      streamKBps: +(streamRate / 1000).toFixed(1),
      linkKBps: +(rate / 1000).toFixed(1),
      maxStandingBytes: maxStanding,
      maxStandingMs: +((maxStanding / rate) * 1000).toFixed(0),
      maxQueuedBytesInclDelay: maxQueued,
      largestFrameBytes: maxFrame,
      framesSentSlow: slowFrames.length,
      droppedSlow: during.frames_dropped - before.frames_dropped,
      keyframesSlow: slowFrames.filter((m) => m.keyframe).length,
      lagFrames: view.map((v) => v.lag),
      healthyAckMs: +(healthyAck.deliveredAt! - recoveredAt).toFixed(0),
      reply: { seq: reply.seq, frameSeq: reply.frameSeq, keyframe: reply.keyframe, skipped: reply.frameSeq! - previous.frameSeq! - 1 },
      replyShownMs: +(shown.arrivedAt - healthyAck.deliveredAt!).toFixed(0),
      firstKeyframeAfter: firstKey
        ? { seq: firstKey.seq, sentMs: +(firstKey.arrivedAt - healthyAck.deliveredAt!).toFixed(0), shownMs: keyShown ? +(keyShown.arrivedAt - healthyAck.deliveredAt!).toFixed(0) : null }
        : null,
      lagAfter,
      metrics: { dropped: during.frames_dropped, keyframes: during.keyframes_sent, rtt_p95_ms: during.rtt_p95_ms, lane_fallbacks: during.lane_fallbacks, inflight_timeouts: during.inflight_timeouts },
    };
    console.log(`shaped link: ${JSON.stringify(report)}`);
    return { report, view, after, reply, previous, shown, healthyAck, frames, acks };
  } finally {
    await relay.close();
  }
}

type ShapedResult = Awaited<ReturnType<typeof shapedRun>>;

/** Everything but the queue bound: drops, correct recent frames, the resync. */
function expectCorrectAndRecovered(
  { report, view, after, reply, shown, healthyAck, frames, acks }: ShapedResult,
  { transport, fraction }: Phase,
  maxLag: number,
) {
  // The link really was the bottleneck: frames were dropped for this viewer.
  expect(report.droppedSlow, "frames dropped while the link was slow").toBeGreaterThan(10);
  expect(report.framesSentSlow).toBeGreaterThan(0);

  // Correct colours of recent frames all along.
  expect(view.length).toBeGreaterThan(10);
  for (const v of view) {
    expect(v.ok, `frame_seq ${v.seq}: rgb ${JSON.stringify(v.pixels)} vs ${JSON.stringify(v.expected)}`).toBe(true);
    expect(v.lag, `frame_seq ${v.seq} is ${v.lag} frames behind the publisher`).toBeLessThanOrEqual(maxLag);
  }
  expect(new Set(view.map((v) => v.seq)).size, "the view kept moving").toBeGreaterThan(5);

  // Recovered: the first frame after the healthy ACK is on screen within the bound of it.
  const resyncMs = shown.arrivedAt - healthyAck.deliveredAt!;
  console.log(`shaped link: resync shown ${resyncMs.toFixed(0)} ms after the first healthy ACK (target ${TARGET_MS} ms)`);
  expect(resyncMs, "resync after the first healthy ACK, ms").toBeLessThanOrEqual(BOUND_MS);

  // Frames skipped for this viewer show as gaps in frame_seq on the wire.
  const upToReply = frames.slice(0, frames.indexOf(reply) + 1);
  const gaps = upToReply.flatMap((m, i) => (i > 0 && m.frameSeq! - upToReply[i - 1].frameSeq! > 1 ? [i] : []));
  expect(gaps.length, "frames skipped for this viewer show as gaps on the wire").toBeGreaterThan(0);

  // No video frame depends on a picture this viewer did not get: every delta frame's
  // frame_num continues the newest reference it received. Skipping top temporal layer
  // pictures (never referenced) needs no keyframe; a gap that lost a reference does.
  const lossy = new Set(gaps.filter((i) => frames[i].keyframe));
  if (transport === "video") {
    let lastRef: RelayedMessage | undefined;
    for (const [i, m] of frames.entries()) {
      if (m.variant !== 1) continue; // a still (ImageFrame) leaves the decoder's references alone
      expect(m.reference, `frame_seq ${m.frameSeq}: the relay read its slice header`).toBeDefined();
      if (!m.keyframe) {
        expect(lastRef, `frame_seq ${m.frameSeq}: a delta frame before any keyframe`).toBeDefined();
        const continues = continuesReferences(lastRef!.frameNum!, m.frameNum!, m.log2MaxFrameNum!);
        if (!continues) lossy.add(i);
        expect(continues, `frame_seq ${m.frameSeq} (frame_num ${m.frameNum}) continues the reference frame_seq ${lastRef!.frameSeq} (frame_num ${lastRef!.frameNum})`).toBe(true);
      }
      if (m.reference) lastRef = m;
    }
  }
  console.log(`shaped link: ${gaps.length} gaps up to the reply, ${lossy.size} resynced by a keyframe`);

  // The frames skipped before the last gap that lost a reference are resynced by a keyframe
  // (at once on a healthy link, once it is healthy again on a congested one), on screen by
  // the bound after the first healthy ACK (earlier, if it went while the link was slow). On
  // a link at 1/5 of the stream, a viewer cannot keep up by skipping the top layer alone.
  if (fraction <= 0.2) expect(lossy.size, "gaps that lost a reference (a link at 1/5)").toBeGreaterThan(0);
  const lastLossy = Math.max(-1, ...lossy);
  if (lastLossy >= 0) {
    const resync = frames[lastLossy];
    const resyncShown = acks.find((m) => (m.seq ?? 0) >= resync.seq!);
    expect(resyncShown, `the resync keyframe (seq ${resync.seq}) was displayed`).toBeDefined();
    expect(resyncShown!.arrivedAt - healthyAck.deliveredAt!, "resync keyframe shown after the first healthy ACK, ms")
      .toBeLessThanOrEqual(BOUND_MS);
  }
  expectQuadrants(after);
  expect(report.lagAfter, "current again").toBeLessThanOrEqual(3);
}

function expectBounded({ report }: ShapedResult) {
  console.log(`shaped link: standing queue at most ${report.maxStandingMs.toFixed(0)} ms of the link (target ${TARGET_MS} ms)`);
  expect(report.maxStandingMs, `standing queue (${report.maxStandingBytes} B at ${report.linkKBps} KB/s)`).toBeLessThanOrEqual(BOUND_MS);
}

for (const transport of ["video", "image"] as const) {
  test(`transport=${transport}, link at 1/2 of the stream: bounded, correct, recovers`, async ({ page, server }) => {
    const phase = { transport, fraction: 0.5 };
    const run = await shapedRun(page, server, phase);
    expectBounded(run);
    // A frame on screen is at most 500 ms old.
    expectCorrectAndRecovered(run, phase, 15);
  });

  test(`transport=${transport}, link at 1/5 of the stream: correct, recovers`, async ({ page, server }) => {
    // Frames take ~170 ms each on this link: the screen lags up to ~2 of them plus the ones
    // published meanwhile (about 700 ms).
    const phase = { transport, fraction: 0.2 };
    expectCorrectAndRecovered(await shapedRun(page, server, phase), phase, 21);
  });

  test(`transport=${transport}, link at 1/5 of the stream: queue bounded (target 250 ms)`, async ({ page, server }) => {
    // The server keeps what is in flight within 250 ms of what the link delivers once
    // round trips show queueing (server/src/session/link.rs).
    expectBounded(await shapedRun(page, server, { transport, fraction: 0.2 }));
  });
}
