//! Text the app offers for the system clipboard (`Display::set_clipboard`), written with
//! `navigator.clipboard.writeText` where the browser allows it.
//!
//! Browsers guard clipboard writes: Chromium lets a focused page write (the
//! `clipboard-write` permission is granted to the active tab), Firefox and Safari only
//! during a user gesture (transient activation). So an offer is written at once if the
//! browser accepts, and otherwise kept and written at the next gesture on the view (a
//! pointer down or a key press; a newer offer replaces it). Either way the embedder hears
//! of it (`onClipboard`, `rfb-clipboard`) and may show its own "copy" button.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::error::js_reason;

#[wasm_bindgen]
extern "C" {
    /// `navigator.clipboard.writeText(text)` (throws where there is no async clipboard).
    #[wasm_bindgen(js_namespace = ["navigator", "clipboard"], js_name = writeText, catch)]
    fn write_text(text: &str) -> Result<js_sys::Promise, JsValue>;
}

/// The offer not yet written.
#[derive(Default)]
pub struct ClipboardOffer {
    pending: RefCell<Option<String>>,
}

impl ClipboardOffer {
    /// A new offer: written now if the browser allows, else at the next gesture.
    pub fn offer(self: &Rc<Self>, text: String) {
        *self.pending.borrow_mut() = Some(text.clone());
        self.write(text, false);
    }

    /// A user gesture on the view: write what is pending (from inside the gesture).
    pub fn gesture(self: &Rc<Self>) {
        let pending = self.pending.borrow().clone();
        if let Some(text) = pending {
            self.write(text, true);
        }
    }

    fn write(self: &Rc<Self>, text: String, in_gesture: bool) {
        let promise = match write_text(&text) {
            Ok(promise) => promise,
            Err(e) => return warn(&e),
        };
        let weak: Weak<ClipboardOffer> = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let result = JsFuture::from(promise).await;
            let Some(offer) = weak.upgrade() else { return };
            match result {
                Ok(_) => {
                    // Written: unless a newer offer came meanwhile, nothing is pending.
                    let mut pending = offer.pending.borrow_mut();
                    if pending.as_deref() == Some(text.as_str()) {
                        *pending = None;
                    }
                }
                // Refused without a gesture: it waits for one. Refused in one: say why.
                Err(e) if in_gesture => {
                    offer.pending.borrow_mut().take();
                    warn(&e);
                }
                Err(_) => {}
            }
        });
    }
}

fn warn(e: &JsValue) {
    web_sys::console::warn_1(&JsValue::from_str(&format!(
        "rfb-viewer: the app's clipboard text could not be written: {}",
        js_reason(e)
    )));
}
