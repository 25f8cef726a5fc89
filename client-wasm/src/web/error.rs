//! The viewer's error type and the one conversion from a thrown `JsValue` that keeps the
//! `DOMException` name and message.

use js_sys::Object;
use wasm_bindgen::{JsCast, JsValue};

use super::api::{to_js, ErrorDetails};

/// Everything that can go wrong in the viewer, named by stage.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ViewerError {
    /// The options passed to the constructor are invalid.
    #[error("invalid option `{option}`: {reason}")]
    Options {
        /// The option name (`reconnect.factor` for a nested one).
        option: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The browser API the viewer needs is missing or refused (canvas, WebSocket...).
    #[error("{what}: {reason}")]
    Browser {
        /// What was being done.
        what: &'static str,
        /// The browser's explanation.
        reason: String,
    },
    /// The browser decodes none of the formats the viewer can use.
    #[error(
        "this browser decodes none of the stream formats (H.264 via WebCodecs, JPEG, PNG, WebP)"
    )]
    NoCapabilities,
    /// The connection showed no sign of life in time (see `crate::liveness`): the viewer
    /// gave it up and reconnects.
    #[error("connection to {url} {what}")]
    Timeout {
        /// The stream URL.
        url: String,
        /// What did not happen in time.
        what: String,
    },
    /// The WebSocket could not be opened or was lost without a close handshake.
    #[error("connection to {url} {what} (code {code}{reason})")]
    Connection {
        /// The stream URL.
        url: String,
        /// `could not be opened` or `was lost`.
        what: &'static str,
        /// The close code the browser reported (1006 for an abnormal close).
        code: u16,
        /// `: reason`, when the browser had one.
        reason: String,
    },
    /// The server closed the connection with a code other than a normal close.
    #[error("server closed the connection: {code} {name}: {message}")]
    ServerClosed {
        /// The close code.
        code: u16,
        /// Its name in the protocol's table (`GoingAway`, `Unauthorized`...).
        name: String,
        /// The server's `ErrorReport` message, or the close reason.
        message: String,
    },
    /// A server message did not decode.
    #[error("undecodable message from the server ({len} bytes): {reason}")]
    Protocol {
        /// Its size.
        len: usize,
        /// The decoder's explanation.
        reason: String,
    },
    /// The video decoder refused the stream's configuration.
    #[error("video decoder configuration `{codec}` failed: {reason}")]
    Configure {
        /// The codec string from `Config`.
        codec: String,
        /// The browser's explanation.
        reason: String,
    },
    /// The video decoder failed on a chunk (it is rebuilt and a keyframe requested).
    #[error("video decode failed at seq {seq}: {reason}")]
    Decode {
        /// The seq of the chunk being decoded (for a failure reported later by the decoder,
        /// the oldest frame it held).
        seq: u64,
        /// The browser's explanation.
        reason: String,
    },
    /// The video decoder held chunks without producing a frame for too long (it is
    /// closed, the server told to resend from a keyframe, and a new decoder built then).
    #[error("video decoder stalled: no frame for {idle_ms} ms with {queued} chunks queued; rebuilding it")]
    Stalled {
        /// Chunks it held.
        queued: u32,
        /// Milliseconds without output.
        idle_ms: u64,
    },
    /// An image frame did not decode.
    #[error("image decode failed at seq {seq}: {reason}")]
    Image {
        /// The frame's seq.
        seq: u64,
        /// The browser's explanation.
        reason: String,
    },
    /// Drawing to or reading from the canvas failed.
    #[error("canvas {what} failed: {reason}")]
    Draw {
        /// `draw` or `capture`.
        what: &'static str,
        /// The browser's explanation.
        reason: String,
    },
    /// Sending a message to the server failed.
    #[error("sending to the server failed: {reason}")]
    Send {
        /// The browser's explanation.
        reason: String,
    },
    /// An error the viewer's worker reported (worker mode), as it crossed `postMessage`.
    #[error("{message}")]
    Worker {
        /// Its stage in the worker.
        stage: String,
        /// Its message.
        message: String,
        /// Its close code, for connection errors.
        code: Option<u16>,
    },
}

impl ViewerError {
    /// The stage name, for the `stage` property of the JS error (`"connection"`, ...).
    pub fn stage(&self) -> &str {
        match self {
            ViewerError::Options { .. } => "options",
            ViewerError::Browser { .. } => "browser",
            ViewerError::NoCapabilities => "capabilities",
            ViewerError::Connection { .. } | ViewerError::Timeout { .. } => "connection",
            ViewerError::ServerClosed { .. } => "server",
            ViewerError::Protocol { .. } => "protocol",
            ViewerError::Configure { .. } => "configure",
            ViewerError::Decode { .. } => "decode",
            ViewerError::Stalled { .. } => "stall",
            ViewerError::Image { .. } => "image",
            ViewerError::Draw { .. } => "draw",
            ViewerError::Send { .. } => "send",
            ViewerError::Worker { stage, .. } => stage,
        }
    }

    /// The close code, for connection errors.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            ViewerError::Connection { code, .. } | ViewerError::ServerClosed { code, .. } => {
                Some(*code)
            }
            ViewerError::Worker { code, .. } => *code,
            _ => None,
        }
    }

    /// Its stage and close code, as an `RfbViewerError` carries them.
    pub fn details(&self, retry_in_ms: Option<f64>) -> ErrorDetails {
        ErrorDetails {
            stage: self.stage().to_string(),
            code: self.close_code(),
            retry_in_ms,
        }
    }

    /// A JS `Error` carrying the message, with the [`ErrorDetails`] (`stage`, `code` for
    /// connection errors, `retryInMs` when a reconnect is scheduled) as properties, for
    /// programmatic handling.
    pub fn to_js(&self, retry_in_ms: Option<f64>) -> JsValue {
        error_object(&self.to_string(), &self.details(retry_in_ms))
    }
}

/// An `RfbViewerError`: a JS `Error` with `message` and the `details` as properties.
pub fn error_object(message: &str, details: &ErrorDetails) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("RfbViewerError");
    if let Ok(details) = to_js(details) {
        // Copying own properties onto a fresh Error object cannot fail.
        let _ = Object::assign(&error, &details.unchecked_into());
    }
    error.into()
}

/// The readable text of a thrown JS value: `Name: message` for `DOMException` and `Error`,
/// the string itself for strings, a debug rendering for anything else.
pub fn js_reason(value: &JsValue) -> String {
    if let Some(e) = value.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", e.name(), e.message());
    }
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", String::from(e.name()), String::from(e.message()));
    }
    if let Some(s) = value.as_string() {
        return s;
    }
    if value.is_undefined() || value.is_null() {
        return "no reason given".to_string();
    }
    format!("{value:?}")
}
