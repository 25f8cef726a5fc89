// Instrumentation injected into a viewer page before its own code (`page.addInitScript`).
// It records, on the page's `performance.now()` clock:
//
// - every frame message the viewer's WebSocket receives (when, its seq, the publish
//   timestamp it carries, keyframe, size) and every ACK the viewer sends (when, which seq);
// - every draw onto a visible canvas (when) and the test card's colour phase it shows,
//   read back from the canvas right after the draw (the quadrant centres);
// - every `VideoDecoder.decode()` call (when, the chunk's timestamp): with the frame
//   messages, the viewer's own time from a message's arrival to handing its access unit
//   to the decoder (parsing, copies, bookkeeping).
//
// It understands both wire protocols: rfb's (postcard) and the reference's (uint32le
// length + JSON header; JSON text control messages). A viewer that keeps its socket in a
// worker (the reference's) gets the WebSocket part injected into the worker, which reports
// through a BroadcastChannel with its own time origin, converted here to the page's.
//
// Nothing here changes what the viewers do; the cost is a small parse per message and four
// 1x1 `getImageData` reads per draw (cheap on the software canvas `--disable-gpu` gives),
// the same for both viewers.

/** The hook, as a function whose source is injected (it must not close over anything). */
function benchHooks(impl, inWorker, selfSource) {
  const now = () => performance.now();
  const channel = new BroadcastChannel("rfb-bench");

  function varint(b, pos) {
    let value = 0;
    let shift = 0;
    while (pos < b.length) {
      const byte = b[pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return [value, pos];
      shift += 7;
    }
    return [NaN, pos];
  }

  /** A received message -> a frame record, or null. */
  function parseFrame(data, t) {
    if (!(data instanceof ArrayBuffer)) return null;
    if (impl === "rfb") {
      const b = new Uint8Array(data, 0, Math.min(64, data.byteLength));
      const [variant, p0] = varint(b, 0);
      if (variant !== 1 && variant !== 2) return null;
      const f = [];
      let p = p0;
      for (let i = 0; i < 5; i++) {
        const [v, next] = varint(b, p);
        f.push(v);
        p = next;
      }
      return { t, seq: f[0], frameSeq: f[1], tsUs: f[2], key: b[p] === 1, bytes: data.byteLength };
    }
    const n = new DataView(data).getUint32(0, true);
    const head = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, n)));
    if (head.type !== "video_chunk" && head.type !== "image_frame") return null;
    return { t, seq: head.seq, frameSeq: null, tsUs: head.timestamp_us, key: head.keyframe !== false, bytes: data.byteLength };
  }

  /** A sent message -> an ack record, or null. */
  function parseAck(data, t) {
    if (impl === "rfb") {
      const b = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : null;
      if (!b || b[0] !== 1) return null;
      return { t, seq: varint(b, 1)[0] };
    }
    if (typeof data !== "string" || !data.includes('"ack"')) return null;
    const msg = JSON.parse(data);
    if (msg.type !== "ack" || msg.displayed === false) return null;
    return { t, seq: msg.seq };
  }

  const store = inWorker
    ? {
        frame: (r) => channel.postMessage({ origin: performance.timeOrigin, frame: r }),
        ack: (r) => channel.postMessage({ origin: performance.timeOrigin, ack: r }),
        draw: (r) => channel.postMessage({ origin: performance.timeOrigin, draw: r }),
        decode: (r) => channel.postMessage({ origin: performance.timeOrigin, decode: r }),
      }
    : null;

  // Reads the test card's colour phase off a context right after a draw: quadrant q shows
  // palette[(q + seq) % 4], so the phase is seq % 4 (-1 when the four do not agree).
  const palette = [[220, 40, 40], [40, 200, 40], [40, 40, 220], [220, 200, 40]];
  const nearest = (px) => {
    let best = -1;
    let bestErr = 60;
    palette.forEach((c, i) => {
      const err = Math.max(Math.abs(c[0] - px[0]), Math.abs(c[1] - px[1]), Math.abs(c[2] - px[2]));
      if (err < bestErr) {
        bestErr = err;
        best = i;
      }
    });
    return best;
  };
  const phaseOf = (ctx, canvas) => {
    const idx = [0, 1, 2, 3].map((q) => {
      const x = Math.floor((((q % 2) * 2 + 1) * canvas.width) / 4);
      const y = Math.floor(((Math.floor(q / 2) * 2 + 1) * canvas.height) / 4);
      return nearest(ctx.getImageData(x, y, 1, 1).data);
    });
    const phase = idx[0];
    return phase >= 0 && idx.every((i, q) => i === (phase + q) % 4) ? phase : -1;
  };

  if (inWorker && impl === "rfb" && self.OffscreenCanvasRenderingContext2D) {
    // A viewer drawing in a worker (rfb's worker mode) draws on the page's transferred canvas.
    const drawInWorker = OffscreenCanvasRenderingContext2D.prototype.drawImage;
    OffscreenCanvasRenderingContext2D.prototype.drawImage = function (...args) {
      const result = drawInWorker.apply(this, args);
      const canvas = this.canvas;
      if (canvas.width >= 64 && canvas.height >= 64) store.draw({ t: now(), phase: phaseOf(this, canvas) });
      return result;
    };
  }

  if (!inWorker) {
    const bench = { frames: [], acks: [], draws: [], decodes: [], errors: [] };
    /** Starts a measurement window; returns its start on the page clock. */
    bench.reset = () => {
      bench.frames = [];
      bench.acks = [];
      bench.draws = [];
      bench.decodes = [];
      return now();
    };
    self.__bench = bench;
    self.__benchStore = {
      frame: (r) => bench.frames.push(r),
      ack: (r) => bench.acks.push(r),
      decode: (r) => bench.decodes.push(r),
    };
    channel.onmessage = (e) => {
      const shift = e.data.origin - performance.timeOrigin;
      if (e.data.frame) bench.frames.push({ ...e.data.frame, t: e.data.frame.t + shift });
      if (e.data.ack) bench.acks.push({ ...e.data.ack, t: e.data.ack.t + shift });
      if (e.data.draw) bench.draws.push({ ...e.data.draw, t: e.data.draw.t + shift });
      if (e.data.decode) bench.decodes.push({ ...e.data.decode, t: e.data.decode.t + shift });
    };

    // Workers get the WebSocket hook too.
    const NativeWorker = self.Worker;
    self.Worker = function (url, options) {
      const call = `(${selfSource})(${JSON.stringify(impl)}, true, ${JSON.stringify(selfSource)});\n`;
      // A module loads asynchronously: messages the page posts meanwhile are held and
      // replayed once the viewer's own code has installed its handler.
      const load = options && options.type === "module"
        ? `const early = []; const hold = (e) => { early.push(e.data); e.stopImmediatePropagation(); };
self.addEventListener("message", hold);
await import(${JSON.stringify(String(new URL(url, location.href)))});
self.removeEventListener("message", hold);
for (const data of early) self.dispatchEvent(new MessageEvent("message", { data }));`
        : `importScripts(${JSON.stringify(String(new URL(url, location.href)))});`;
      const blob = new Blob([call + load], { type: "text/javascript" });
      return new NativeWorker(URL.createObjectURL(blob), options);
    };
    self.Worker.prototype = NativeWorker.prototype;

    // Draws onto a visible canvas, and the colour phase they show.
    const draw = CanvasRenderingContext2D.prototype.drawImage;
    CanvasRenderingContext2D.prototype.drawImage = function (...args) {
      const result = draw.apply(this, args);
      const canvas = this.canvas;
      if (canvas.isConnected && canvas.width >= 64 && canvas.height >= 64) {
        const t = now();
        bench.draws.push({ t, phase: phaseOf(this, canvas) });
      }
      return result;
    };
  }

  const sink = inWorker ? store : self.__benchStore;
  const NativeWebSocket = self.WebSocket;
  class HookedWebSocket extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        try {
          const r = parseFrame(e.data, now());
          if (r) sink.frame(r);
        } catch (err) {
          /* not a frame */
        }
      });
    }
    send(data) {
      try {
        const r = parseAck(data, now());
        if (r) sink.ack(r);
      } catch (err) {
        /* not an ack */
      }
      return super.send(data);
    }
  }
  self.WebSocket = HookedWebSocket;

  // Access units handed to the decoder (chunk timestamps: rfb sets the frame's publish µs).
  if (self.VideoDecoder) {
    const decode = VideoDecoder.prototype.decode;
    VideoDecoder.prototype.decode = function (chunk) {
      try {
        sink.decode({ t: now(), tsUs: chunk.timestamp });
      } catch (err) {
        /* not measured */
      }
      return decode.call(this, chunk);
    };
  }
}

/** The init script for a page running the `impl` viewer (`rfb` or `ref`). */
export function hooksScript(impl) {
  const source = benchHooks.toString();
  return `(${source})(${JSON.stringify(impl)}, false, ${JSON.stringify(source)});`;
}
