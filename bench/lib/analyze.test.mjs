// Unit tests of the latency analysis' arithmetic (node --test bench/lib/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { latencies } from "./analyze.mjs";

/** A received frame message at page time `t` with publish timestamp `tsUs`. */
const frame = (t, seq, tsUs) => ({ t, seq, frameSeq: seq, tsUs, key: seq === 1, bytes: 1000 });

test("recv -> decode() pairs each decode call with its frame's first arrival, within the window", () => {
  const bench = {
    start: 0,
    frames: [frame(10, 1, 1000), frame(43, 2, 34_000), frame(44, 3, 34_000), frame(76, 4, 67_000), frame(1100, 5, 100_000)],
    acks: [],
    draws: [],
    decodes: [
      { t: 10.25, tsUs: 1000 },
      { t: 43.5, tsUs: 34_000 }, // the first message with that timestamp, not the second
      { t: 80, tsUs: 99_000 }, // no message carried it: not paired
      { t: 76.75, tsUs: 67_000 },
      { t: 1100.5, tsUs: 100_000 }, // after the 1 s window
    ],
  };
  const lat = latencies(bench, (f) => f.frameSeq, 0, 1);
  assert.equal(lat.handoff.n, 3);
  assert.equal(lat.handoff.p50, 0.5);
  assert.equal(lat.handoff.p95, 0.75);
});

test("a viewer without decode calls (images, the reference's worker) has no handoff", () => {
  const lat = latencies({ start: 0, frames: [frame(10, 1, 1000)], acks: [], draws: [] }, (f) => f.frameSeq, 0, 1);
  assert.equal(lat.handoff.n, 0);
  assert.ok(Number.isNaN(lat.handoff.p50));
});
