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
//! | `api/` | the JS-facing types (options, stats, errors), each converted by serde and declared in TypeScript by tsify |
//! | `socket.rs`, `timer.rs`, `events.rs`, `options.rs`, `error.rs` | plumbing |

mod a11y;
pub mod api;
mod boxes;
mod clipboard;
mod core;
mod error;
mod events;
mod image;
mod ime;
mod input;
mod options;
mod present;
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
