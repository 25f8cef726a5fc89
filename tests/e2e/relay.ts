// A shaped link for tests: a TCP relay between the browser and `rfb serve` that limits the
// server -> browser direction to a bandwidth (token bucket) and delays both directions by a
// fixed time, both changeable at runtime. It reads everything the server writes at once, so
// every byte that has left the server and not yet reached the browser sits in the relay's
// queue, where it can be measured (the kernel's socket buffers on loopback are drained as
// fast as they fill).
//
// It also watches the WebSocket traffic it carries (RFC 6455 framing, server frames
// unmasked, browser frames masked; the server negotiates no compression) and decodes the
// start of each rfb message: frame headers (seq, frame_seq, keyframe; of video frames also
// whether the access unit is a reference picture and its frame_num) going down and Acks
// going up, with the time each entered and left the relay.
import net from "node:net";
import { performance } from "node:perf_hooks";
import { unitStart } from "./h264";

/** The link's shape. `rateBytesPerSec: null` is unlimited. */
export interface LinkShape {
  rateBytesPerSec: number | null;
  /** One-way delay added to each direction, ms. */
  delayMs: number;
}

/** One WebSocket message seen by the relay. Times are `performance.now()` of this process. */
export interface RelayedMessage {
  dir: "down" | "up";
  /** The message's postcard variant: down 0 Config, 1 VideoChunk, 2 ImageFrame, 3 Stats,
   * 4 SetQuality, 5 Error; up 0 Hello, 1 Ack, 2 RequestKeyframe, 3 DecoderReset, 4 Input,
   * 5 SetViewport. -1 for a non-binary frame. */
  variant: number;
  /** WebSocket frame size (header + payload), bytes. */
  bytes: number;
  /** When its first byte entered the relay. */
  arrivedAt: number;
  /** When its last byte left the relay (undefined while queued). */
  deliveredAt?: number;
  /** Frames: session seq, publish counter, publish time (µs), keyframe flag. Acks: the
   * acknowledged seq. */
  seq?: number;
  frameSeq?: number;
  timestampUs?: number;
  keyframe?: boolean;
  /** Video frames: the access unit's first slice is a reference picture (`nal_ref_idc` > 0). */
  reference?: boolean;
  /** Video frames: the first slice's `frame_num` (see `h264.ts`). */
  frameNum?: number;
  /** Video frames: the stream's `log2_max_frame_num` (from the newest SPS on the connection). */
  log2MaxFrameNum?: number;
  /** The link's rate when it arrived (bytes/s, null = unlimited). */
  rate: number | null;
}

/** The down-direction queue at one moment. */
export interface QueueSample {
  at: number;
  /** Bytes in the relay, including those only waiting out the propagation delay. */
  bytes: number;
  /** Bytes past their delay and waiting for bandwidth: the bottleneck's standing queue. */
  standing: number;
  rate: number | null;
}

/** Reads a postcard varint: [value, next position], or null when `buf` ends first. */
function varint(buf: Uint8Array, pos: number): [number, number] | null {
  let value = 0;
  let shift = 0;
  while (pos < buf.length) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7;
  }
  return null;
}

/** Fills in what the start of an rfb message says (`head` is the unmasked payload start);
 * `log2MaxFrameNum` is the connection's, from its newest SPS; returns the one to keep. */
function describe(msg: RelayedMessage, head: Uint8Array, log2MaxFrameNum?: number): number | undefined {
  const v = varint(head, 0);
  if (!v) return log2MaxFrameNum;
  msg.variant = v[0];
  if (msg.dir === "down" && (v[0] === 1 || v[0] === 2)) {
    // FrameHeader: seq, frame_seq, timestamp_us, width, height (varints), keyframe (bool),
    // pixel_ratio (f32), colour (primaries, transfer: varints), input_id (Option<varint>).
    const fields: number[] = [];
    let pos = v[1];
    for (let i = 0; i < 5; i++) {
      const f = varint(head, pos);
      if (!f) return log2MaxFrameNum;
      fields.push(f[0]);
      pos = f[1];
    }
    msg.seq = fields[0];
    msg.frameSeq = fields[1];
    msg.timestampUs = fields[2];
    if (pos >= head.length) return log2MaxFrameNum;
    msg.keyframe = head[pos] === 1;
    if (v[0] !== 1) return log2MaxFrameNum;
    // A VideoChunk goes on: the header's tail, the codec, the payload's length.
    pos += 1 + 4; // keyframe, pixel_ratio
    const skipVarint = () => {
      const f = varint(head, pos);
      if (f) pos = f[1];
      return f !== null;
    };
    if (!skipVarint() || !skipVarint()) return log2MaxFrameNum; // primaries, transfer
    if (pos >= head.length) return log2MaxFrameNum;
    if (head[pos++] === 1 && !skipVarint()) return log2MaxFrameNum; // input_id: Some(id)
    if (!skipVarint() || !skipVarint()) return log2MaxFrameNum; // codec, payload length
    const unit = unitStart(head.subarray(pos), log2MaxFrameNum);
    const log2 = unit.log2MaxFrameNum ?? log2MaxFrameNum;
    msg.reference = unit.reference;
    msg.frameNum = unit.frameNum;
    msg.log2MaxFrameNum = log2;
    return log2;
  } else if (msg.dir === "up" && v[0] === 1) {
    const seq = varint(head, v[1]);
    if (seq) msg.seq = seq[0];
  }
  return log2MaxFrameNum;
}

/** Bytes of a message's payload decoded for `describe`: any frame header, and of a video
 * frame the SPS, PPS and first slice header that follow it. */
const HEAD_BYTES = 256;

/** Splits one direction of a WebSocket connection into messages, after the HTTP head. */
class WsWatcher {
  private buf = Buffer.alloc(0);
  /** Stream offset of `buf[0]`. */
  private consumed = 0;
  /** Payload bytes of the current frame still to pass over. */
  private skip = 0;
  private httpDone = false;
  /** False when this connection turned out not to be a WebSocket (a page or asset load). */
  private websocket = true;
  /** The stream's `log2_max_frame_num`, from the newest SPS seen going down. */
  private log2MaxFrameNum?: number;

  constructor(
    private dir: "down" | "up",
    private onMessage: (msg: RelayedMessage, endOffset: number) => void,
    private rate: () => number | null,
  ) {}

  feed(data: Buffer, now: number) {
    if (!this.websocket) return;
    let pos = 0;
    if (this.skip > 0) {
      const n = Math.min(this.skip, data.length);
      this.skip -= n;
      this.consumed += n;
      pos = n;
    }
    if (pos < data.length) {
      this.buf = this.buf.length === 0 ? data.subarray(pos) : Buffer.concat([this.buf, data.subarray(pos)]);
      this.parse(now);
    }
  }

  private drop(n: number) {
    this.buf = this.buf.subarray(n);
    this.consumed += n;
  }

  private parse(now: number) {
    for (;;) {
      if (!this.httpDone) {
        const end = this.buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString("latin1");
        this.websocket = /^upgrade:\s*websocket/im.test(head);
        this.httpDone = true;
        this.drop(end + 4);
        if (!this.websocket) return;
        continue;
      }
      const b = this.buf;
      if (b.length < 2) return;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        hl = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        hl = 10;
      }
      if (masked) hl += 4;
      const want = Math.min(len, HEAD_BYTES);
      if (b.length < hl + want) return;
      const opcode = b[0] & 0x0f;
      const msg: RelayedMessage = { dir: this.dir, variant: -1, bytes: hl + len, arrivedAt: now, rate: this.rate() };
      if (opcode === 2) {
        const head = Buffer.from(b.subarray(hl, hl + want));
        if (masked) {
          const key = b.subarray(hl - 4, hl);
          for (let i = 0; i < head.length; i++) head[i] ^= key[i % 4];
        }
        this.log2MaxFrameNum = describe(msg, head, this.log2MaxFrameNum);
      }
      this.onMessage(msg, this.consumed + hl + len);
      if (b.length >= hl + len) {
        this.drop(hl + len);
      } else {
        this.skip = hl + len - b.length;
        this.consumed += b.length;
        this.buf = Buffer.alloc(0);
        return;
      }
    }
  }
}

interface Chunk {
  data: Buffer;
  /** When it may leave (arrival + delay). */
  due: number;
}

/** One direction of one connection: a FIFO drained by the pump. */
class Pipe {
  queue: Chunk[] = [];
  queuedBytes = 0;
  /** Stream bytes written out so far. */
  delivered = 0;
  /** Messages not yet fully delivered, with their end offsets. */
  pending: { msg: RelayedMessage; end: number }[] = [];

  constructor(public out: net.Socket) {}

  push(data: Buffer, due: number) {
    this.queue.push({ data, due });
    this.queuedBytes += data.length;
  }

  standing(now: number): number {
    let n = 0;
    for (const c of this.queue) if (c.due <= now) n += c.data.length;
    return n;
  }

  /** Writes what is due, at most `budget` bytes (Infinity: no limit); returns bytes written. */
  drain(now: number, budget: number): number {
    let written = 0;
    while (this.queue.length > 0 && this.queue[0].due <= now && written < budget) {
      const head = this.queue[0];
      const n = Math.min(head.data.length, budget - written);
      const part = n === head.data.length ? head.data : head.data.subarray(0, n);
      if (!this.out.destroyed) this.out.write(part);
      written += n;
      this.queuedBytes -= n;
      this.delivered += n;
      if (n === head.data.length) this.queue.shift();
      else head.data = head.data.subarray(n);
    }
    while (this.pending.length > 0 && this.pending[0].end <= this.delivered) {
      this.pending.shift()!.msg.deliveredAt = now;
    }
    return written;
  }
}

interface Conn {
  client: net.Socket;
  server: net.Socket;
  down: Pipe;
  up: Pipe;
}

/** How often the pump runs, ms. */
const TICK_MS = 2;

/** A running relay. */
export class Relay {
  readonly messages: RelayedMessage[] = [];
  readonly samples: QueueSample[] = [];
  private conns = new Set<Conn>();
  private tokens = 0;
  private lastTick = performance.now();
  private lastSample = 0;
  private timer: NodeJS.Timeout;

  private constructor(
    private server: net.Server,
    public readonly port: number,
    private target: number,
    private shape: LinkShape,
  ) {
    this.timer = setInterval(() => this.pump(), TICK_MS);
  }

  /** Starts a relay on a free port forwarding to 127.0.0.1:`target`. */
  static async start(target: number, shape: LinkShape = { rateBytesPerSec: null, delayMs: 0 }): Promise<Relay> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    const relay = new Relay(server, port, target, { ...shape });
    server.on("connection", (client) => relay.accept(client));
    return relay;
  }

  /** `http://127.0.0.1:PORT/`: pages loaded from here reach the server through the link. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  get link(): LinkShape {
    return { ...this.shape };
  }

  /** Changes the link; takes effect at the next tick. */
  setLink(shape: Partial<LinkShape>) {
    this.shape = { ...this.shape, ...shape };
    this.tokens = Math.min(this.tokens, this.burst());
  }

  /** Bytes queued server -> browser now, over every connection. */
  queuedBytes(): number {
    let n = 0;
    for (const c of this.conns) n += c.down.queuedBytes;
    return n;
  }

  async close() {
    clearInterval(this.timer);
    for (const c of this.conns) {
      c.client.destroy();
      c.server.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The bucket's depth: 5 ms of the link (at least one MTU-sized packet). */
  private burst(): number {
    const rate = this.shape.rateBytesPerSec;
    return rate === null ? Infinity : Math.max(1500, rate * 0.005);
  }

  private accept(client: net.Socket) {
    client.setNoDelay(true);
    const server = net.connect(this.target, "127.0.0.1");
    server.setNoDelay(true);
    const conn: Conn = { client, server, down: new Pipe(client), up: new Pipe(server) };
    this.conns.add(conn);
    const rate = () => this.shape.rateBytesPerSec;
    const watchDown = new WsWatcher("down", (msg, end) => {
      this.messages.push(msg);
      conn.down.pending.push({ msg, end });
    }, rate);
    const watchUp = new WsWatcher("up", (msg, end) => {
      this.messages.push(msg);
      conn.up.pending.push({ msg, end });
    }, rate);
    server.on("data", (data) => {
      const now = performance.now();
      watchDown.feed(data, now);
      conn.down.push(data, now + this.shape.delayMs);
      this.pump();
    });
    client.on("data", (data) => {
      const now = performance.now();
      watchUp.feed(data, now);
      conn.up.push(data, now + this.shape.delayMs);
      this.pump();
    });
    const end = () => {
      this.conns.delete(conn);
      client.destroy();
      server.destroy();
    };
    client.on("close", end);
    server.on("close", end);
    client.on("error", end);
    server.on("error", end);
  }

  private pump() {
    const now = performance.now();
    const rate = this.shape.rateBytesPerSec;
    if (rate === null) {
      this.tokens = Infinity;
    } else {
      if (!Number.isFinite(this.tokens)) this.tokens = 0;
      this.tokens = Math.min(this.burst(), this.tokens + (rate * (now - this.lastTick)) / 1000);
    }
    this.lastTick = now;
    for (const c of this.conns) {
      // Browser -> server: delayed only.
      c.up.drain(now, Infinity);
      // Server -> browser: shares the bucket.
      const written = c.down.drain(now, this.tokens);
      if (rate !== null) this.tokens -= written;
    }
    if (now - this.lastSample >= 10) {
      this.lastSample = now;
      let bytes = 0;
      let standing = 0;
      for (const c of this.conns) {
        bytes += c.down.queuedBytes;
        standing += c.down.standing(now);
      }
      this.samples.push({ at: now, bytes, standing, rate });
    }
  }
}
