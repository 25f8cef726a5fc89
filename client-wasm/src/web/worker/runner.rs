//! The worker half of worker mode: `runWorker()` answers the host's messages by running a
//! [`Session`] and a [`ViewerCore`] on the transferred `OffscreenCanvas`, and reports state,
//! errors, stats and captures back (see the table in the parent module).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::messages::{
    CaptureOutcome, FrameTarget, FromWorker, InputStamp, StartWorker, ToWorker, WorkerError,
    WorkerLayout,
};
use super::offscreen::OffscreenSurface;
use super::Handler;
use crate::input::viewport;
use crate::server_report::ServerReport;
use crate::web::api::{from_js, to_js, CaptureResult, StatsTiming, ViewerStats};
use crate::web::core::{CoreStats, ViewerCore};
use crate::web::error::{js_reason, ViewerError};
use crate::web::events::{fold_server_report, Deferred, ViewerEvent};
use crate::web::options::Options;
use crate::web::session::{Session, SessionParams, SocketSlot};
use crate::web::timer::Interval;

/// How often the worker reports changed stats to the host (ms): the host's `stats()` is at
/// most this old.
const STATS_PUSH_MS: i32 = 40;
/// How often `onStats` runs (ms), as in-thread.
const STATS_TICK_MS: i32 = 1000;

thread_local! {
    /// The worker's one runner, alive as long as the worker.
    static RUNNER: RefCell<Option<Rc<Runner>>> = const { RefCell::new(None) };
}

struct Runner {
    scope: DedicatedWorkerGlobalScope,
    running: RefCell<Option<Running>>,
    on_message: Handler<MessageEvent>,
}

/// The view the worker runs after `start`.
struct Running {
    core: ViewerCore,
    session: Session,
    slot: Rc<SocketSlot>,
    sink: Rc<Deferred>,
    server: Rc<Cell<ServerReport>>,
    /// What the host was last told (to skip unchanged reports).
    reported: Cell<Option<StatsKey>>,
    _push: Option<Interval>,
    _tick: Option<Interval>,
}

type StatsKey = (
    CoreStats,
    Option<crate::policy::InFlight>,
    ServerReport,
    Option<(u32, u32, f32)>,
);

/// Starts the worker half of a `WorkerView`: call it in the worker after `await init()`.
/// It tells the page it is ready and then serves the page's messages.
#[wasm_bindgen(js_name = runWorker)]
pub fn run_worker() -> Result<(), JsValue> {
    crate::web::install_panic_hook();
    let scope = js_sys::global()
        .dyn_into::<DedicatedWorkerGlobalScope>()
        .map_err(|_| js_sys::Error::new("runWorker() runs inside a dedicated Web Worker"))?;
    if RUNNER.with(|r| r.borrow().is_some()) {
        return Err(js_sys::Error::new("runWorker() was already called in this worker").into());
    }
    let runner = Rc::new(Runner {
        scope: scope.clone(),
        running: RefCell::new(None),
        on_message: RefCell::new(None),
    });
    let weak = Rc::downgrade(&runner);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(runner) = weak.upgrade() {
            runner.handle(e.data());
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    *runner.on_message.borrow_mut() = Some(on_message);
    RUNNER.with(|r| *r.borrow_mut() = Some(runner.clone()));
    runner.post(&FromWorker::Ready, None);
    Ok(())
}

/// Posts worker -> host messages; shared by the runner and the event sink.
#[derive(Clone)]
struct ToHost(DedicatedWorkerGlobalScope);

impl ToHost {
    fn post(&self, msg: &FromWorker, transfer: Option<&Array>) {
        let posted = to_js(msg).and_then(|msg| {
            match transfer {
                Some(transfer) => self.0.post_message_with_transfer(&msg, transfer),
                None => self.0.post_message(&msg),
            }
            .map_err(|e| ViewerError::Browser {
                what: "posting to the page",
                reason: js_reason(&e),
            })
        });
        if let Err(e) = posted {
            web_sys::console::error_1(&JsValue::from_str(&format!("rfb-viewer worker: {e}")));
        }
    }

    fn error(&self, error: &ViewerError, retry_in_ms: Option<f64>) {
        self.post(
            &FromWorker::Error(WorkerError::new(error, retry_in_ms)),
            None,
        );
    }
}

impl Runner {
    fn post(&self, msg: &FromWorker, transfer: Option<&Array>) {
        ToHost(self.scope.clone()).post(msg, transfer);
    }

    fn handle(self: &Rc<Self>, data: JsValue) {
        let message = from_js::<ToWorker>(data).map_err(|reason| ViewerError::Browser {
            what: "the viewer worker",
            reason: format!("unreadable message from the page: {reason}"),
        });
        let result = message.and_then(|message| match message {
            ToWorker::Start(start) => self.start(*start),
            ToWorker::Layout(layout) => {
                self.layout(&layout);
                Ok(())
            }
            ToWorker::Send { bytes, input } => self.forward(&bytes, input),
            ToWorker::Capture { id } => {
                self.capture(id);
                Ok(())
            }
            ToWorker::Reconnect => {
                if let Some(running) = self.running.borrow().as_ref() {
                    running.session.reconnect();
                }
                Ok(())
            }
            ToWorker::Dispose => {
                self.dispose();
                Ok(())
            }
        });
        if let Err(e) = result {
            ToHost(self.scope.clone()).error(&e, None);
        }
    }

    fn start(self: &Rc<Self>, start: StartWorker) -> Result<(), ViewerError> {
        if self.running.borrow().is_some() {
            return Err(ViewerError::Browser {
                what: "the viewer worker",
                reason: "started twice (one worker serves one view)".into(),
            });
        }
        let StartWorker {
            canvas,
            options,
            layout,
            wants_stats,
        } = start;
        let options = Options::validate(&options)?;
        let layout = layout.to_layout();
        let url = options.url.clone().ok_or(ViewerError::Options {
            option: "url".into(),
            reason: "the page sends the resolved URL to the worker".into(),
        })?;
        let params = SessionParams::new(url, &options);
        let server = Rc::new(Cell::new(ServerReport::default()));
        let sink = Deferred::new(event_forwarder(
            ToHost(self.scope.clone()),
            server.clone(),
            options.debug,
        ));
        let slot = Rc::new(SocketSlot::default());
        let core = ViewerCore::new(
            Box::new(OffscreenSurface::new(canvas)),
            layout,
            slot.clone(),
            sink.clone(),
            options.debug,
            options.decoder_stall_ms,
        );
        // Drawing a VideoFrame in a worker can wait on the page's main thread (Chromium
        // without a GPU): there, convert software-decoded frames here instead.
        core.copy_video_frames(
            options
                .copy_video_frames
                .unwrap_or_else(crate::web::video_copy::copy_by_default),
        );
        let session = Session::start(params, core.clone(), slot.clone(), sink.clone());
        let weak = Rc::downgrade(self);
        let push = Interval::new(STATS_PUSH_MS, move || {
            if let Some(runner) = weak.upgrade() {
                runner.push_stats();
            }
        });
        let tick = if wants_stats {
            let weak: Weak<Runner> = Rc::downgrade(self);
            Some(Interval::new(STATS_TICK_MS, move || {
                if let Some(runner) = weak.upgrade() {
                    runner.tick();
                }
            })?)
        } else {
            None
        };
        *self.running.borrow_mut() = Some(Running {
            core,
            session,
            slot,
            sink,
            server,
            reported: Cell::new(None),
            _push: Some(push?),
            _tick: tick,
        });
        Ok(())
    }

    fn layout(&self, layout: &WorkerLayout) {
        let layout = layout.to_layout();
        if let Some(running) = self.running.borrow().as_ref() {
            let view = viewport(layout.css_width, layout.css_height, layout.dpr);
            running.core.set_layout(layout);
            running.session.viewport_changed(view);
        }
    }

    /// Forwards a message the page encoded; an input's stamp goes to the core, which
    /// measures input -> photon.
    fn forward(&self, bytes: &Uint8Array, input: Option<InputStamp>) -> Result<(), ViewerError> {
        match self.running.borrow().as_ref() {
            Some(running) => {
                if let Some(stamp) = input {
                    running.core.input_sent(stamp.id, stamp.event_at_ms);
                }
                running.slot.send_encoded(&bytes.to_vec())
            }
            None => Ok(()),
        }
    }

    fn stats_of(running: &Running) -> (StatsKey, ViewerStats) {
        let key = (
            running.core.stats(),
            running.core.shown_frame(),
            running.server.get(),
            running.core.input_frame(),
        );
        let stats = ViewerStats::new(&key.0, key.1.as_ref(), &key.2);
        (key, stats)
    }

    fn push_stats(&self) {
        let running = self.running.borrow();
        let Some(running) = running.as_ref() else {
            return;
        };
        let (key, stats) = Self::stats_of(running);
        if running.reported.get() == Some(key) {
            return;
        }
        running.reported.set(Some(key));
        let target = key.3.map(|(width, height, pixel_ratio)| FrameTarget {
            width,
            height,
            pixel_ratio,
        });
        self.post(&FromWorker::Stats { stats, target }, None);
    }

    fn tick(&self) {
        let running = self.running.borrow();
        let Some(running) = running.as_ref() else {
            return;
        };
        let (_, stats) = Self::stats_of(running);
        let timing = StatsTiming::new(
            running.core.take_latency(),
            running.server.get().stats.as_ref(),
        );
        self.post(&FromWorker::Tick { stats, timing }, None);
    }

    /// Captures the canvas with the stats of that very frame; the pixels are transferred.
    fn capture(&self, id: u32) {
        let running = self.running.borrow();
        let outcome = match running.as_ref() {
            None => CaptureOutcome::Error("the view has not started".into()),
            Some(running) => match running.core.capture() {
                Ok(canvas) => {
                    let (_, stats) = Self::stats_of(running);
                    CaptureOutcome::Result(Box::new(CaptureResult::new(canvas, stats)))
                }
                Err(e) => CaptureOutcome::Error(e.to_string()),
            },
        };
        let transfer = outcome.pixels().map(|data| Array::of1(&data.buffer()));
        self.post(&FromWorker::Capture { id, outcome }, transfer.as_ref());
    }

    fn dispose(&self) {
        if let Some(running) = self.running.borrow_mut().take() {
            running.sink.detach();
            running.session.dispose();
        }
        self.scope.set_onmessage(None);
        // The socket's close frame is queued; closing the worker ends everything else.
        self.scope.close();
    }
}

/// The worker's [`ViewerEvent`] handler: states and errors go to the page (which calls the
/// embedder's callbacks and logs), the server's reports fold into `server`.
fn event_forwarder(
    host: ToHost,
    server: Rc<Cell<ServerReport>>,
    debug: bool,
) -> Rc<dyn Fn(ViewerEvent)> {
    Rc::new(move |event| match event {
        ViewerEvent::State(state) => host.post(&FromWorker::State { state }, None),
        ViewerEvent::Error(error) => host.error(&error, None),
        ViewerEvent::Disconnected { error, retry_in_ms } => host.error(&error, Some(retry_in_ms)),
        ViewerEvent::Clipboard(text) => host.post(&FromWorker::Clipboard { text }, None),
        report @ (ViewerEvent::ServerStats(_) | ViewerEvent::Quality(_) | ViewerEvent::Role(_)) => {
            fold_server_report(&server, &report, debug);
        }
    })
}
