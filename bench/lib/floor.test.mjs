// Unit tests of the floor report's arithmetic (node --test bench/lib/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { attribute, attributionTable, bareFloor, encoderAlone, floorRow, floorTable, overhead, spread } from "./floor.mjs";

/** A bare-page record: submitted at `t`, output `decode` ms later, drawn `draw` ms after that. */
const rec = (seq, t, decode, draw, phase = seq % 4) => ({ seq, keyframe: false, submitted: t, output: t + decode, drawn: t + decode + draw, phase });

test("spread gives the nearest-rank p50 and p95, the mean and the count", () => {
  const s = spread([5, 1, 4, 2, 3]);
  assert.equal(s.p50, 3);
  assert.equal(s.p95, 5);
  assert.equal(s.mean, 3);
  assert.equal(s.n, 5);
  assert.ok(Number.isNaN(spread([]).p50));
});

test("the encoder alone is the dump's encode_us in ms, after the warm-up", () => {
  const units = [{ encode_us: 20_000 }, { encode_us: 4000 }, { encode_us: 5000 }, { encode_us: 6000 }];
  const e = encoderAlone(units, 1);
  assert.equal(e.p50, 5);
  assert.equal(e.n, 3);
  assert.equal(encoderAlone(units).p95, 20);
});

test("the bare floor splits submitted -> output -> drawn and skips the warm-up", () => {
  const records = [rec(1, 0, 50, 50), rec(2, 33, 1, 3), rec(3, 66, 2, 4), rec(4, 100, 3, 5)];
  const f = bareFloor(records, 1);
  assert.deepEqual([f.decode.p50, f.draw.p50, f.decodeDraw.p50], [2, 4, 6]);
  assert.equal(f.decodeDraw.p95, 8);
  assert.equal(f.decode.mean, 2);
  assert.equal(f.draw.mean, 4);
  assert.equal(f.lost, 0);
  assert.equal(f.wrongPicture, 0);
});

test("units never drawn are lost, and a drawn phase other than seq % 4 is a wrong picture", () => {
  const never = { seq: 3, keyframe: false, submitted: 66, output: null, drawn: null, phase: null };
  const f = bareFloor([rec(1, 0, 1, 1), rec(2, 33, 1, 1, 3), never]);
  assert.equal(f.lost, 1);
  assert.equal(f.wrongPicture, 1);
  assert.equal(f.decodeDraw.n, 2);
});

test("overhead is rfb's p50 less encode and bare decode+draw", () => {
  assert.equal(overhead(12.5, 4.5, 6), 2);
  assert.equal(overhead(9, 4.5, 6), -1.5);
  assert.ok(Number.isNaN(overhead(NaN, 4.5, 6)));
});

test("attribution charges queue, send and network in full and the rest above the floor", () => {
  const stages = {
    queue: { mean_ms: 0.2 }, encode: { mean_ms: 5 }, send: { mean_ms: 0.1 }, network: { mean_ms: 0.4 },
    decode: { mean_ms: 1.5 }, draw: { mean_ms: 6 }, ack: { mean_ms: 9 },
  };
  const a = attribute(stages, { encodeMean: 4.5, decodeMean: 1, drawMean: 3.5 });
  const excess = Object.fromEntries(a.rows.map((r) => [r.name, r.excessMs]));
  assert.deepEqual(Object.keys(excess), ["queue", "encode", "send", "network", "decode", "draw"], "ack comes after the display");
  assert.ok(Math.abs(excess.draw - 2.5) < 1e-9);
  assert.ok(Math.abs(excess.encode - 0.5) < 1e-9);
  assert.equal(excess.queue, 0.2);
  assert.equal(a.holder, "draw");
  assert.ok(Math.abs(a.excessSum - (0.2 + 0.5 + 0.1 + 0.4 + 0.5 + 2.5)) < 1e-9);
});

test("a stage the server did not report is left out of the holder and the sum", () => {
  const a = attribute({ encode: { mean_ms: 4 }, queue: { mean_ms: 0.3 } }, { encodeMean: 4.5, decodeMean: 1, drawMean: 3 });
  assert.equal(a.holder, "queue");
  assert.ok(Math.abs(a.excessSum - (0.3 - 0.5)) < 1e-9);
  assert.equal(attribute(undefined, { encodeMean: 1, decodeMean: 1, drawMean: 1 }).holder, null);
});

test("a row and its tables carry the numbers", () => {
  const encoder = encoderAlone([{ encode_us: 4000 }, { encode_us: 4500 }, { encode_us: 5000 }]);
  const bare = bareFloor([rec(1, 0, 1, 4), rec(2, 33, 1, 5), rec(3, 66, 1, 6)]);
  const row = floorRow(encoder, bare, { p50: 13, stages: { queue: { mean_ms: 0.5 }, draw: { mean_ms: 8 } } });
  assert.equal(row.encodeP50, 4.5);
  assert.equal(row.bare.p50, 6);
  assert.equal(row.overheadMs, 13 - 4.5 - 6);
  assert.equal(row.where.holder, "draw");
  const text = floorTable([{ label: "1280x720@30", mode: "in-thread", row }, { label: "1920x1080@30", mode: "worker", failed: "boom" }]);
  assert.match(text, /\| 1280x720@30 +\| in-thread +\| 4\.5 +\| 6\.0 \/ 7\.0 +\| 13\.0 +\| 2\.5 +\| draw \+3\.0 /);
  assert.match(text, /1920x1080@30 +\| worker +\| failed/);
  assert.match(attributionTable(row.where), /\| draw +\| decoder output -> drawn +\| 8\.0 +\| 5\.0 +\| 3\.0 +\|/);
});
