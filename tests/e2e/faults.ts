// Fault injection for the viewer's video decoder. `installDecoderFaults` runs before the
// page's code (`page.addInitScript`) and replaces `window.VideoDecoder` with a subclass that
// behaves exactly like the browser's until the test arms a fault through
// `window.__rfbFaults.arm(kind)`; the next `decode()` call then misbehaves once:
//
// - `throw`:   `decode()` throws an `OperationError` synchronously;
// - `stall`:   that decoder instance accepts every chunk from now on and never outputs a
//              frame (its `decodeQueueSize` grows), like a wedged hardware decoder;
// - `corrupt`: the chunk's bytes are replaced by garbage claiming to be a keyframe, so the
//              real decoder fails asynchronously (`error` callback, decoder closed).
//
// Only the decoder the fault hit is affected: a decoder built afterwards is healthy. The
// record in `__rfbFaults` (decoders built, outputs, each injection with its time, the key
// chunks decoded and when their frames came out) lets the test time the recovery.

export type DecoderFault = "throw" | "stall" | "corrupt";

export interface FaultRecord {
  kind: DecoderFault;
  /** `performance.now()` of the injection. */
  at: number;
  /** The chunk's timestamp (µs). */
  timestamp: number;
  /** Which decoder instance (1-based). */
  decoder: number;
}

export interface FaultState {
  decoders: number;
  outputs: number;
  injected: FaultRecord[];
  /** Key chunks handed to a decoder: timestamp, decoder, when, and when its frame came out. */
  keys: { timestamp: number; decoder: number; at: number; outputAt: number | null }[];
}

export const installDecoderFaults = () => {
  // `globalThis`: the page's window, or a worker's scope (`workerFaultBootstrap`).
  const w = globalThis as any;
  const Original = w.VideoDecoder;
  if (!Original) return;
  const state = {
    decoders: 0,
    outputs: 0,
    injected: [] as any[],
    keys: [] as any[],
    armed: null as string | null,
    arm(kind: string) {
      state.armed = kind;
    },
  };
  w.__rfbFaults = state;
  w.VideoDecoder = class extends Original {
    #id: number;
    #stalled = false;
    #held = 0;
    constructor(init: any) {
      const id = ++state.decoders;
      super({
        ...init,
        output: (frame: any) => {
          state.outputs++;
          const key = state.keys.find((k: any) => k.decoder === id && k.timestamp === frame.timestamp && k.outputAt === null);
          if (key) key.outputAt = performance.now();
          init.output(frame);
        },
      });
      this.#id = id;
    }
    get decodeQueueSize() {
      return super.decodeQueueSize + this.#held;
    }
    decode(chunk: any) {
      if (this.#stalled) {
        this.#held++;
        return;
      }
      const kind = state.armed;
      if (kind !== null) {
        state.armed = null;
        state.injected.push({ kind, at: performance.now(), timestamp: chunk.timestamp, decoder: this.#id });
        if (kind === "throw") {
          throw new DOMException("injected fault: decode() threw", "OperationError");
        }
        if (kind === "stall") {
          this.#stalled = true;
          this.#held++;
          return;
        }
        if (kind === "corrupt") {
          const bad = new Uint8Array(200).map((_, i) => (i * 37 + 11) & 255);
          bad.set([0, 0, 0, 1, 0x67, 0x42, 0xff, 0xff, 0xff, 0xff], 0);
          return super.decode(new w.EncodedVideoChunk({ type: "key", timestamp: chunk.timestamp, data: bad }));
        }
      }
      if (chunk.type === "key") {
        state.keys.push({ timestamp: chunk.timestamp, decoder: this.#id, at: performance.now(), outputAt: null });
      }
      return super.decode(chunk);
    }
  };
};

/**
 * Worker mode: the source of a module worker script that installs the same faults in the
 * worker (where a `WorkerView`'s `VideoDecoder` lives), then runs the package's worker
 * (`realWorker`, an absolute URL: the bootstrap runs from a blob URL). The page cannot reach the worker's globals, so the two
 * talk over a `BroadcastChannel`: `mirrorWorkerFaults` (run in the page) gives the page a
 * `window.__rfbFaults` whose `arm(kind)` reaches the worker and whose record is the
 * worker's, copied after every change.
 */
export function workerFaultBootstrap(realWorker: string): string {
  return `(${installDecoderFaults.toString()})();
const faults = globalThis.__rfbFaults;
const channel = new BroadcastChannel("rfb-faults");
const report = () => channel.postMessage(JSON.parse(JSON.stringify({ ...faults, arm: undefined })));
channel.onmessage = (e) => { if (e.data && e.data.arm) faults.arm(e.data.arm); };
setInterval(report, 20);
await import(${JSON.stringify(realWorker)});
`;
}

/** The page's side of `workerFaultBootstrap` (run with `page.addInitScript(...,
 * bootstrap)`): a worker the page starts from `/pkg/worker.js` runs `bootstrap` instead,
 * from a blob URL (same origin as the page, so its WebSocket is the page's). */
export const mirrorWorkerFaults = (bootstrap: string) => {
  const Original = window.Worker;
  window.Worker = class extends Original {
    constructor(url: string | URL, options?: WorkerOptions) {
      const real = new URL(String(url), location.href);
      if (real.pathname === "/pkg/worker.js") {
        url = URL.createObjectURL(new Blob([bootstrap], { type: "text/javascript" }));
      }
      super(url, options);
    }
  };
  const channel = new BroadcastChannel("rfb-faults");
  const mirror: any = {
    decoders: 0,
    outputs: 0,
    injected: [],
    keys: [],
    arm(kind: string) {
      channel.postMessage({ arm: kind });
    },
  };
  channel.onmessage = (e) => Object.assign(mirror, e.data, { arm: mirror.arm });
  (window as any).__rfbFaults = mirror;
};
