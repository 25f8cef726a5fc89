//! What the viewer reports to its embedder (state changes, errors, server statistics) and
//! how: the core and the session push [`ViewerEvent`]s into an [`EventSink`]; the
//! [`Deferred`] sink hands them to a handler from a microtask, after the code that produced
//! them has released its borrows, so a callback may call back into the view (even
//! `dispose()`) safely. `queueMicrotask` exists on windows and workers alike.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use rfb_protocol::{QualityTarget, Role, ServerStats};
use serde::{Deserialize, Serialize};
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use super::error::ViewerError;
use crate::server_report::ServerReport;

/// The connection state, as the `state` getter and `onState` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum ViewState {
    /// Probing capabilities and opening the WebSocket.
    Connecting,
    /// The WebSocket is open and `Hello` was sent.
    Open,
    /// The server sent its `Config`: frames are flowing.
    Negotiated,
    /// The connection ended and another attempt is scheduled; the last frame stays on
    /// screen meanwhile.
    Reconnecting,
    /// The connection is over (closed by either side, lost, or disposed).
    Closed,
    /// The viewer could not start (bad options, no usable decoder, no socket).
    Error,
}

impl ViewState {
    /// The JS name (`connecting`, `open`, `negotiated`, `closed`, `error`).
    pub fn name(self) -> &'static str {
        match self {
            ViewState::Connecting => "connecting",
            ViewState::Open => "open",
            ViewState::Negotiated => "negotiated",
            ViewState::Reconnecting => "reconnecting",
            ViewState::Closed => "closed",
            ViewState::Error => "error",
        }
    }

    /// True once nothing more will happen on this connection.
    pub fn is_final(self) -> bool {
        matches!(self, ViewState::Closed | ViewState::Error)
    }
}

/// One report to the embedder.
#[derive(Debug, Clone)]
pub enum ViewerEvent {
    /// The state changed.
    State(ViewState),
    /// Something failed.
    Error(ViewerError),
    /// The connection ended with `error` and the viewer tries again in `retry_in_ms`
    /// (reported to `onError` with a `retryInMs` property, logged as a warning).
    Disconnected {
        /// Why it ended.
        error: ViewerError,
        /// Delay before the next attempt, ms.
        retry_in_ms: f64,
    },
    /// The server pushed its measurements.
    ServerStats(ServerStats),
    /// The server changed the quality it targets for this viewer.
    Quality(QualityTarget),
    /// The server said what this viewer may do.
    Role(Role),
    /// The app offered text for the system clipboard.
    Clipboard(String),
}

/// Folds a report the server sent about itself (`ServerStats`, `Quality`) into `server`;
/// false (and nothing done) for any other event.
pub fn fold_server_report(server: &Cell<ServerReport>, event: &ViewerEvent, debug: bool) -> bool {
    let mut report = server.get();
    match event {
        ViewerEvent::ServerStats(stats) => report.on_stats(*stats),
        ViewerEvent::Role(role) => report.on_role(*role),
        ViewerEvent::Quality(quality) => {
            if debug {
                web_sys::console::debug_1(&JsValue::from_str(&format!(
                    "rfb-viewer: quality {quality:?}"
                )));
            }
            report.on_quality(*quality);
        }
        _ => return false,
    }
    server.set(report);
    true
}

/// Where the core and the session send their reports.
pub trait EventSink {
    /// Queues one report.
    fn emit(&self, event: ViewerEvent);
}

#[wasm_bindgen]
extern "C" {
    /// The global `queueMicrotask` (windows and workers).
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(callback: &js_sys::Function);
}

/// What receives the events.
pub type Handler = Rc<dyn Fn(ViewerEvent)>;

/// An [`EventSink`] that delivers events to `handler` from a microtask, in order.
pub struct Deferred {
    queue: RefCell<VecDeque<ViewerEvent>>,
    scheduled: Cell<bool>,
    handler: RefCell<Option<Handler>>,
    flush: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl Deferred {
    /// A sink that calls `handler` for each event.
    pub fn new(handler: Handler) -> Rc<Deferred> {
        let sink = Rc::new(Deferred {
            queue: RefCell::new(VecDeque::new()),
            scheduled: Cell::new(false),
            handler: RefCell::new(Some(handler)),
            flush: RefCell::new(None),
        });
        let weak: Weak<Deferred> = Rc::downgrade(&sink);
        let flush = Closure::<dyn FnMut()>::new(move || {
            if let Some(sink) = weak.upgrade() {
                sink.deliver();
            }
        });
        *sink.flush.borrow_mut() = Some(flush);
        sink
    }

    fn deliver(&self) {
        self.scheduled.set(false);
        loop {
            // Pop one at a time: a handler may emit (or detach) while we deliver.
            let Some(event) = self.queue.borrow_mut().pop_front() else {
                break;
            };
            // Clone the handler out: it may call `detach` (through `dispose()`).
            let handler = self.handler.borrow().clone();
            if let Some(handler) = handler {
                handler(event);
            }
        }
    }

    /// Stops delivering: events still queued or emitted later are discarded. Used by
    /// `dispose()`, after which no callback runs.
    pub fn detach(&self) {
        self.handler.borrow_mut().take();
        self.queue.borrow_mut().clear();
    }
}

impl EventSink for Deferred {
    fn emit(&self, event: ViewerEvent) {
        if self.handler.borrow().is_none() {
            return;
        }
        self.queue.borrow_mut().push_back(event);
        if !self.scheduled.replace(true) {
            if let Some(flush) = self.flush.borrow().as_ref() {
                queue_microtask(flush.as_ref().unchecked_ref());
            }
        }
    }
}
