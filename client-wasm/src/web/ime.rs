//! Text from input methods (IME composition, dictation, an emoji picker) on a bare canvas,
//! through an `EditContext` attached to it (Chromium 121+; elsewhere there is none and only
//! key events reach the app). A canvas cannot otherwise be the target of a composition.
//!
//! Key presses stay key events (the viewer `preventDefault`s them, so they insert no
//! text); what the input method commits arrives once as `InputEvent::Text`: the
//! `compositionend` data, or a `textupdate` outside any composition (dictation). The
//! context's buffer is emptied after each commit, so it never grows.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{Event, HtmlCanvasElement};

/// One listener on the context: the event type and its callback.
type Listener = (&'static str, Closure<dyn FnMut(Event)>);

/// An `EditContext` on the canvas and its listeners.
pub struct Ime {
    context: JsValue,
    canvas: std::cell::RefCell<HtmlCanvasElement>,
    listeners: Vec<Listener>,
}

fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
    let f = Reflect::get(target, &method.into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let args: js_sys::Array = args.iter().collect();
    f.apply(target, &args).ok()
}

impl Ime {
    /// Attaches an `EditContext` to `canvas` where the browser has one (else `None`);
    /// `on_text(text, time_stamp_ms)` gets each commit.
    pub fn attach(
        canvas: &HtmlCanvasElement,
        on_text: impl Fn(String, f64) + 'static,
    ) -> Option<Ime> {
        let constructor = Reflect::get(&js_sys::global(), &"EditContext".into())
            .ok()?
            .dyn_into::<Function>()
            .ok()?;
        let context = Reflect::construct(&constructor, &js_sys::Array::new()).ok()?;
        Reflect::set(canvas, &"editContext".into(), &context).ok()?;
        let on_text = Rc::new(on_text);
        let composing = Rc::new(Cell::new(false));
        let clear = {
            let context = context.clone();
            move || {
                let len = Reflect::get(&context, &"text".into())
                    .ok()
                    .and_then(|t| t.as_string())
                    .map_or(0, |t| t.encode_utf16().count());
                call(
                    &context,
                    "updateText",
                    &[0.into(), (len as u32).into(), "".into()],
                );
                call(&context, "updateSelection", &[0.into(), 0.into()]);
            }
        };
        let clear = Rc::new(clear);
        let mut listeners: Vec<Listener> = Vec::new();
        {
            let composing = composing.clone();
            listeners.push((
                "compositionstart",
                Closure::new(move |_: Event| composing.set(true)),
            ));
        }
        {
            let (composing, on_text, clear) = (composing.clone(), on_text.clone(), clear.clone());
            listeners.push((
                "compositionend",
                Closure::new(move |e: Event| {
                    composing.set(false);
                    let data = Reflect::get(&e, &"data".into())
                        .ok()
                        .and_then(|d| d.as_string());
                    if let Some(text) = data.filter(|t| !t.is_empty()) {
                        on_text(text, e.time_stamp());
                    }
                    clear();
                }),
            ));
        }
        {
            let (composing, on_text, clear) = (composing, on_text, clear);
            listeners.push((
                "textupdate",
                Closure::new(move |e: Event| {
                    if composing.get() {
                        return; // the commit comes with compositionend
                    }
                    let text = Reflect::get(&e, &"text".into())
                        .ok()
                        .and_then(|t| t.as_string());
                    if let Some(text) = text.filter(|t| !t.is_empty()) {
                        on_text(text, e.time_stamp());
                    }
                    clear();
                }),
            ));
        }
        for (kind, callback) in &listeners {
            call(
                &context,
                "addEventListener",
                &[JsValue::from_str(kind), callback.as_ref().clone()],
            );
        }
        Some(Ime {
            context,
            canvas: std::cell::RefCell::new(canvas.clone()),
            listeners,
        })
    }

    /// The canvas was replaced: the context moves to `new`.
    pub fn retarget(&self, new: &HtmlCanvasElement) {
        let old = self.canvas.replace(new.clone());
        // Setting a property on an element cannot fail.
        let _ = Reflect::set(&old, &"editContext".into(), &JsValue::NULL);
        let _ = Reflect::set(new, &"editContext".into(), &self.context);
    }

    /// Detaches the context from the canvas and removes the listeners.
    pub fn dispose(&self) {
        for (kind, callback) in &self.listeners {
            call(
                &self.context,
                "removeEventListener",
                &[JsValue::from_str(kind), callback.as_ref().clone()],
            );
        }
        let _ = Reflect::set(&self.canvas.borrow(), &"editContext".into(), &JsValue::NULL);
    }
}
