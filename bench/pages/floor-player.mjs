// The floor's player: the access units `rfb dump-au` recorded, fed to a bare WebCodecs
// `VideoDecoder` at the stream's frame rate and drawn with `drawImage` on a 2D canvas, with
// nothing of rfb in between (no WebSocket, no postcard, no wasm, no frame policy). The
// same module runs on the page's main thread (floor.html) and in a dedicated worker on an
// OffscreenCanvas (floor-worker.mjs). Times are `performance.now()` of the thread it runs
// on; only durations leave it.
//
// It configures the decoder and the canvas the way rfb's viewer does for the same stream
// (client-wasm/src/web/video.rs `decoder_config`, web/surface.rs): Annex B (no
// `description`), `optimizeForLatency`, coded size, the colour space from the manifest; a
// 2D context with `alpha: false` and the stream's `colorSpace`; each decoded frame drawn
// as soon as the decoder outputs it, the letterbox filled first when the picture does not
// cover the canvas (fit=contain). After each draw the four quadrant centres are read back,
// as the latency bench's page hooks do for rfb's viewer (same cost in both), to check that
// the drawn picture is the test card the unit shows.

const PALETTE = [[220, 40, 40], [40, 200, 40], [40, 40, 220], [220, 200, 40]];

/** The palette index nearest to an RGBA pixel, or -1 (the latency hooks' rule). */
function nearest(px) {
  let best = -1;
  let bestErr = 60;
  PALETTE.forEach((c, i) => {
    const err = Math.max(Math.abs(c[0] - px[0]), Math.abs(c[1] - px[1]), Math.abs(c[2] - px[2]));
    if (err < bestErr) {
      bestErr = err;
      best = i;
    }
  });
  return best;
}

/** The test card's colour phase (seq % 4) drawn in `rect` of `ctx`, or -1. */
function phaseOf(ctx, rect) {
  const idx = [0, 1, 2, 3].map((q) => {
    const x = Math.floor(rect.x + (((q % 2) * 2 + 1) * rect.width) / 4);
    const y = Math.floor(rect.y + ((Math.floor(q / 2) * 2 + 1) * rect.height) / 4);
    return nearest(ctx.getImageData(x, y, 1, 1).data);
  });
  const phase = idx[0];
  return phase >= 0 && idx.every((i, q) => i === (phase + q) % 4) ? phase : -1;
}

/** Where a `w`x`h` picture goes in a `cw`x`ch` canvas: 1:1 at the origin, or contained. */
export function destination(fit, w, h, cw, ch) {
  if (fit !== "contain") return { x: 0, y: 0, width: w, height: h };
  const scale = Math.min(cw / w, ch / h);
  const width = w * scale;
  const height = h * scale;
  return { x: (cw - width) / 2, y: (ch - height) / 2, width, height };
}

/**
 * Plays the dump once. `manifest`: `rfb dump-au`'s manifest.json; `data`: its au.h264 as
 * an ArrayBuffer; `canvas`: an HTMLCanvasElement or OffscreenCanvas whose backing store
 * is already sized; `fit`: "1:1" or "contain". Resolves to `{ records, errors }`: per unit
 * `{ seq, keyframe, submitted, output, drawn, phase }` (ms on this thread's clock; a unit
 * never output has `output`/`drawn` null).
 */
export async function play({ manifest, data, canvas, fit }) {
  const ctx = canvas.getContext("2d", { alpha: false, colorSpace: manifest.canvas_color_space });
  const dest = destination(fit, manifest.width, manifest.height, canvas.width, canvas.height);
  const covered = dest.x <= 0 && dest.y <= 0 && dest.x + dest.width >= canvas.width && dest.y + dest.height >= canvas.height;
  const usPerFrame = 1e6 / manifest.fps;
  const records = manifest.units.map((u) => ({ seq: u.seq, keyframe: u.keyframe, submitted: null, output: null, drawn: null, phase: null }));
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  const errors = [];
  const decoder = new VideoDecoder({
    output(frame) {
      const output = performance.now();
      const r = bySeq.get(Math.round(frame.timestamp / usPerFrame));
      try {
        if (!covered) {
          ctx.fillStyle = "#111";
          ctx.fillRect(0, 0, canvas.width, canvas.height);
        }
        ctx.drawImage(frame, dest.x, dest.y, dest.width, dest.height);
      } finally {
        frame.close();
      }
      const drawn = performance.now();
      if (!r) {
        errors.push(`a frame with timestamp ${frame.timestamp} matches no unit`);
        return;
      }
      r.output = output;
      r.drawn = drawn;
      r.phase = phaseOf(ctx, dest);
    },
    error(e) {
      errors.push(`decoder: ${e.message ?? e}`);
    },
  });
  const space = manifest.color_space;
  decoder.configure({
    codec: manifest.codec,
    codedWidth: manifest.width,
    codedHeight: manifest.height,
    optimizeForLatency: true,
    colorSpace: { primaries: space.primaries, transfer: space.transfer, matrix: space.matrix, fullRange: space.full_range },
  });

  // Paced like a live stream: unit i is handed to the decoder at start + i / fps.
  const start = performance.now() + 100;
  const periodMs = 1000 / manifest.fps;
  for (let i = 0; i < manifest.units.length; i++) {
    const due = start + i * periodMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (decoder.state !== "configured") break;
    const u = manifest.units[i];
    const chunk = new EncodedVideoChunk({
      type: u.keyframe ? "key" : "delta",
      timestamp: Math.round(u.seq * usPerFrame),
      data: new Uint8Array(data, u.offset, u.bytes),
    });
    records[i].submitted = performance.now();
    decoder.decode(chunk);
  }
  if (decoder.state === "configured") await decoder.flush().catch((e) => errors.push(`flush: ${e.message ?? e}`));
  if (decoder.state !== "closed") decoder.close();
  return { records, errors };
}

/** Fetches a dump (`base`: the folder's URL, ending in /). */
export async function load(base) {
  const manifest = await (await fetch(`${base}manifest.json`)).json();
  const data = await (await fetch(`${base}${manifest.file}`)).arrayBuffer();
  return { manifest, data };
}
