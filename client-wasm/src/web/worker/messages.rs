//! The worker mode's `postMessage` protocol, typed once: both halves convert these enums
//! with serde (`serde-wasm-bindgen`), and tsify declares them in `rfb_viewer.d.ts` (as
//! `ToWorker` and `FromWorker`) for anyone who writes their own worker bootstrap or listens
//! in. serde's default (external) tagging: a message without a body is its name as a
//! string (`"ready"`, `"dispose"`), any other is an object with one key, the name, holding
//! the body (`{ capture: { id: 3 } }`). The JS objects in a body (the transferred
//! `OffscreenCanvas`, input bytes, captured pixels) are handed over as they are, never
//! copied through wasm. (Not the `{ type, body }` of adjacent tagging: its derive buffers
//! bodies in serde's generic `Content` tree, which cost ~100 KiB of wasm.)

use js_sys::{Uint8Array, Uint8ClampedArray};
use serde::{Deserialize, Serialize};
use tsify::Tsify;
use web_sys::OffscreenCanvas;

use crate::web::api::{
    CaptureResult, ErrorDetails, FitMode, RemoteFramebufferViewOptions, StatsTiming, ViewerStats,
};
use crate::web::error::ViewerError;
use crate::web::events::ViewState;
use crate::web::surface::Layout;

/// A message from the page (`WorkerView`) to its worker (`runWorker`).
#[derive(Tsify, Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub enum ToWorker {
    /// Start the view (once, after `ready`).
    Start(Box<StartWorker>),
    /// The element's layout changed.
    Layout(WorkerLayout),
    /// Forward a message the page encoded.
    Send {
        /// The encoded `ClientMessage`.
        #[tsify(type = "Uint8Array")]
        #[serde(with = "serde_wasm_bindgen::preserve")]
        bytes: Uint8Array,
        /// For an input message: its id and when its DOM event happened, for input ->
        /// photon (absent for other messages).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[tsify(optional)]
        input: Option<InputStamp>,
    },
    /// Capture the canvas; answered by a `capture` with the same `id`.
    Capture {
        /// Pairs the answer with the request.
        id: u32,
    },
    /// Drop the connection (if any) and connect again now.
    Reconnect,
    /// Close the connection and end the worker.
    Dispose,
}

/// An input message's id and when its DOM event happened (milliseconds since the Unix
/// epoch: the page's `performance.timeOrigin` plus the event's `timeStamp`, so the worker
/// compares it with its own draw times).
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InputStamp {
    /// The input id.
    pub id: u64,
    /// The DOM event's time.
    pub event_at_ms: f64,
}

/// The body of `start`.
#[derive(Tsify, Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct StartWorker {
    /// The view's canvas, transferred.
    #[tsify(type = "OffscreenCanvas")]
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub canvas: OffscreenCanvas,
    /// The view's options (validated on the page; callbacks stay there), with `url`
    /// resolved.
    pub options: RemoteFramebufferViewOptions,
    /// The first layout.
    pub layout: WorkerLayout,
    /// The page has an `onStats`: send a `tick` every second.
    pub wants_stats: bool,
}

/// How frames are placed on the canvas (the page owns it, the worker draws with it).
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct WorkerLayout {
    /// Fit mode.
    pub fit: FitMode,
    /// Letterbox colour.
    pub background: String,
    /// Canvas CSS width.
    pub css_width: f64,
    /// Canvas CSS height.
    pub css_height: f64,
    /// Device pixel ratio.
    pub dpr: f64,
    /// Largest backing-store side.
    pub max_backing_dimension: u32,
    /// The content box's exact device-pixel width, where the browser reports it.
    pub device_width: Option<u32>,
    /// The content box's exact device-pixel height, where the browser reports it.
    pub device_height: Option<u32>,
}

impl From<&Layout> for WorkerLayout {
    fn from(layout: &Layout) -> Self {
        WorkerLayout {
            fit: layout.fit.into(),
            background: layout.background.clone(),
            css_width: layout.css_width,
            css_height: layout.css_height,
            dpr: layout.dpr,
            max_backing_dimension: layout.max_backing_dimension,
            device_width: layout.device_size.map(|(w, _)| w),
            device_height: layout.device_size.map(|(_, h)| h),
        }
    }
}

impl WorkerLayout {
    /// The layout to draw with; a device size outside 1..=65535 is ignored (the CSS size
    /// and DPR are used instead).
    pub fn to_layout(&self) -> Layout {
        let device = |n: Option<u32>| n.filter(|n| (1..=65_535).contains(n));
        Layout {
            fit: self.fit.into(),
            background: self.background.clone(),
            css_width: self.css_width,
            css_height: self.css_height,
            dpr: self.dpr,
            max_backing_dimension: self.max_backing_dimension,
            device_size: device(self.device_width).zip(device(self.device_height)),
        }
    }
}

/// A message from the worker to its page.
#[derive(Tsify, Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub enum FromWorker {
    /// The wasm module is up: the page sends nothing before.
    Ready,
    /// The connection state changed.
    State {
        /// The new state.
        state: ViewState,
    },
    /// Something failed (reported once, on the page).
    Error(WorkerError),
    /// The stats changed (pushed every 40 ms at most).
    Stats {
        /// The viewer's stats.
        stats: ViewerStats,
        /// The frame input maps onto, null before the first.
        target: Option<FrameTarget>,
    },
    /// The app offered text for the clipboard.
    Clipboard {
        /// The text.
        text: String,
    },
    /// Once a second, for `onStats`.
    Tick {
        /// The viewer's stats.
        stats: ViewerStats,
        /// Receive-to-display time and the server's last `Stats`.
        timing: StatsTiming,
    },
    /// The answer to a `capture`.
    Capture {
        /// The request's `id`.
        id: u32,
        /// The pixels (transferred) or why there are none.
        outcome: CaptureOutcome,
    },
}

/// An error the worker reports: its message and details.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkerError {
    /// The error's text.
    pub message: String,
    /// Stage, close code, reconnect delay. (Nested, not `flatten`ed: flattening makes serde
    /// buffer the whole message in its generic `Content` tree, a lot of wasm for nothing.)
    pub details: ErrorDetails,
}

impl WorkerError {
    /// `error` as the worker reports it; `retry_in_ms` when a reconnect is scheduled.
    pub fn new(error: &ViewerError, retry_in_ms: Option<f64>) -> Self {
        WorkerError {
            message: error.to_string(),
            details: ErrorDetails {
                stage: error.stage().to_string(),
                code: error.close_code(),
                retry_in_ms,
            },
        }
    }
}

/// The frame the worker draws, which input is mapped onto.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FrameTarget {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// The frame's render device pixel ratio.
    pub pixel_ratio: f32,
}

/// How a capture ended.
#[derive(Tsify, Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub enum CaptureOutcome {
    /// The pixels and the stats of that frame.
    Result(Box<CaptureResult>),
    /// Why the canvas could not be read.
    Error(String),
}

impl CaptureOutcome {
    /// The pixels to transfer with the message, if any.
    pub fn pixels(&self) -> Option<&Uint8ClampedArray> {
        match self {
            CaptureOutcome::Result(capture) => Some(&capture.data),
            CaptureOutcome::Error(_) => None,
        }
    }
}
