//! Timers on the global `setInterval` / `setTimeout` (windows and workers alike), cleared
//! when dropped. Their callbacks are struct fields, not leaked.

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
    /// The global `setTimeout(handler, timeout)`.
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(handler: &js_sys::Function, timeout: i32) -> Result<JsValue, JsValue>;
    /// The global `clearTimeout(id)`.
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

fn timer_error(e: JsValue) -> ViewerError {
    ViewerError::Browser {
        what: "starting a timer",
        reason: js_reason(&e),
    }
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
        let id = set_interval(tick.as_ref().unchecked_ref(), every_ms).map_err(timer_error)?;
        Ok(Interval { id, _tick: tick })
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        clear_interval(&self.id);
    }
}

/// A pending `setTimeout`: `fire` runs once after the delay unless the timeout is dropped
/// first. Drop it from outside its own callback.
pub struct Timeout {
    id: JsValue,
    _fire: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Calls `fire` once after `after_ms` milliseconds.
    pub fn new(after_ms: i32, fire: impl FnOnce() + 'static) -> Result<Timeout, ViewerError> {
        let mut fire = Some(fire);
        let fire = Closure::<dyn FnMut()>::new(move || {
            if let Some(fire) = fire.take() {
                fire();
            }
        });
        let id = set_timeout(fire.as_ref().unchecked_ref(), after_ms).map_err(timer_error)?;
        Ok(Timeout { id, _fire: fire })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}
