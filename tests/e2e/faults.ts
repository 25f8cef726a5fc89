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
  const w = window as any;
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
