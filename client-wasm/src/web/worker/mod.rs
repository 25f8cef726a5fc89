//! Worker mode: the socket, the decoders and the drawing run in a dedicated Web Worker that
//! owns the canvas as an `OffscreenCanvas`, so a busy main thread does not stall the
//! stream. The main thread ([`host::WorkerView`]) keeps what needs the DOM: the element,
//! the size and DPR watches, input capture, the embedder's callbacks.
//!
//! The two halves talk with `postMessage`, messages typed once in `messages.rs`
//! ([`messages::ToWorker`], [`messages::FromWorker`], declared in the package's TypeScript
//! too). A message without a body is its name (`"ready"`); any other is `{ name: body }`:
//!
//! | direction | message | body |
//! |-----------|---------|------|
//! | worker -> host | `"ready"` | (the wasm module is up; the host sends nothing before) |
//! | host -> worker | `start` | `canvas` (transferred), `options` (no callbacks), `layout`, `wantsStats` |
//! | host -> worker | `layout` | fit, background, CSS size, DPR, backing cap, device size |
//! | host -> worker | `send` | `bytes`: an encoded client message (input) to forward |
//! | host -> worker | `capture` | `id` |
//! | host -> worker | `"reconnect"`, `"dispose"` | |
//! | worker -> host | `state` | `state` |
//! | worker -> host | `error` | `message`, `details` (`stage`, `code`, `retryInMs`: a scheduled reconnect) |
//! | worker -> host | `stats` | `stats` (`ViewerStats`), `target` (frame size and DPR input maps onto) |
//! | worker -> host | `clipboard` | `text` (the app's clipboard offer) |
//! | worker -> host | `tick` | `stats`, `timing` (once a second, for `onStats`) |
//! | worker -> host | `capture` | `id`, `outcome`: `{ result }` (pixels transferred, with their `stats`) or `{ error }` |
//!
//! Input is mapped on the main thread with the same geometry the worker draws with: the
//! host knows the layout (it owns it) and the worker reports the frame it maps onto.

pub mod host;
pub mod messages;
mod offscreen;
pub mod runner;

/// A `postMessage`-side event handler slot (kept alive as long as its owner).
pub(super) type Handler<E> =
    std::cell::RefCell<Option<wasm_bindgen::closure::Closure<dyn FnMut(E)>>>;
