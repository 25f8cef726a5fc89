// The arithmetic of `npm run bench:floor` (issue 14, item 2): what the bare page and the
// encoder alone take, rfb's overhead over that floor, and which of rfb's stages holds it.
// Pure functions of what a run collected, tested in floor.test.mjs.
//
//   overhead = rfb publish->displayed p50 - (encoder alone p50 + bare decode+draw p50)
//
// The floor has no queue, socket, network or message handling: a unit goes from the
// encoder straight to `VideoDecoder.decode()`, and from the decoder's output straight to
// `drawImage`. So every ms of rfb's `queue`, `send` and `network` stages is overhead, and
// its `encode`, `decode` and `draw` stages are overhead by what they exceed the floor's
// encode, submitted -> output and output -> drawn. rfb's `/metrics` stages are means, so
// this attribution compares means with means (the overhead itself compares p50s).
import { mean, ms, quantile, table } from "./analyze.mjs";

/** p50, p95 and mean of a list of ms, and how many there were. */
export function spread(values) {
  return { p50: quantile(values, 0.5), p95: quantile(values, 0.95), mean: mean(values), n: values.length };
}

/** The encoder alone: `rfb dump-au`'s units (`encode_us`), after the first `skip`. */
export function encoderAlone(units, skip = 0) {
  return spread(units.slice(skip).map((u) => u.encode_us / 1000));
}

/**
 * The bare page's timings from its records `{ seq, submitted, output, drawn, phase }`
 * (ms, one thread's clock), after the first `skip` units (decoder and JIT warm-up):
 * submitted -> output (`decode`), output -> drawn (`draw`) and submitted -> drawn
 * (`decodeDraw`). `lost`: units never drawn; `wrongPicture`: drawn units whose read-back
 * colour phase is not their seq's (the test card's phase is seq % 4).
 */
export function bareFloor(records, skip = 0) {
  const measured = records.slice(skip);
  const drawn = measured.filter((r) => Number.isFinite(r.submitted) && Number.isFinite(r.output) && Number.isFinite(r.drawn));
  return {
    decode: spread(drawn.map((r) => r.output - r.submitted)),
    draw: spread(drawn.map((r) => r.drawn - r.output)),
    decodeDraw: spread(drawn.map((r) => r.drawn - r.submitted)),
    lost: measured.length - drawn.length,
    wrongPicture: drawn.filter((r) => r.phase !== r.seq % 4).length,
  };
}

/** `rfb - (encode + bare)`, all p50s in ms (NaN when any is missing). */
export function overhead(rfbP50, encodeP50, bareP50) {
  return rfbP50 - (encodeP50 + bareP50);
}

/** rfb's stages up to the display (its `ack` stage comes after it), and their floor. */
export const FLOOR_OF_STAGE = [
  ["queue", "publish -> encode start", () => 0],
  ["encode", "encode start -> end", (f) => f.encodeMean],
  ["send", "encode end -> socket write done", () => 0],
  // Both ways: the message's and its ACK's (the stage is the round trip less the viewer's
  // arrival -> ACK), so on loopback it overstates the way in by about half.
  ["network", "write done -> arrived, + the ACK's way back", () => 0],
  ["decode", "message arrived -> decoder output", (f) => f.decodeMean],
  ["draw", "decoder output -> drawn", (f) => f.drawMean],
];

/**
 * Per stage, rfb's mean (`stages`: `/metrics` `stages` of one session, `{ name: { mean_ms } }`)
 * against the floor's (`floor`: `{ encodeMean, decodeMean, drawMean }`) and the excess;
 * `holder` is the stage with the largest excess (null when no stage is known), `excessSum`
 * the sum of the known excesses.
 */
export function attribute(stages, floor) {
  const rows = FLOOR_OF_STAGE.map(([name, span, floorOf]) => {
    const rfbMs = stages?.[name]?.mean_ms ?? NaN;
    const floorMs = floorOf(floor);
    return { name, span, rfbMs, floorMs, excessMs: rfbMs - floorMs };
  });
  const known = rows.filter((r) => Number.isFinite(r.excessMs));
  const holder = known.reduce((best, r) => (best === null || r.excessMs > best.excessMs ? r : best), null);
  return { rows, holder: holder?.name ?? null, excessSum: known.reduce((a, r) => a + r.excessMs, 0) };
}

/**
 * One configuration's numbers: `encoder` (encoderAlone), `bare` (bareFloor), `rfb`:
 * `{ p50, stages }` (publish -> displayed p50 from the pixels, `/metrics` stages).
 */
export function floorRow(encoder, bare, rfb) {
  const over = overhead(rfb.p50, encoder.p50, bare.decodeDraw.p50);
  const where = attribute(rfb.stages, { encodeMean: encoder.mean, decodeMean: bare.decode.mean, drawMean: bare.draw.mean });
  return { encodeP50: encoder.p50, bare: bare.decodeDraw, rfbP50: rfb.p50, overheadMs: over, where };
}

/** The summary table: a row per `{ label, mode, row }` (`row` from floorRow, or `failed`). */
export function floorTable(results) {
  const rows = results.map(({ label, mode, row, failed }) => {
    if (failed) return [label, mode, "failed", "", "", "", "", ""];
    const holder = row.where.rows.find((r) => r.name === row.where.holder);
    return [
      label, mode,
      ms(row.encodeP50),
      `${ms(row.bare.p50)} / ${ms(row.bare.p95)}`,
      ms(row.rfbP50),
      ms(row.overheadMs),
      holder ? `${holder.name} +${ms(holder.excessMs)}` : "-",
      row.where.rows.map((r) => `${r.name} ${ms(r.excessMs)}`).join(", "),
    ];
  });
  return table(
    ["config", "mode", "encoder alone p50 ms", "bare decode+draw p50 / p95 ms", "rfb publish→displayed p50 ms",
      "overhead p50 ms", "held by (stage mean - floor)", "every stage: rfb mean - floor mean, ms"],
    rows,
  );
}

/** One configuration's stage table: rfb's mean, the floor's and the excess per stage. */
export function attributionTable(where) {
  const rows = where.rows.map((r) => [r.name, r.span, ms(r.rfbMs), ms(r.floorMs), ms(r.excessMs)]);
  rows.push(["sum", "publish -> drawn", "", "", ms(where.excessSum)]);
  return table(["stage", "from -> to", "rfb mean ms", "floor mean ms", "excess ms"], rows);
}
