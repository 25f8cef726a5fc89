//! The JS-facing types, defined once. Each is a Rust type with two derives: serde's, which
//! converts it to and from a JS value (`serde-wasm-bindgen`: plain objects, `null` for a
//! missing value, JS objects such as callbacks and canvases passed through untouched), and
//! tsify's, which writes its TypeScript declaration, doc comments included, into the glue's
//! `rfb_viewer.d.ts`. The facade's hand-written `.d.ts` files (`client-wasm/js/`) only
//! re-export these and type the JS functions and the element; `tests/types/` compiles a
//! consumer of all of it with `tsc --strict`, so a renamed or retyped field fails there.
//!
//! | type | what |
//! |------|------|
//! | [`RemoteFramebufferViewOptions`], [`ReconnectChoice`], [`ReconnectOptions`], [`FitMode`] | the views' options (`options.rs`) |
//! | [`ViewerStats`], [`StageStats`], [`PhotonStats`], [`StatsTiming`], [`ServerStatsReport`], [`CaptureResult`], [`CanvasColorSpace`], [`RoleName`] | what the views report (`stats.rs`) |
//! | [`ErrorDetails`] and `RfbViewerError` | the fields of an error passed to `onError` |
//! | `ViewState` (`events.rs`) | the connection state |
//! | `ToWorker`, `FromWorker` (`worker/messages.rs`) | the worker mode's `postMessage` protocol |

mod options;
mod stats;

use js_sys::{Object, Reflect};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use super::error::ViewerError;

pub use options::{
    Callback, FitMode, ReconnectChoice, ReconnectOptions, RemoteFramebufferViewOptions,
};
pub use stats::{
    CanvasColorSpace, CaptureResult, PhotonStats, RoleName, ServerStatsReport, StageStats,
    StatsTiming, ViewerStats,
};

/// What an error reported through `onError` carries besides its message.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    /// Where it happened: `options`, `browser`, `capabilities`, `connection`, `server`,
    /// `protocol`, `configure`, `decode`, `stall`, `image`, `draw`, `send`.
    pub stage: String,
    /// The WebSocket close code, for `connection` and `server` errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Set when the connection ended and the view reconnects in that many ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<f64>,
}

// The one declaration serde cannot describe: a JS `Error` carrying `ErrorDetails`.
#[wasm_bindgen(typescript_custom_section)]
const RFB_VIEWER_ERROR: &'static str = r#"
/** An error reported through `onError`: a JS `Error` named `RfbViewerError`, with the
 * `ErrorDetails` (`stage`, and `code` / `retryInMs` where they apply) as properties. */
export interface RfbViewerError extends Error, ErrorDetails {
  name: "RfbViewerError";
}
"#;

/// `value` as a JS value, in the shape its TypeScript declaration gives (`null` for a
/// missing value where the type says so).
pub fn to_js<T: Tsify + Serialize>(value: &T) -> Result<JsValue, ViewerError> {
    value
        .into_js()
        .map(Into::into)
        .map_err(|e| ViewerError::Browser {
            what: "converting a value for JavaScript",
            reason: e.to_string(),
        })
}

/// Reads a `T` from a JS value (the error is serde's, naming what was expected). Where the
/// value is an object, [`culprit`] finds the key that did not fit.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        // The error is a JS `Error`: its message without the `Error: ` of its `toString`.
        let error: js_sys::Error = JsValue::from(e).unchecked_into();
        String::from(error.message())
    })
}

/// The first own key of `object` that `T` cannot read on its own, i.e. the field that made
/// reading `object` fail. Only called once reading failed: it re-reads one single-key object
/// per key, with the same code that read the whole (no second, path-tracking deserializer in
/// the wasm, which would double the size of every derive).
pub fn culprit<T: DeserializeOwned>(object: &JsValue) -> Option<String> {
    let object = object.dyn_ref::<Object>()?;
    Object::keys(object).iter().find_map(|key| {
        let single = Object::new();
        let value = Reflect::get(object, &key).ok()?;
        Reflect::set(&single, &key, &value).ok()?;
        match from_js::<T>(single.into()) {
            Ok(_) => None,
            Err(_) => key.as_string(),
        }
    })
}
