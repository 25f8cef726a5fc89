//! Input capture (main thread): pointer, wheel and key listeners on the canvas that turn DOM
//! events into `ClientMessage::Input`. The mapping and pacing decisions are the pure
//! [`crate::input`] module; positions go through the geometry the core draws the frame on
//! screen with ([`ViewerCore::input_target`]), so a click reports the frame pixel under it.
//!
//! - Pointer Events, so mouse, pen and touch arrive alike (with `pointer_type`). A down
//!   focuses the canvas (it gets `tabindex=0`) and captures the pointer, so a drag that
//!   leaves the canvas keeps reporting (with `inside: false` and clamped coordinates).
//!   `touch-action: none` stops the browser from scrolling or zooming on touch drags.
//! - Moves are paced per animation frame: a hovering pointer's latest position, every
//!   point of a drag (with the points `getCoalescedEvents()` recovers); downs, ups,
//!   wheels and keys go out at once, after any pending move.
//! - Wheel and key events are `preventDefault`ed (the page neither scrolls nor reacts to
//!   keys meant for the app); key listeners sit on the canvas, so they only fire while it
//!   has focus. Tab is forwarded but not prevented, so keyboard users can leave the canvas.
//!   The context menu is suppressed so right-clicks reach the app.
//! - Nothing stays held in the app ([`HeldInputs`]): when the canvas loses focus (Tab, a
//!   click elsewhere), the window loses focus (Alt-Tab), the page is hidden, pointer
//!   capture is lost or the browser cancels a pointer, the viewer sends the `key_up`s and
//!   `pointer_up`s the browser will never deliver to it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use rfb_protocol::input::{Modifiers, PointerKind};
use rfb_protocol::{InputEvent, InputMessage};
use wasm_bindgen::prelude::*;
use web_sys::{
    AddEventListenerOptions, Event, FocusOptions, HtmlCanvasElement, KeyboardEvent, MouseEvent,
    PointerEvent, WheelEvent,
};

use super::boxes::element_box;
use super::clipboard::ClipboardOffer;
use super::core::Outbox;
use super::error::ViewerError;
use super::events::{EventSink, ViewerEvent};
use super::ime::Ime;
use crate::held::HeldInputs;
use crate::input::{
    key_event, paste_event, pointer_phase, text_event, timestamp_s, wheel_pixels, InputTarget,
    MoveCoalescer, Pen, PointerPhase, PointerSample,
};

#[wasm_bindgen]
extern "C" {
    /// A `MouseEvent` whose coordinates are read as the doubles they are (web-sys's
    /// `client_x` truncates them to integers).
    type PreciseMouseEvent;
    #[wasm_bindgen(method, getter, js_name = clientX)]
    fn client_x(this: &PreciseMouseEvent) -> f64;
    #[wasm_bindgen(method, getter, js_name = clientY)]
    fn client_y(this: &PreciseMouseEvent) -> f64;
}

/// The DOM events listened to on the canvas.
const EVENTS: [&str; 11] = [
    "pointerdown",
    "pointermove",
    "pointerup",
    "pointercancel",
    "lostpointercapture",
    "wheel",
    "keydown",
    "keyup",
    "contextmenu",
    "blur",
    "paste",
];

/// The events on the window and the document after which the canvas gets no more key or
/// button releases: the window lost focus (Alt-Tab), the page was hidden.
const PAGE_EVENTS: [(PageTarget, &str); 2] = [
    (PageTarget::Window, "blur"),
    (PageTarget::Document, "visibilitychange"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageTarget {
    Window,
    Document,
}

impl PageTarget {
    fn get(self) -> Option<web_sys::EventTarget> {
        let window = web_sys::window()?;
        match self {
            PageTarget::Window => Some(window.into()),
            PageTarget::Document => window.document().map(Into::into),
        }
    }
}

/// One listener: the event type and its callback, kept so it can be removed.
struct Listener {
    kind: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

/// Where pointer positions are mapped to: the frame on screen and the geometry it is drawn
/// with (the core in-thread; the worker's last report in worker mode).
pub trait InputGeometry {
    /// The mapping, `None` before there is a frame to map onto.
    fn input_target(&self) -> Option<InputTarget>;

    /// False while the server says this viewer only watches (`Role::View`): then no input
    /// is sent (the server would drop it) and keys and pastes are left to the page.
    fn may_control(&self) -> bool {
        true
    }
}

/// What the embedder's canvas looked like before input was enabled, restored on dispose.
struct Restore {
    tabindex_added: bool,
    touch_action: String,
}

/// A `requestAnimationFrame` callback.
type FrameCallback = Closure<dyn FnMut(f64)>;

struct Shared {
    canvas: RefCell<HtmlCanvasElement>,
    geometry: Rc<dyn InputGeometry>,
    outbox: Rc<dyn Outbox>,
    events: Rc<dyn EventSink>,
    clipboard: Rc<ClipboardOffer>,
    moves: RefCell<MoveCoalescer>,
    /// What the app was told is held down (released when the canvas loses the input).
    held: RefCell<HeldInputs>,
    listeners: RefCell<Vec<Listener>>,
    /// Listeners on the window and the document.
    page_listeners: RefCell<Vec<(PageTarget, Listener)>>,
    /// The `requestAnimationFrame` callback that sends coalesced moves, and its pending id.
    frame: RefCell<Option<FrameCallback>>,
    frame_id: Cell<Option<i32>>,
    restore: RefCell<Option<Restore>>,
    /// The `EditContext` input methods commit text through (where the browser has one).
    ime: RefCell<Option<Ime>>,
    /// The id of the last input sent (ids are 1, 2, 3... for the life of the view).
    last_input_id: Cell<u64>,
    /// `performance.timeOrigin` of the page, for the events' times since the epoch.
    time_origin: f64,
    disposed: Cell<bool>,
}

/// The input listeners of one view.
pub struct InputCapture {
    shared: Rc<Shared>,
}

fn modifiers_of(e: &MouseEvent) -> Modifiers {
    Modifiers::from_flags(e.shift_key(), e.ctrl_key(), e.alt_key(), e.meta_key())
}

impl InputCapture {
    /// Starts forwarding input on `canvas` through `outbox`, mapped with `geometry`.
    pub fn new(
        canvas: HtmlCanvasElement,
        geometry: Rc<dyn InputGeometry>,
        outbox: Rc<dyn Outbox>,
        events: Rc<dyn EventSink>,
        clipboard: Rc<ClipboardOffer>,
    ) -> Result<InputCapture, ViewerError> {
        let shared = Rc::new(Shared {
            canvas: RefCell::new(canvas.clone()),
            geometry,
            outbox,
            events,
            clipboard,
            moves: RefCell::new(MoveCoalescer::default()),
            held: RefCell::new(HeldInputs::default()),
            listeners: RefCell::new(Vec::new()),
            page_listeners: RefCell::new(Vec::new()),
            frame: RefCell::new(None),
            frame_id: Cell::new(None),
            restore: RefCell::new(None),
            ime: RefCell::new(None),
            last_input_id: Cell::new(0),
            time_origin: super::core::time_origin(),
            disposed: Cell::new(false),
        });
        let weak = Rc::downgrade(&shared);
        *shared.frame.borrow_mut() = Some(Closure::new(move |_time: f64| {
            if let Some(shared) = weak.upgrade() {
                shared.frame_id.set(None);
                let moves = shared.moves.borrow_mut().animation_frame();
                moves.into_iter().for_each(|m| shared.send(m));
            }
        }));
        let listeners = EVENTS
            .iter()
            .map(|&kind| {
                let weak: Weak<Shared> = Rc::downgrade(&shared);
                let callback = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                    if let Some(shared) = weak.upgrade() {
                        shared.dispatch(kind, event);
                    }
                });
                Listener { kind, callback }
            })
            .collect();
        *shared.listeners.borrow_mut() = listeners;
        *shared.restore.borrow_mut() = Some(prepare(&canvas)?);
        shared.attach(&canvas)?;
        shared.attach_page()?;
        let weak = Rc::downgrade(&shared);
        *shared.ime.borrow_mut() = Ime::attach(&canvas, move |text, time_stamp_ms| {
            if let Some(shared) = weak.upgrade() {
                if !shared.disposed.get() {
                    shared.send_in_order(text_event(text, time_stamp_ms));
                }
            }
        });
        Ok(InputCapture { shared })
    }

    /// The canvas was replaced (see `surface.rs`, which also moves the focus): listen on
    /// `new` instead.
    pub fn retarget(&self, new: &HtmlCanvasElement) {
        let s = &self.shared;
        if s.disposed.get() {
            return;
        }
        let old = s.canvas.replace(new.clone());
        s.detach(&old);
        if let Some(ime) = s.ime.borrow().as_ref() {
            ime.retarget(new);
        }
        if let Err(e) = s.attach(new) {
            s.events.emit(ViewerEvent::Error(e));
        }
    }

    /// Removes every listener, cancels the pending animation frame and restores the
    /// canvas's `tabindex` and `touch-action`.
    pub fn dispose(&self) {
        let s = &self.shared;
        if s.disposed.replace(true) {
            return;
        }
        let canvas = s.canvas.borrow().clone();
        s.detach(&canvas);
        s.detach_page();
        if let Some(ime) = s.ime.borrow_mut().take() {
            ime.dispose();
        }
        if let (Some(id), Some(window)) = (s.frame_id.take(), web_sys::window()) {
            // Cancelling an unknown id is a no-op: it cannot fail.
            let _ = window.cancel_animation_frame(id);
        }
        if let Some(restore) = s.restore.borrow_mut().take() {
            if restore.tabindex_added {
                // Removing an attribute cannot fail.
                let _ = canvas.remove_attribute("tabindex");
            }
            let _ = canvas
                .style()
                .set_property("touch-action", &restore.touch_action);
        }
    }
}

impl Drop for InputCapture {
    fn drop(&mut self) {
        self.dispose();
    }
}

/// Makes the canvas focusable and stops touch gestures from scrolling the page.
fn prepare(canvas: &HtmlCanvasElement) -> Result<Restore, ViewerError> {
    let dom_error = |e: JsValue| ViewerError::Browser {
        what: "preparing the canvas for input",
        reason: super::error::js_reason(&e),
    };
    let tabindex_added = !canvas.has_attribute("tabindex");
    if tabindex_added {
        canvas.set_attribute("tabindex", "0").map_err(dom_error)?;
    }
    let style = canvas.style();
    let touch_action = style
        .get_property_value("touch-action")
        .map_err(dom_error)?;
    style
        .set_property("touch-action", "none")
        .map_err(dom_error)?;
    Ok(Restore {
        tabindex_added,
        touch_action,
    })
}

/// `e.getCoalescedEvents()`: the moves the browser merged into `e` (empty where the
/// browser has none, and for synthetic events).
fn coalesced(e: &PointerEvent) -> Vec<PointerEvent> {
    let Ok(get) = js_sys::Reflect::get(e, &"getCoalescedEvents".into()) else {
        return Vec::new();
    };
    let Ok(get) = get.dyn_into::<js_sys::Function>() else {
        return Vec::new();
    };
    match get.call0(e) {
        Ok(list) => js_sys::Array::from(&list)
            .iter()
            .filter_map(|v| v.dyn_into::<PointerEvent>().ok())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Focuses the canvas without scrolling the page to it.
pub fn focus(canvas: &HtmlCanvasElement) {
    let options = FocusOptions::new();
    options.set_prevent_scroll(true);
    // focus() on a connected, focusable element does not throw.
    let _ = canvas.focus_with_options(&options);
}

impl Shared {
    fn attach(&self, canvas: &HtmlCanvasElement) -> Result<(), ViewerError> {
        // Not passive: wheel and touch handlers call preventDefault.
        let options = AddEventListenerOptions::new();
        options.set_passive(false);
        for l in self.listeners.borrow().iter() {
            canvas
                .add_event_listener_with_callback_and_add_event_listener_options(
                    l.kind,
                    l.callback.as_ref().unchecked_ref(),
                    &options,
                )
                .map_err(|e| ViewerError::Browser {
                    what: "listening for input",
                    reason: super::error::js_reason(&e),
                })?;
        }
        Ok(())
    }

    /// Listens on the window and the document (see [`PAGE_EVENTS`]).
    fn attach_page(self: &Rc<Self>) -> Result<(), ViewerError> {
        for (target, kind) in PAGE_EVENTS {
            let Some(on) = target.get() else { continue };
            let weak: Weak<Shared> = Rc::downgrade(self);
            let callback = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                if let Some(shared) = weak.upgrade() {
                    shared.page_event(kind, &event);
                }
            });
            on.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref())
                .map_err(|e| ViewerError::Browser {
                    what: "listening for focus and visibility changes",
                    reason: super::error::js_reason(&e),
                })?;
            self.page_listeners
                .borrow_mut()
                .push((target, Listener { kind, callback }));
        }
        Ok(())
    }

    fn detach_page(&self) {
        for (target, l) in self.page_listeners.borrow_mut().drain(..) {
            if let Some(on) = target.get() {
                // Removing a listener never throws for a function argument.
                let _ = on.remove_event_listener_with_callback(
                    l.kind,
                    l.callback.as_ref().unchecked_ref(),
                );
            }
        }
    }

    /// The window lost focus or the page's visibility changed.
    fn page_event(&self, kind: &str, event: &Event) {
        if self.disposed.get() {
            return;
        }
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden());
        if kind == "blur" || hidden {
            self.release_all(event.time_stamp());
        }
    }

    /// Sends a release for everything the app was told is held.
    fn release_all(&self, time_stamp_ms: f64) {
        let pending = self.moves.borrow_mut().flush();
        pending.into_iter().for_each(|m| self.send(m));
        let released = self
            .held
            .borrow_mut()
            .release_all(timestamp_s(time_stamp_ms));
        released.into_iter().for_each(|e| self.send_unfiltered(e));
    }

    /// Sends a release for the buttons of one pointer (its capture was lost or the browser
    /// cancelled it).
    fn release_pointer(&self, pointer_id: i32, time_stamp_ms: f64) {
        let pending = self.moves.borrow_mut().flush();
        pending.into_iter().for_each(|m| self.send(m));
        let released = self
            .held
            .borrow_mut()
            .release_pointer(pointer_id, timestamp_s(time_stamp_ms));
        released.into_iter().for_each(|e| self.send_unfiltered(e));
    }

    fn detach(&self, canvas: &HtmlCanvasElement) {
        for l in self.listeners.borrow().iter() {
            // Removing a listener never throws for a function argument.
            let _ = canvas
                .remove_event_listener_with_callback(l.kind, l.callback.as_ref().unchecked_ref());
        }
    }

    /// Text pasted into the focused view reaches the app as one `paste` event (at most
    /// `MAX_TEXT_BYTES`, cut at a character boundary).
    fn on_paste(&self, event: &Event) {
        if !self.geometry.may_control() {
            return;
        }
        let text = js_sys::Reflect::get(event, &"clipboardData".into())
            .ok()
            .filter(|d| !d.is_null() && !d.is_undefined())
            .and_then(|data| {
                let get = js_sys::Reflect::get(&data, &"getData".into()).ok()?;
                let get = get.dyn_into::<js_sys::Function>().ok()?;
                get.call1(&data, &"text/plain".into()).ok()?.as_string()
            });
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return;
        };
        event.prevent_default();
        self.send_in_order(paste_event(text, event.time_stamp()));
    }

    fn send(&self, event: InputEvent) {
        if !self.geometry.may_control() {
            return; // a watcher: the server would drop it
        }
        // Ups of nothing held and buttons already released for the app are left out.
        let Some(event) = self.held.borrow().filter(event) else {
            return;
        };
        self.held.borrow_mut().observe(&event);
        self.send_unfiltered(event);
    }

    /// Sends `event` as it is (the releases [`HeldInputs`] made: it already forgot them)
    /// with the next input id, and its DOM event's time for input -> photon.
    fn send_unfiltered(&self, event: InputEvent) {
        let id = self.last_input_id.get() + 1;
        self.last_input_id.set(id);
        let event_at_ms = event.timestamp().map(|s| self.time_origin + s * 1000.0);
        let input = InputMessage::new(id, event);
        if let Err(e) = self.outbox.send_input(input, event_at_ms) {
            self.events.emit(ViewerEvent::Error(e));
        }
    }

    /// Sends `event` now, after any coalesced move still waiting, so order is kept.
    fn send_in_order(&self, event: InputEvent) {
        let pending = self.moves.borrow_mut().flush();
        pending.into_iter().for_each(|m| self.send(m));
        self.send(event);
    }

    fn dispatch(&self, kind: &'static str, event: Event) {
        if self.disposed.get() {
            return;
        }
        match kind {
            "wheel" => {
                if let Some(e) = event.dyn_ref::<WheelEvent>() {
                    self.on_wheel(e);
                }
            }
            "keydown" | "keyup" => {
                if kind == "keydown" {
                    self.clipboard.gesture();
                }
                if let Some(e) = event.dyn_ref::<KeyboardEvent>() {
                    if self.geometry.may_control() {
                        self.on_key(kind == "keydown", e);
                    }
                }
            }
            "paste" => self.on_paste(&event),
            "contextmenu" => event.prevent_default(),
            // Focus left the canvas: key releases now go elsewhere.
            "blur" => self.release_all(event.time_stamp()),
            "pointercancel" | "lostpointercapture" => {
                if let Some(e) = event.dyn_ref::<PointerEvent>() {
                    self.release_pointer(e.pointer_id(), e.time_stamp());
                }
            }
            _ => {
                if let Some(e) = event.dyn_ref::<PointerEvent>() {
                    self.on_pointer(kind, e);
                }
            }
        }
    }

    /// The pointer position in the canvas's content box, in its own CSS pixels (through any
    /// CSS transform that scales it, less border and padding); `target` gives the content
    /// box's size.
    fn sample(
        &self,
        e: &MouseEvent,
        target: &InputTarget,
        pointer_type: PointerKind,
        pointer_id: i32,
    ) -> PointerSample {
        let canvas = self.canvas.borrow();
        let content = (target.geometry.css_width, target.geometry.css_height);
        let precise = e.unchecked_ref::<PreciseMouseEvent>();
        let (css_x, css_y) =
            element_box(&canvas, content).content_point(precise.client_x(), precise.client_y());
        PointerSample {
            css_x,
            css_y,
            button: e.button(),
            buttons: e.buttons(),
            modifiers: modifiers_of(e),
            pointer_type,
            pointer_id,
            time_stamp_ms: e.time_stamp(),
            pen: Pen::default(),
        }
    }

    fn on_pointer(&self, kind: &str, e: &PointerEvent) {
        let Some(phase) = pointer_phase(kind, e.button(), e.buttons()) else {
            return;
        };
        if kind == "pointerdown" {
            self.clipboard.gesture();
            // No text selection or native drag; focus (for keys) and capture (for drags
            // that leave the canvas) explicitly instead.
            e.prevent_default();
            let canvas = self.canvas.borrow().clone();
            focus(&canvas);
            // Fails only when the pointer is no longer active (e.g. a synthetic event):
            // then there is nothing to capture.
            let _ = canvas.set_pointer_capture(e.pointer_id());
        }
        let Some(target) = self.geometry.input_target() else {
            return; // no frame yet: nothing to map onto
        };
        let kind = PointerKind::from_dom(&e.pointer_type());
        let event_of = |e: &PointerEvent| {
            let mut sample = self.sample(e, &target, kind, e.pointer_id());
            sample.pen = Pen::from_dom(
                e.pressure(),
                f64::from(e.tilt_x()),
                f64::from(e.tilt_y()),
                f64::from(e.twist()),
            );
            target.pointer(phase, &sample)
        };
        if phase != PointerPhase::Move {
            self.send_in_order(event_of(e));
            return;
        }
        // A drag keeps the points the browser merged into this event.
        let merged = if e.buttons() != 0 {
            coalesced(e)
        } else {
            Vec::new()
        };
        let mut request = false;
        if merged.is_empty() {
            request |= self.moves.borrow_mut().moved(event_of(e));
        } else {
            for m in &merged {
                request |= self.moves.borrow_mut().moved(event_of(m));
            }
        }
        if request {
            self.request_frame();
        }
    }

    fn request_frame(&self) {
        let requested = web_sys::window()
            .zip(self.frame.borrow().as_ref())
            .map(|(w, f)| w.request_animation_frame(f.as_ref().unchecked_ref()));
        match requested {
            Some(Ok(id)) => self.frame_id.set(Some(id)),
            _ => {
                // No animation frames here: send at once rather than never.
                let moves = self.moves.borrow_mut().animation_frame();
                moves.into_iter().for_each(|m| self.send(m));
            }
        }
    }

    fn on_wheel(&self, e: &WheelEvent) {
        e.prevent_default();
        let Some(target) = self.geometry.input_target() else {
            return;
        };
        let sample = self.sample(e, &target, PointerKind::Mouse, 0);
        let page = (target.geometry.css_width, target.geometry.css_height);
        let delta = wheel_pixels(e.delta_x(), e.delta_y(), e.delta_mode(), page);
        self.send_in_order(target.wheel(&sample, delta));
    }

    fn on_key(&self, down: bool, e: &KeyboardEvent) {
        let key = e.key();
        if e.is_composing() || key == "Process" {
            // An input method is composing: the keys are its own; its result comes as
            // one `text` event (see `ime.rs`).
            return;
        }
        if key != "Tab" {
            e.prevent_default();
        }
        let modifiers =
            Modifiers::from_flags(e.shift_key(), e.ctrl_key(), e.alt_key(), e.meta_key());
        self.send_in_order(key_event(
            down,
            key,
            e.code(),
            modifiers,
            e.repeat(),
            e.time_stamp(),
        ));
    }
}
