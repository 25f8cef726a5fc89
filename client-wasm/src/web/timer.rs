//! A repeating timer on the global `setInterval` (windows and workers alike), cleared when
//! dropped. Its callback is a struct field, not leaked.

use wasm_bindgen::prelude::*;

use super::error::{js_reason, ViewerError};

#[wasm_bindgen]
extern "C" {
    /// The global `setInterval(handler, timeout)`.
    #[wasm_bindgen(js_name = setInterval, catch)]
    fn set_interval(handler: &js_sys::Function, timeout: i32) -> Result<JsValue, JsValue>;
    /// The global `clearInterval(id)`.
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(id: &JsValue);
}

/// A running `setInterval`. Drop it from outside its own callback.
pub struct Interval {
    id: JsValue,
    _tick: Closure<dyn FnMut()>,
}

impl Interval {
    /// Calls `tick` every `every_ms` milliseconds until dropped.
    pub fn new(every_ms: i32, tick: impl FnMut() + 'static) -> Result<Interval, ViewerError> {
        let tick = Closure::<dyn FnMut()>::new(tick);
        let id = set_interval(tick.as_ref().unchecked_ref(), every_ms).map_err(|e| {
            ViewerError::Browser {
                what: "starting a timer",
                reason: js_reason(&e),
            }
        })?;
        Ok(Interval { id, _tick: tick })
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        clear_interval(&self.id);
    }
}
