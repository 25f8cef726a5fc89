// The per-stage report of `npm run bench:latency`: one table per configuration from rfb's
// `/metrics` (`stages`: means and p95 over the server's last 3 s, the viewer's durations
// from its ACKs) and the viewer's own `stats().stages` (its last 5 s), and the
// input -> photon table. Pure: it formats what the run collected.
import { ms, table } from "./analyze.mjs";

/** The stages in a frame's order: name, from -> to, who measures it. */
export const STAGES = [
  ["queue", "publish -> encode start", "server"],
  ["encode", "encode start -> end", "server"],
  ["send", "encode end -> socket write done", "server"],
  ["network", "write done -> ACK received, less the viewer's receive -> ACK", "server - viewer"],
  ["decode", "message arrived -> decoder output", "viewer"],
  ["draw", "decoder output -> drawn", "viewer"],
  ["ack", "drawn -> ACK sent", "viewer"],
];

/** The viewer's own field for a stage in `stats().stages` (server stages: its Stats). */
const VIEWER_FIELD = {
  queue: "queueMs",
  encode: "encodeMs",
  send: "sendMs",
  network: "networkMs",
  decode: "decodeMs",
  draw: "drawMs",
  ack: "ackMs",
};

/**
 * One configuration's table: a row per stage with the server's mean and p95 (`metrics`:
 * one session of `/metrics`) and what the viewer's stats say (`viewer`: `stats().stages`),
 * then the sum of the means against the server's publish -> ACK.
 */
export function stageTable(metrics, viewer) {
  const rows = STAGES.map(([name, span, who]) => {
    const s = metrics?.stages?.[name];
    const v = viewer?.[VIEWER_FIELD[name]];
    return [name, span, who, ms(s?.mean_ms), ms(s?.p95_ms), s?.samples ?? "-", ms(v ?? NaN)];
  });
  const sum = STAGES.reduce((acc, [name]) => acc + (metrics?.stages?.[name]?.mean_ms ?? NaN), 0);
  rows.push(["sum", "publish -> ACK received", "", ms(sum), "", "", ""]);
  rows.push(["latency_ms", "publish -> ACK received (server's own)", "server", ms(metrics?.latency_ms), ms(metrics?.latency_p95_ms), "", ""]);
  return table(["stage", "from -> to", "measured by", "mean ms", "p95 ms", "frames", "viewer stats ms"], rows);
}

/** The input -> photon table: a row per run `{ transport, viewer, server, stages }`. */
export function photonTable(runs) {
  const rows = runs.map((r) =>
    r.failed
      ? [r.transport, "failed", "", "", "", "", "", ""]
      : [
          r.transport,
          `${r.viewer?.samples ?? 0}`,
          `${ms(r.viewer?.p50Ms)} / ${ms(r.viewer?.p95Ms)}`,
          `${ms(r.server?.p50_ms)} / ${ms(r.server?.p95_ms)}`,
          `${r.moves} (${(r.moves / r.seconds).toFixed(0)}/s)`,
          r.inputToPublish?.samples ? `${ms(r.inputToPublish.mean_ms)} / ${ms(r.inputToPublish.p95_ms)}` : "-",
          STAGES.map(([name]) => ms(r.stages?.[name]?.mean_ms)).join(" + "),
          ms(r.latencyMs),
        ],
  );
  return table(
    ["codec", "samples (viewer, last 5 s)", "input→photon p50 / p95 ms (viewer)", "server's last report p50 / p95 ms",
      "mouse moves", "input→publish mean / p95 ms (server)", `stage means ms (${STAGES.map(([n]) => n).join(" + ")})`, "publish→ACK mean ms"],
    rows,
  );
}
