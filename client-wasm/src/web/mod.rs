//! The browser side (wasm32 only): the exported [`RemoteFramebufferView`] handle and the
//! pieces it wires together.
//!
//! | file | job |
//! |------|-----|
//! | `shell.rs` | the one view shell both views share: element and canvas, layout, size and DPR watches, input, `setFit`, accessibility, dispose (main thread) |
//! | `view.rs` | `RemoteFramebufferView`: the shell with an in-thread core and session, callbacks (main thread) |
//! | `input.rs` | pointer, wheel and key listeners -> `Input` messages (main thread) |
//! | `a11y.rs` | the canvas's role and accessible name |
//! | `clipboard.rs` | the app's clipboard offers, written where the browser allows |
//! | `boxes.rs` | the canvas's content-box size and where it is on the page (transforms, border, padding) |
//! | `ime.rs` | text from input methods through an `EditContext` on the canvas |
//! | `resize.rs` | `ResizeObserver` and the DPR watch -> layout and `SetViewport` (main thread) |
//! | `session.rs` | one connection: probe, WebSocket, `Hello`, `SetViewport`, message dispatch, close report |
//! | `core.rs` | decode and draw in order, ack, keyframe requests, stills (no DOM: worker-ready) |
//! | `core/decoder.rs` | the video decoder's life: build, output, failure and stall -> `DecoderReset` |
//! | `video.rs` / `image.rs` | WebCodecs `VideoDecoder` / `createImageBitmap` wrappers |
//! | `video_copy.rs` | a decoded frame's I420 planes -> RGBA -> `ImageBitmap` (worker mode) |
//! | `surface.rs` | the canvas (its colour space) and the fit/DPR layout |
//! | `probe.rs` | what this browser decodes |
//! | `worker/` | worker mode: `WorkerView` (main thread), `runWorker` (in the worker), the `OffscreenCanvas` surface |
//! | `socket.rs`, `timer.rs`, `events.rs`, `options.rs`, `error.rs`, `js.rs` | plumbing |

mod a11y;
mod boxes;
mod clipboard;
mod core;
mod error;
mod events;
mod image;
mod ime;
mod input;
mod js;
mod options;
mod probe;
mod resize;
mod session;
mod shell;
mod socket;
mod surface;
mod timer;
mod video;
mod video_copy;
mod view;
mod worker;

use wasm_bindgen::prelude::*;

pub use error::ViewerError;
pub use view::RemoteFramebufferView;
pub use worker::host::WorkerView;
pub use worker::runner::run_worker;

/// Installs the panic hook (once) so a Rust panic reads as a message in the console.
pub(crate) fn install_panic_hook() {
    #[cfg(feature = "console_error_panic_hook")]
    console_error_panic_hook::set_once();
}

/// The `[r, g, b]` colour of quadrant `q` (0 top-left, 1 top-right, 2 bottom-left,
/// 3 bottom-right) of `test_card` frame `seq`: the same function the native tests use.
#[wasm_bindgen(js_name = expectedQuadrantColor, unchecked_return_type = "[number, number, number]")]
pub fn expected_quadrant_color(seq: f64, q: u8) -> Result<JsValue, JsValue> {
    if !(seq.is_finite() && seq >= 0.0 && seq.fract() == 0.0) || q > 3 {
        return Err(js_sys::Error::new(
            "expectedQuadrantColor(seq, q): seq is a non-negative integer, q is 0..=3",
        )
        .into());
    }
    let [r, g, b] = rfb_protocol::expected_quadrant_color(seq as u64, q);
    Ok(js_sys::Array::of3(&r.into(), &g.into(), &b.into()).into())
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** How the frame is fitted into a canvas of another aspect ratio. */
export type FitMode = "contain" | "cover" | "fill";

/** The connection state. */
export type ViewState = "connecting" | "open" | "negotiated" | "reconnecting" | "closed" | "error";

/** How the view reconnects after its connection ends (the `reconnect` option). */
export interface ReconnectOptions {
  /** Delay before the first attempt, ms (default 250). */
  initialDelayMs?: number;
  /** Largest delay between attempts, ms (default 10000). */
  maxDelayMs?: number;
  /** Growth of the delay per failed attempt (default 2). */
  factor?: number;
  /** Relative random spread of each delay, 0..1 (default 0.25). */
  jitter?: number;
  /** Attempts before giving up (default: never give up). */
  maxAttempts?: number;
}

/** Options of `new RemoteFramebufferView(element, options)`. */
export interface RemoteFramebufferViewOptions {
  /** WebSocket URL. Default: `ws(s)://<location.host>/`. */
  url?: string;
  /** Credential passed to the server's authentication hook. */
  token?: string;
  /** Never use H.264, even where WebCodecs decodes it. */
  imageOnly?: boolean;
  /** Most un-acknowledged frames in flight (1..255; the server may lower it). */
  maxInflight?: number;
  /** Fit mode, `contain` by default. */
  fit?: FitMode;
  /** Letterbox colour (any CSS colour), black by default. */
  background?: string;
  /** Device pixel ratio override (default: `window.devicePixelRatio`). */
  devicePixelRatio?: number;
  /** Cap on either side of the canvas backing store (default 4096). */
  maxBackingDimension?: number;
  /** Forward pointer, wheel and key input to the server (default true; false: view only). */
  input?: boolean;
  /** Log each step to `console.debug`. */
  debug?: boolean;
  /** Milliseconds a video decoder may hold chunks without producing a frame before the
   * watchdog rebuilds it and asks the server for a keyframe (`DecoderReset`); default 1000. */
  decoderStallMs?: number;
  /** Reconnect after the connection drops: `true` (default: exponential backoff from
   * 250 ms to 10 s with 25 % jitter, forever), `false` (never), or the settings. Closes that
   * would repeat (4401 unauthorized, 4426 version mismatch, 4406 no common transport, 4404
   * unknown stream, protocol violations) are never retried; `reconnect()` forces an attempt anyway. */
  reconnect?: boolean | ReconnectOptions;
  /** Convert software-decoded (I420) video frames to pixels in the viewer (wasm, SIMD)
   * instead of the browser's `drawImage`. Default: on in a `WorkerView` in Chromium
   * (without a GPU it otherwise makes the worker wait for the page's main thread on every
   * frame), off in other browsers and on the main thread. Frames a GPU decoder produced are always drawn by
   * the browser. */
  copyVideoFrames?: boolean;
  /** Milliseconds from opening the WebSocket to the server's stream configuration before
   * the attempt is given up and retried (a socket stuck connecting, a server that never
   * answers); default 10000. A negotiated connection that hears nothing for three of the
   * server's heartbeat intervals is given up the same way. */
  connectTimeoutMs?: number;
  /** Worker mode: milliseconds to wait for the worker to start (load the wasm and say it
   * is ready) before the view fails with an error naming the likely cause; default 10000. */
  workerTimeoutMs?: number;
  /** Called on every state change. */
  onState?: (state: ViewState) => void;
  /** Called every second with the viewer's stats and timings. */
  onStats?: (stats: ViewerStats, timing: StatsTiming) => void;
  /** Called when the app offers text for the clipboard (`Display::set_clipboard`). The
   * viewer writes it to the system clipboard itself where the browser allows: at once in
   * Chromium (a focused page may write), at the next click or key press on the view in
   * Firefox and Safari (they require a user gesture). */
  onClipboard?: (text: string) => void;
  /** Called for every error (it is also logged with `console.error`). */
  onError?: (error: RfbViewerError) => void;
}

/** What `stats()` returns. */
export interface ViewerStats {
  /** Negotiated transport (`h264`, `jpeg`, `png`, `webp`), null before negotiation. */
  transport: string | null;
  /** Frames drawn on the canvas. */
  framesDisplayed: number;
  /** Frames received but never drawn. */
  framesDropped: number;
  /** Session sequence number of the frame on screen. */
  lastDisplayedSeq: number | null;
  /** Publish counter of the frame on screen. */
  lastFrameSeq: number | null;
  /** Frames handed to a decoder and not yet displayed or dropped. */
  decodeQueueSize: number;
  /** Size of the frame on screen in pixels, null before the first frame. */
  frameWidth: number | null;
  frameHeight: number | null;
  /** Render device pixel ratio the frame on screen is tagged with. */
  pixelRatio: number | null;
  /** Colour space of the frame on screen (and of the canvas): `srgb` or `display-p3`. */
  colorSpace: "srgb" | "display-p3" | null;
  /** How the frame on screen was encoded (`h264`, `jpeg`, `png`, `webp`): a lossless
   * still on a JPEG stream reads `png`. */
  format: string | null;
  /** Image frames drawn in another format than the stream's (the server's stills). */
  stills: number;
  /** Video decoders rebuilt after an error or a stall (each sent `DecoderReset`). */
  decoderResets: number;
  /** From the server's last `Stats` (null until one arrives, i.e. without `stats_interval`):
   * mean ACK round trip (send -> displayed), ms. */
  serverRttMs: number | null;
  /** Frames per second the server sent / saw acknowledged, recent window. */
  serverFpsSent: number | null;
  serverFpsAcked: number | null;
  /** Payload bits per second the server sent, recent window. */
  serverBitrateBps: number | null;
  /** Mean encode time, ms. */
  serverEncodeMs: number | null;
  /** Published frames the server never sent this viewer. */
  serverDropped: number | null;
  /** Keyframes the server sent this viewer. */
  serverKeyframes: number | null;
  /** Frames in flight at the server. */
  serverInflight: number | null;
  /** The server's current target bitrate (bits/s) and frame rate, from `Stats` or the
   * adaptive controller's `SetQuality`, whichever came last. */
  targetBitrate: number | null;
  targetFps: number | null;
  /** In-flight ceiling and JPEG quality of the last `SetQuality` (null before one). */
  targetMaxInflight: number | null;
  targetJpegQuality: number | null;
  /** `SetQuality` messages received. */
  qualityChanges: number;
  /** What this viewer may do, as the server said: `control` (input, resize and paste
   * reach the app) or `view` (the viewer sends none); null before the server said. */
  role: "control" | "view" | null;
}

/** The second argument of `onStats`. */
export interface StatsTiming {
  /** Mean time from receiving a frame to drawing it over the last second (ms), null if none was drawn. */
  receiveToDisplayMs: number | null;
  /** The server's last `Stats` message, null until one arrives. */
  server: ServerStatsReport | null;
}

/** The server's last `Stats` message. */
export interface ServerStatsReport {
  rttMs: number;
  fpsSent: number;
  fpsAcked: number;
  bitrateBps: number;
  encodeMs: number;
  framesDropped: number;
  keyframesSent: number;
  inflight: number;
  targetBitrateBps: number;
  targetFps: number;
}

/** What `capture()` returns: the canvas backing store as RGBA bytes. */
export interface CaptureResult {
  width: number;
  height: number;
  /** The canvas's colour space (the bytes are in it); null before the first frame. */
  colorSpace: "srgb" | "display-p3" | null;
  data: Uint8ClampedArray;
  /** The stats of exactly the frame in `data`. */
  stats: ViewerStats;
}

/** An error reported through `onError`. */
export interface RfbViewerError extends Error {
  name: "RfbViewerError";
  /** Where it happened: `connection`, `server`, `protocol`, `configure`, `decode`, `stall`, `image`, ... */
  stage: string;
  /** The WebSocket close code, for `connection` and `server` errors. */
  code?: number;
  /** Set when the connection ended and the view reconnects in that many ms. */
  retryInMs?: number;
}
"#;
