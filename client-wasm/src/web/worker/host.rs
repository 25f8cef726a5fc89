//! `WorkerView`: the main-thread half of worker mode. The element side (canvas, size and
//! DPR watches, input, accessibility, `setFit`) is the [`Shell`] both views share; this
//! back-end transfers the canvas to the worker, posts it the layout, mirrors what the
//! worker reports (state, stats, the frame input maps onto) and calls the embedder's
//! callbacks.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use rfb_protocol::{encode_client, ClientMessage, InputMessage};
use wasm_bindgen::prelude::*;
use web_sys::{Event, HtmlCanvasElement, MessageEvent, Worker};

use super::messages::{CaptureOutcome, FromWorker, InputStamp, StartWorker, ToWorker, WorkerError};
use super::Handler;
use crate::input::InputTarget;
use crate::server_report::ServerReport;
use crate::web::api::{from_js, to_js, RemoteFramebufferViewOptions, ViewerStats};
use crate::web::clipboard::ClipboardOffer;
use crate::web::core::{CoreStats, Outbox};
use crate::web::error::{js_reason, ViewerError};
use crate::web::events::{Deferred, EventSink, ViewState, ViewerEvent};
use crate::web::input::InputGeometry;
use crate::web::options::{self, Options};
use crate::web::shell::{Backend, Shell};
use crate::web::surface::Layout;
use crate::web::timer::Timeout;
use crate::web::view::{call, event_handler};

/// How long a disposed view's worker gets to close its socket cleanly (1000) before it is
/// terminated.
const DISPOSE_GRACE_MS: i32 = 1000;

/// A view whose connection, decoding and drawing run in a Web Worker.
#[wasm_bindgen]
pub struct WorkerView {
    host: Rc<Host>,
}

type Pending = (Function, Function);

struct Host {
    worker: Worker,
    /// The element side: canvas, watches, input, accessibility.
    shell: Rc<Shell>,
    /// The layout last sent to the worker.
    layout: RefCell<Layout>,
    /// The worker said `ready`; before that, messages wait in `queue`.
    ready: Cell<bool>,
    queue: RefCell<Vec<(ToWorker, Option<Array>)>>,
    state: Cell<ViewState>,
    /// The worker's last `ViewerStats`.
    stats: RefCell<ViewerStats>,
    /// The frame input maps onto, as the worker last reported it.
    target: Cell<Option<(u32, u32, f32)>>,
    sink: Rc<Deferred>,
    on_stats: Option<Function>,
    captures: RefCell<HashMap<u32, Pending>>,
    next_capture: Cell<u32>,
    on_message: Handler<MessageEvent>,
    on_error: Handler<Event>,
    on_message_error: Handler<MessageEvent>,
    /// Fails the view if the worker has not said `ready` in time.
    ready_timeout: RefCell<Option<Timeout>>,
    disposed: Cell<bool>,
}

impl Backend for Host {
    fn layout(&self) -> Layout {
        self.layout.borrow().clone()
    }

    fn set_layout(&self, layout: Layout) {
        if self.disposed.get() || *self.layout.borrow() == layout {
            return;
        }
        *self.layout.borrow_mut() = layout.clone();
        self.post(ToWorker::Layout((&layout).into()), None);
    }
}

/// What input capture talks to: the host, weakly (the host owns the capture).
struct Mirror(Weak<Host>);

impl InputGeometry for Mirror {
    fn input_target(&self) -> Option<InputTarget> {
        let host = self.0.upgrade()?;
        let (width, height, pixel_ratio) = host.target.get()?;
        let geometry = host.layout.borrow().geometry(width, height);
        Some(InputTarget {
            geometry,
            pixel_ratio,
        })
    }

    fn may_control(&self) -> bool {
        let Some(host) = self.0.upgrade() else {
            return false;
        };
        let may_control = host.stats.borrow().may_control();
        may_control
    }
}

impl Mirror {
    fn post_encoded(&self, msg: &ClientMessage, input: Option<InputStamp>) {
        if let Some(host) = self.0.upgrade() {
            let bytes = Uint8Array::from(encode_client(msg).as_slice());
            host.post(ToWorker::Send { bytes, input }, None);
        }
    }
}

impl Outbox for Mirror {
    fn send(&self, msg: &ClientMessage) -> Result<(), ViewerError> {
        self.post_encoded(msg, None);
        Ok(())
    }

    fn send_input(&self, input: InputMessage, event_at_ms: Option<f64>) -> Result<(), ViewerError> {
        let stamp = event_at_ms.map(|event_at_ms| InputStamp {
            id: input.id,
            event_at_ms,
        });
        self.post_encoded(&ClientMessage::Input(input), stamp);
        Ok(())
    }
}

fn worker_error(reason: String) -> ViewerError {
    ViewerError::Browser {
        what: "the viewer worker",
        reason,
    }
}

#[wasm_bindgen]
impl WorkerView {
    /// Shows a stream in `element` (a `<canvas>`, used as is, or a container, in which a
    /// canvas is created) with the connection, decoding and drawing in `worker`, a Web
    /// Worker running the package's `worker.js` (or a copy of it). The canvas is
    /// transferred to the worker, so it must not have a context yet.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "HTMLElement")] element: JsValue,
        worker: Worker,
        #[wasm_bindgen(unchecked_optional_param_type = "RemoteFramebufferViewOptions")]
        options: JsValue,
    ) -> Result<WorkerView, JsValue> {
        crate::web::install_panic_hook();
        Host::create(element, worker, &options)
            .map(|host| WorkerView { host })
            .map_err(|e| e.to_js(None))
    }

    /// The viewer's stats as the worker last reported them (at most a few tens of
    /// milliseconds old); see `ViewerStats`.
    #[wasm_bindgen(unchecked_return_type = "ViewerStats")]
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&*self.host.stats.borrow()).map_err(|e| e.to_js(None))
    }

    /// The canvas the view shows (its drawing happens in the worker).
    #[wasm_bindgen(getter)]
    pub fn canvas(&self) -> HtmlCanvasElement {
        self.host.shell.canvas()
    }

    /// `connecting`, `open`, `negotiated`, `reconnecting`, `closed` or `error`.
    #[wasm_bindgen(getter, unchecked_return_type = "ViewState")]
    pub fn state(&self) -> String {
        self.host.state.get().name().to_string()
    }

    /// The canvas pixels and the stats of the frame they show: resolves to
    /// `{ width, height, colorSpace, data, stats }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<CaptureResult>")]
    pub fn capture(&self) -> Promise {
        let host = &self.host;
        let id = host.next_capture.get();
        host.next_capture.set(id.wrapping_add(1));
        let mut pending = None;
        let promise = Promise::new(&mut |resolve, reject| pending = Some((resolve, reject)));
        let Some((resolve, reject)) = pending else {
            return promise;
        };
        if host.disposed.get() {
            let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new("the view is disposed"));
            return promise;
        }
        host.captures.borrow_mut().insert(id, (resolve, reject));
        host.post(ToWorker::Capture { id }, None);
        promise
    }

    /// Changes the fit mode and optionally the letterbox colour.
    #[wasm_bindgen(js_name = setFit)]
    pub fn set_fit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FitMode")] fit: String,
        background: Option<String>,
    ) -> Result<(), JsValue> {
        self.host.shell.set_fit(&fit, background)
    }

    /// Drops the connection (if any) and connects again now.
    pub fn reconnect(&self) {
        if !self.host.disposed.get() {
            self.host.post(ToWorker::Reconnect, None);
        }
    }

    /// Closes the connection, ends the worker and removes every listener; no callback runs
    /// afterwards. A canvas the view created is removed.
    pub fn dispose(&self) {
        self.host.dispose();
    }
}

impl Host {
    fn create(
        element: JsValue,
        worker: Worker,
        options_js: &JsValue,
    ) -> Result<Rc<Host>, ViewerError> {
        let raw = options::read(options_js)?;
        let options = Options::validate(&raw)?;
        let server = Rc::new(Cell::new(ServerReport::default()));
        let clipboard = Rc::new(ClipboardOffer::default());
        let sink = Deferred::new(event_handler(&options, server, clipboard.clone()));
        // Dropped (undoing what it did to the element) if anything below fails.
        let (shell, url, layout) = Shell::new(element, &options, sink.clone())?;
        let canvas = shell.canvas();
        let offscreen =
            canvas
                .transfer_control_to_offscreen()
                .map_err(|e| ViewerError::Browser {
                    what: "transferring the canvas to the worker",
                    reason: format!(
                        "{} (a canvas that already has a context cannot move to a worker)",
                        js_reason(&e)
                    ),
                })?;
        let initial_stats = ViewerStats::new(&CoreStats::default(), None, &ServerReport::default());
        let host = Rc::new(Host {
            worker,
            shell: shell.clone(),
            layout: RefCell::new(layout.clone()),
            ready: Cell::new(false),
            queue: RefCell::new(Vec::new()),
            state: Cell::new(ViewState::Connecting),
            stats: RefCell::new(initial_stats),
            target: Cell::new(None),
            sink,
            on_stats: options.on_stats.clone(),
            captures: RefCell::new(HashMap::new()),
            next_capture: Cell::new(1),
            on_message: RefCell::new(None),
            on_error: RefCell::new(None),
            on_message_error: RefCell::new(None),
            ready_timeout: RefCell::new(None),
            disposed: Cell::new(false),
        });
        host.listen();
        host.expect_ready(options.worker_ready_ms)?;
        host.sink.emit(ViewerEvent::State(ViewState::Connecting));
        // Queued until the worker is ready. The options go as given (callbacks stay here),
        // with the URL resolved on the page.
        let start = StartWorker {
            canvas: offscreen.clone(),
            options: RemoteFramebufferViewOptions {
                url: Some(url),
                ..raw
            },
            layout: (&layout).into(),
            wants_stats: options.on_stats.is_some(),
        };
        host.post(
            ToWorker::Start(Box::new(start)),
            Some(Array::of1(&offscreen)),
        );
        let mirror = Rc::new(Mirror(Rc::downgrade(&host)));
        let backend: Weak<dyn Backend> = Rc::downgrade(&host) as Weak<Host>;
        shell.attach(backend, mirror.clone(), mirror, clipboard, options.input)?;
        Ok(host)
    }

    fn listen(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(host) = weak.upgrade() {
                host.received(e.data());
            }
        });
        self.worker
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        *self.on_message.borrow_mut() = Some(on_message);
        // A script that fails to load (a 404, a wrong MIME type, a CSP refusal) fires a
        // plain `Event`; an uncaught exception in the worker an `ErrorEvent`.
        let weak = Rc::downgrade(self);
        let on_error = Closure::<dyn FnMut(Event)>::new(move |e: Event| {
            if let Some(host) = weak.upgrade() {
                e.prevent_default();
                let message = Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .filter(|m| !m.is_empty());
                let reason = match message {
                    Some(message) => format!("the worker failed: {message}"),
                    None => "the worker script failed to load (not found, not served as \
                        JavaScript, refused by the page's Content-Security-Policy, or it \
                        does not parse); nothing will be shown"
                        .to_string(),
                };
                host.failed(reason);
            }
        });
        self.worker
            .set_onerror(Some(on_error.as_ref().unchecked_ref()));
        *self.on_error.borrow_mut() = Some(on_error);
        let weak = Rc::downgrade(self);
        let on_message_error = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| {
            if let Some(host) = weak.upgrade() {
                host.sink.emit(ViewerEvent::Error(worker_error(
                    "a message from the worker could not be read (messageerror)".into(),
                )));
            }
        });
        self.worker
            .set_onmessageerror(Some(on_message_error.as_ref().unchecked_ref()));
        *self.on_message_error.borrow_mut() = Some(on_message_error);
    }

    /// Fails the view if the worker does not say `ready` within `after_ms`.
    fn expect_ready(self: &Rc<Self>, after_ms: f64) -> Result<(), ViewerError> {
        let weak = Rc::downgrade(self);
        let timeout = Timeout::new(after_ms.round() as i32, move || {
            if let Some(host) = weak.upgrade() {
                if !host.ready.get() {
                    host.failed(format!(
                        "the worker did not start within {after_ms:.0} ms (is the `worker` \
                         script the package's worker.js or a copy of it?)"
                    ));
                }
            }
        })?;
        *self.ready_timeout.borrow_mut() = Some(timeout);
        Ok(())
    }

    /// The worker is unusable (it failed to load, threw, or never started): report why,
    /// end it and go to `error`. `reconnect()` cannot bring it back; a new view can.
    fn failed(&self, reason: String) {
        if self.disposed.get() || self.state.get() == ViewState::Error {
            return;
        }
        self.sink.emit(ViewerEvent::Error(worker_error(reason)));
        self.worker.terminate();
        self.ready.set(false);
        self.queue.borrow_mut().clear();
        self.set_state(ViewState::Error);
    }

    /// Posts to the worker, or queues until it is ready.
    fn post(&self, msg: ToWorker, transfer: Option<Array>) {
        if self.disposed.get() {
            return;
        }
        if !self.ready.get() {
            self.queue.borrow_mut().push((msg, transfer));
            return;
        }
        let posted = to_js(&msg).and_then(|msg| {
            match &transfer {
                Some(transfer) => self.worker.post_message_with_transfer(&msg, transfer),
                None => self.worker.post_message(&msg),
            }
            .map_err(|e| worker_error(format!("posting to the worker failed: {}", js_reason(&e))))
        });
        if let Err(e) = posted {
            self.sink.emit(ViewerEvent::Error(e));
        }
    }

    fn set_state(&self, state: ViewState) {
        if self.state.replace(state) != state {
            self.sink.emit(ViewerEvent::State(state));
        }
    }

    fn received(&self, data: JsValue) {
        if self.disposed.get() {
            return;
        }
        let message = match from_js::<FromWorker>(data) {
            Ok(message) => message,
            Err(reason) => {
                return self.sink.emit(ViewerEvent::Error(worker_error(format!(
                    "unreadable message from the worker: {reason}"
                ))))
            }
        };
        match message {
            FromWorker::Ready => {
                self.ready.set(true);
                // Not dropped here: this may run from the timeout's own task.
                let timeout = self.ready_timeout.borrow_mut().take();
                wasm_bindgen_futures::spawn_local(async move { drop(timeout) });
                let queued = std::mem::take(&mut *self.queue.borrow_mut());
                for (msg, transfer) in queued {
                    self.post(msg, transfer);
                }
            }
            FromWorker::State { state } => self.set_state(state),
            FromWorker::Error(WorkerError { message, details }) => {
                let retry_in_ms = details.retry_in_ms;
                let error = ViewerError::Worker {
                    stage: details.stage,
                    message,
                    code: details.code,
                };
                self.sink.emit(match retry_in_ms {
                    Some(retry_in_ms) => ViewerEvent::Disconnected { error, retry_in_ms },
                    None => ViewerEvent::Error(error),
                });
            }
            FromWorker::Stats { stats, target } => {
                *self.stats.borrow_mut() = stats;
                self.target
                    .set(target.map(|t| (t.width, t.height, t.pixel_ratio)));
            }
            FromWorker::Clipboard { text } => self.sink.emit(ViewerEvent::Clipboard(text)),
            FromWorker::Tick { stats, timing } => {
                let converted = to_js(&stats).and_then(|s| Ok((s, to_js(&timing)?)));
                *self.stats.borrow_mut() = stats;
                match converted {
                    Ok((stats, timing)) => call(&self.on_stats, "onStats", &[&stats, &timing]),
                    Err(e) => self.sink.emit(ViewerEvent::Error(e)),
                }
            }
            FromWorker::Capture { id, outcome } => {
                let Some((resolve, reject)) = self.captures.borrow_mut().remove(&id) else {
                    return;
                };
                let settled = match outcome {
                    CaptureOutcome::Result(capture) => to_js(&*capture),
                    CaptureOutcome::Error(reason) => Err(ViewerError::Draw {
                        what: "capture",
                        reason,
                    }),
                };
                let _ = match settled {
                    Ok(capture) => resolve.call1(&JsValue::NULL, &capture),
                    Err(e) => reject.call1(&JsValue::NULL, &e.to_js(None)),
                };
            }
        }
    }

    fn dispose(&self) {
        if self.disposed.get() {
            return;
        }
        let dispose = to_js(&ToWorker::Dispose);
        let posted = match dispose {
            Ok(dispose) if self.ready.get() => self.worker.post_message(&dispose).is_ok(),
            _ => false,
        };
        if posted {
            // The worker closes its socket (1000) and then itself; one that is stuck (a
            // busy loop, a hung decoder) is ended anyway after a grace period.
            let worker = self.worker.clone();
            let end = Closure::once_into_js(move || worker.terminate());
            let ended = web_sys::window().map(|w| {
                w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    end.unchecked_ref(),
                    DISPOSE_GRACE_MS,
                )
            });
            if !matches!(ended, Some(Ok(_))) {
                self.worker.terminate();
            }
        } else {
            self.worker.terminate();
        }
        self.disposed.set(true);
        self.sink.detach();
        self.ready_timeout.borrow_mut().take();
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.set_onmessageerror(None);
        for (_, (_, reject)) in self.captures.borrow_mut().drain() {
            let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new("the view was disposed"));
        }
        self.shell.dispose();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.dispose();
    }
}
