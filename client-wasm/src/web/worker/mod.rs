//! Worker mode: the socket, the decoders and the drawing run in a dedicated Web Worker that
//! owns the canvas as an `OffscreenCanvas`, so a busy main thread does not stall the
//! stream. The main thread ([`host::WorkerView`]) keeps what needs the DOM: the element,
//! the size and DPR watches, input capture, the embedder's callbacks.
//!
//! The two halves talk with `postMessage`, plain objects with a `type`:
//!
//! | direction | `type` | fields |
//! |-----------|--------|--------|
//! | worker -> host | `ready` | (the wasm module is up; the host sends nothing before) |
//! | host -> worker | `start` | `canvas` (transferred), `options` (no callbacks), `layout` |
//! | host -> worker | `layout` | `layout`: fit, background, CSS size, DPR, backing cap |
//! | host -> worker | `send` | `bytes`: an encoded client message (input) to forward |
//! | host -> worker | `capture` | `id` |
//! | host -> worker | `reconnect`, `dispose` | |
//! | worker -> host | `state` | `state` |
//! | worker -> host | `error` | `message`, `stage`, `code`, `retryInMs` (a scheduled reconnect) |
//! | worker -> host | `stats` | `stats` (`ViewerStats`), `target` (frame size and DPR input maps onto) |
//! | worker -> host | `clipboard` | `text` (the app's clipboard offer) |
//! | worker -> host | `tick` | `stats`, `timing` (once a second, for `onStats`) |
//! | worker -> host | `capture` | `id`, `result` (pixels transferred, with their `stats`) or `error` |
//!
//! Input is mapped on the main thread with the same geometry the worker draws with: the
//! host knows the layout (it owns it) and the worker reports the frame it maps onto.

pub mod host;
mod offscreen;
pub mod runner;

use js_sys::Reflect;
use rfb_protocol::FitMode;
use wasm_bindgen::JsValue;

use super::error::ViewerError;
use super::js::object;
use super::surface::Layout;

/// A `postMessage`-side event handler slot (kept alive as long as its owner).
pub(super) type Handler<E> =
    std::cell::RefCell<Option<wasm_bindgen::closure::Closure<dyn FnMut(E)>>>;

/// Reads a field of a message object.
pub(super) fn field(message: &JsValue, key: &str) -> JsValue {
    Reflect::get(message, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A message `{ type: kind, ...fields }`.
pub(super) fn message(kind: &str, fields: &[(&str, JsValue)]) -> JsValue {
    let msg = object(fields);
    let _ = Reflect::set(&msg, &"type".into(), &kind.into());
    msg
}

/// A layout as a plain object.
pub(super) fn layout_to_js(layout: &Layout) -> JsValue {
    object(&[
        ("fit", layout.fit.name().into()),
        ("background", layout.background.as_str().into()),
        ("cssWidth", layout.css_width.into()),
        ("cssHeight", layout.css_height.into()),
        ("dpr", layout.dpr.into()),
        ("maxBackingDimension", layout.max_backing_dimension.into()),
        (
            "deviceWidth",
            layout.device_size.map_or(JsValue::NULL, |(w, _)| w.into()),
        ),
        (
            "deviceHeight",
            layout.device_size.map_or(JsValue::NULL, |(_, h)| h.into()),
        ),
    ])
}

/// The layout a host sent (it validated the values before sending).
pub(super) fn layout_from_js(value: &JsValue) -> Result<Layout, ViewerError> {
    let bad = |what: &str| ViewerError::Browser {
        what: "reading the layout from the main thread",
        reason: format!("{what} is missing or invalid"),
    };
    let number = |key: &str| field(value, key).as_f64().ok_or_else(|| bad(key));
    let fit = field(value, "fit")
        .as_string()
        .and_then(|name| FitMode::from_name(&name))
        .ok_or_else(|| bad("fit"))?;
    Ok(Layout {
        fit,
        background: field(value, "background")
            .as_string()
            .ok_or_else(|| bad("background"))?,
        css_width: number("cssWidth")?,
        css_height: number("cssHeight")?,
        dpr: number("dpr")?,
        max_backing_dimension: number("maxBackingDimension")? as u32,
        device_size: match (
            field(value, "deviceWidth").as_f64(),
            field(value, "deviceHeight").as_f64(),
        ) {
            (Some(w), Some(h)) if w >= 1.0 && h >= 1.0 && w <= 65_535.0 && h <= 65_535.0 => {
                Some((w as u32, h as u32))
            }
            _ => None,
        },
    })
}
