//! The views' options as JS gives them (`new RemoteFramebufferView(element, options)`,
//! `new WorkerView(element, worker, options)`, `createView(element, options)`): every field
//! optional, read as is. `web/options.rs` validates them into the viewer's `Options`.

use std::fmt;

use js_sys::Function;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tsify::Tsify;
use wasm_bindgen::{JsCast, JsValue};

/// How the frame is fitted into a canvas of another aspect ratio.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FitMode {
    /// Letterboxed: the whole frame, bars in the background colour.
    Contain,
    /// Cropped: the canvas filled, the frame's overflow cut.
    Cover,
    /// Stretched to the canvas.
    Fill,
}

impl From<FitMode> for rfb_protocol::FitMode {
    fn from(fit: FitMode) -> Self {
        match fit {
            FitMode::Contain => rfb_protocol::FitMode::Contain,
            FitMode::Cover => rfb_protocol::FitMode::Cover,
            FitMode::Fill => rfb_protocol::FitMode::Fill,
        }
    }
}

impl From<rfb_protocol::FitMode> for FitMode {
    fn from(fit: rfb_protocol::FitMode) -> Self {
        match fit {
            rfb_protocol::FitMode::Contain => FitMode::Contain,
            rfb_protocol::FitMode::Cover => FitMode::Cover,
            rfb_protocol::FitMode::Fill => FitMode::Fill,
        }
    }
}

/// Where the frame is scaled to the element (the `scaling` option).
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// The canvas's backing store is the frame, drawn 1:1; the element scales it by CSS
    /// (`object-fit`, its background colour in the bars), i.e. in the browser's compositor.
    Css,
    /// The backing store is the element's size in device pixels and each frame is drawn
    /// scaled into it, letterbox included (a 2D-canvas `drawImage`).
    Canvas,
}

impl From<Scaling> for rfb_protocol::Scaling {
    fn from(scaling: Scaling) -> Self {
        match scaling {
            Scaling::Css => rfb_protocol::Scaling::Css,
            Scaling::Canvas => rfb_protocol::Scaling::Canvas,
        }
    }
}

impl From<rfb_protocol::Scaling> for Scaling {
    fn from(scaling: rfb_protocol::Scaling) -> Self {
        match scaling {
            rfb_protocol::Scaling::Css => Scaling::Css,
            rfb_protocol::Scaling::Canvas => Scaling::Canvas,
        }
    }
}

/// How the view reconnects after its connection ends (the `reconnect` option).
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReconnectOptions {
    /// Delay before the first attempt, ms (default 250).
    #[tsify(optional)]
    pub initial_delay_ms: Option<f64>,
    /// Largest delay between attempts, ms (default 10000).
    #[tsify(optional)]
    pub max_delay_ms: Option<f64>,
    /// Growth of the delay per failed attempt (default 2).
    #[tsify(optional)]
    pub factor: Option<f64>,
    /// Relative random spread of each delay, 0..1 (default 0.25).
    #[tsify(optional)]
    pub jitter: Option<f64>,
    /// Attempts before giving up (default: never give up).
    #[tsify(optional)]
    pub max_attempts: Option<f64>,
}

/// `reconnect`: on with the defaults (`true`), off (`false`), or tuned.
#[derive(Tsify, Serialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum ReconnectChoice {
    /// `true`: the default backoff; `false`: never reconnect.
    Enabled(bool),
    /// The backoff's settings (the rest default).
    Tuned(ReconnectOptions),
}

// Read by hand rather than derived: serde's `untagged` derive buffers the value into its
// generic `Content` tree and tries each variant on it, which costs tens of KiB of wasm; a
// boolean or a map is all this needs.
impl<'de> Deserialize<'de> for ReconnectChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Choice;
        impl<'de> Visitor<'de> for Choice {
            type Value = ReconnectChoice;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a boolean or an object of initialDelayMs, maxDelayMs, factor, jitter, maxAttempts",
                )
            }

            fn visit_bool<E: de::Error>(self, on: bool) -> Result<ReconnectChoice, E> {
                Ok(ReconnectChoice::Enabled(on))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ReconnectChoice, A::Error> {
                ReconnectOptions::deserialize(MapAccessDeserializer::new(map))
                    .map(ReconnectChoice::Tuned)
            }
        }
        deserializer.deserialize_any(Choice)
    }
}

/// A JS function passed as an option. Callbacks stay where the view was created: one never
/// crosses `postMessage` to a worker (it serializes as nothing).
#[derive(Debug, Clone)]
pub struct Callback(pub Function);

impl<'de> Deserialize<'de> for Callback {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value: JsValue = serde_wasm_bindgen::preserve::deserialize(deserializer)?;
        value
            .dyn_into::<Function>()
            .map(Callback)
            .map_err(|_| serde::de::Error::custom("expected a function"))
    }
}

impl Serialize for Callback {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_none()
    }
}

/// Callbacks are never sent anywhere (see [`Callback`]).
fn never<T>(_: &T) -> bool {
    true
}

/// Options of `new RemoteFramebufferView(element, options)`, `new WorkerView(element,
/// worker, options)` and `createView(element, options)`; every field is optional.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct RemoteFramebufferViewOptions {
    /// WebSocket URL. Default: `ws(s)://<location.host>/`.
    #[tsify(optional)]
    pub url: Option<String>,
    /// Credential passed to the server's authentication hook.
    #[tsify(optional)]
    pub token: Option<String>,
    /// Never use H.264, even where WebCodecs decodes it.
    #[tsify(optional)]
    pub image_only: Option<bool>,
    /// Most un-acknowledged frames in flight (1..255; the server may lower it).
    #[tsify(optional)]
    pub max_inflight: Option<f64>,
    /// Fit mode, `contain` by default.
    #[tsify(optional)]
    pub fit: Option<FitMode>,
    /// Letterbox colour (any CSS colour), black by default.
    #[tsify(optional)]
    pub background: Option<String>,
    /// Where the frame is scaled to the element: `css` (default: the canvas holds the frame
    /// 1:1 and the view sets its `object-fit`, `object-position` and `background-color`, so
    /// the browser's compositor scales it, on the GPU where there is one) or `canvas` (the
    /// backing store follows the element's device pixels and every frame is drawn scaled
    /// into it; `capture()` then returns the letterboxed picture).
    #[tsify(optional)]
    pub scaling: Option<Scaling>,
    /// Device pixel ratio override (default: `window.devicePixelRatio`).
    #[tsify(optional)]
    pub device_pixel_ratio: Option<f64>,
    /// Cap on either side of the canvas backing store (default 4096).
    #[tsify(optional)]
    pub max_backing_dimension: Option<f64>,
    /// Forward pointer, wheel and key input to the server (default true; false: view only).
    #[tsify(optional)]
    pub input: Option<bool>,
    /// Log each step to `console.debug`.
    #[tsify(optional)]
    pub debug: Option<bool>,
    /// Milliseconds a video decoder may hold chunks without producing a frame before the
    /// watchdog rebuilds it and asks the server for a keyframe (`DecoderReset`); 100..60000,
    /// default 1000.
    #[tsify(optional)]
    pub decoder_stall_ms: Option<f64>,
    /// Reconnect after the connection drops: `true` (default: exponential backoff from
    /// 250 ms to 10 s with 25 % jitter, forever), `false` (never), or the settings. Closes
    /// that would repeat (4401 unauthorized, 4403 origin refused, 4426 version mismatch,
    /// 4406 no common transport, 4404 unknown stream, 1008 input flood, protocol
    /// violations) are never retried; `reconnect()` forces an attempt anyway.
    #[tsify(optional)]
    pub reconnect: Option<ReconnectChoice>,
    /// Convert software-decoded (I420) video frames to pixels in the viewer (wasm, SIMD)
    /// instead of the browser's `drawImage`. Default: on in a `WorkerView` in Chromium
    /// (without a GPU it otherwise makes the worker wait for the page's main thread on every
    /// frame), off in other browsers and on the main thread. Frames a GPU decoder produced
    /// are always drawn by the browser.
    #[tsify(optional)]
    pub copy_video_frames: Option<bool>,
    /// Milliseconds from opening the WebSocket to the server's stream configuration before
    /// the attempt is given up and retried (a socket stuck connecting, a server that never
    /// answers); 100..600000, default 10000. A negotiated connection that hears nothing for
    /// three of the server's heartbeat intervals is given up the same way.
    #[tsify(optional)]
    pub connect_timeout_ms: Option<f64>,
    /// Worker mode: milliseconds to wait for the worker to start (load the wasm and say it
    /// is ready) before the view fails with an error naming the likely cause; 100..600000,
    /// default 10000.
    #[tsify(optional)]
    pub worker_timeout_ms: Option<f64>,
    /// Called on every state change.
    #[tsify(optional, type = "(state: ViewState) => void")]
    #[serde(default, skip_serializing_if = "never")]
    pub on_state: Option<Callback>,
    /// Called every second with the viewer's stats and timings.
    #[tsify(optional, type = "(stats: ViewerStats, timing: StatsTiming) => void")]
    #[serde(default, skip_serializing_if = "never")]
    pub on_stats: Option<Callback>,
    /// Called for every error (it is also logged: `console.error`, or `console.warn` for a
    /// drop that will be retried, which carries `retryInMs`).
    #[tsify(optional, type = "(error: RfbViewerError) => void")]
    #[serde(default, skip_serializing_if = "never")]
    pub on_error: Option<Callback>,
    /// Called when the app offers text for the clipboard (`Display::set_clipboard`). The
    /// viewer writes it to the system clipboard itself where the browser allows: at once in
    /// Chromium (a focused page may write), at the next click or key press on the view in
    /// Firefox and Safari (they require a user gesture).
    #[tsify(optional, type = "(text: string) => void")]
    #[serde(default, skip_serializing_if = "never")]
    pub on_clipboard: Option<Callback>,
}
