//! `RemoteFramebufferView`: the view whose connection, decoding and drawing run on the main
//! thread. The element side (canvas, size and DPR watches, input, accessibility, `setFit`)
//! is the [`Shell`] both views share; this back-end wires it to a [`Session`] and a
//! [`ViewerCore`] (which need no DOM), and keeps the stats timer and the callbacks.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

use super::api::{to_js, CaptureResult, StatsTiming, ViewerStats};
use super::clipboard::ClipboardOffer;
use super::core::{Outbox, ViewerCore};
use super::error::{js_reason, ViewerError};
use super::events::{fold_server_report, Deferred, ViewerEvent};
use super::input::InputGeometry;
use super::options::Options;
use super::session::{Session, SessionParams, SocketSlot};
use super::shell::{window, Backend, Shell};
use super::surface::{CanvasSurface, Layout};
use crate::input::viewport;
use crate::server_report::ServerReport;
use rfb_protocol::{ClientMessage, InputMessage};

/// How often `onStats` is called.
const STATS_INTERVAL_MS: i32 = 1000;

/// A live view of an rfb stream on a canvas.
#[wasm_bindgen]
pub struct RemoteFramebufferView {
    inner: Rc<Inner>,
}

/// The `onStats` interval and its callback.
struct StatsTimer {
    id: i32,
    _tick: Closure<dyn FnMut()>,
}

struct Inner {
    /// The element side: canvas, watches, input, accessibility.
    shell: Rc<Shell>,
    core: ViewerCore,
    session: Session,
    sink: Rc<Deferred>,
    server: Rc<Cell<ServerReport>>,
    stats_timer: RefCell<Option<StatsTimer>>,
    disposed: Cell<bool>,
}

/// What input capture asks the in-thread view: where the frame is, whether input
/// reaches the app (not for a `view` role); and where it sends input (the socket, with the
/// core told of each input for input -> photon).
struct InThread {
    core: ViewerCore,
    server: Rc<Cell<ServerReport>>,
    slot: Rc<SocketSlot>,
}

impl Outbox for InThread {
    fn send(&self, msg: &ClientMessage) -> Result<(), ViewerError> {
        self.slot.send(msg)
    }

    fn video_unsupported(&self) {
        self.slot.video_unsupported();
    }

    fn send_input(&self, input: InputMessage, event_at_ms: Option<f64>) -> Result<(), ViewerError> {
        if let Some(at) = event_at_ms {
            self.core.input_sent(input.id, at);
        }
        self.slot.send(&ClientMessage::Input(input))
    }
}

impl InputGeometry for InThread {
    fn input_target(&self) -> Option<crate::input::InputTarget> {
        self.core.input_target()
    }

    fn may_control(&self) -> bool {
        self.server.get().may_control()
    }
}

impl Backend for Inner {
    fn layout(&self) -> Layout {
        self.core.layout()
    }

    fn set_layout(&self, layout: Layout) {
        if self.disposed.get() {
            return;
        }
        let viewport = viewport(layout.css_width, layout.css_height, layout.dpr);
        self.core.set_layout(layout);
        self.session.viewport_changed(viewport);
    }
}

/// Calls an embedder callback; an exception it throws is logged, not lost.
pub(super) fn call(callback: &Option<Function>, name: &str, args: &[&JsValue]) {
    let Some(f) = callback else { return };
    let result = match args {
        [a] => f.call1(&JsValue::NULL, a),
        [a, b] => f.call2(&JsValue::NULL, a, b),
        _ => f.call0(&JsValue::NULL),
    };
    if let Err(e) = result {
        web_sys::console::error_2(
            &JsValue::from_str(&format!("rfb-viewer: {name} callback threw")),
            &e,
        );
    }
}

/// The embedder's side of [`ViewerEvent`]s: callbacks, the console, the stats cache.
pub(super) fn event_handler(
    options: &Options,
    server: Rc<Cell<ServerReport>>,
    clipboard: Rc<ClipboardOffer>,
) -> Rc<dyn Fn(ViewerEvent)> {
    let (on_state, on_error, on_clipboard, debug) = (
        options.on_state.clone(),
        options.on_error.clone(),
        options.on_clipboard.clone(),
        options.debug,
    );
    Rc::new(move |event| match event {
        ViewerEvent::State(state) => {
            if debug {
                web_sys::console::debug_1(&JsValue::from_str(&format!(
                    "rfb-viewer: state {}",
                    state.name()
                )));
            }
            call(&on_state, "onState", &[&JsValue::from_str(state.name())]);
        }
        ViewerEvent::Error(error) => {
            web_sys::console::error_1(&JsValue::from_str(&format!("rfb-viewer: {error}")));
            call(&on_error, "onError", &[&error.to_js(None)]);
        }
        ViewerEvent::Disconnected { error, retry_in_ms } => {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "rfb-viewer: {error}; reconnecting in {retry_in_ms:.0} ms"
            )));
            call(&on_error, "onError", &[&error.to_js(Some(retry_in_ms))]);
        }
        ViewerEvent::Clipboard(text) => {
            clipboard.offer(text.clone());
            call(&on_clipboard, "onClipboard", &[&JsValue::from_str(&text)]);
        }
        report @ (ViewerEvent::ServerStats(_) | ViewerEvent::Quality(_) | ViewerEvent::Role(_)) => {
            fold_server_report(&server, &report, debug);
        }
    })
}

#[wasm_bindgen]
impl RemoteFramebufferView {
    /// Connects to a stream and shows it in `element`: a `<canvas>` (used as is) or a
    /// container (a canvas filling it is appended).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "HTMLElement")] element: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RemoteFramebufferViewOptions")]
        options: JsValue,
    ) -> Result<RemoteFramebufferView, JsValue> {
        super::install_panic_hook();
        Self::create(element, &options).map_err(|e| e.to_js(None))
    }

    fn create(element: JsValue, options: &JsValue) -> Result<RemoteFramebufferView, ViewerError> {
        let options = Options::from_js(options)?;
        let server = Rc::new(Cell::new(ServerReport::default()));
        let clipboard = Rc::new(ClipboardOffer::default());
        let sink = Deferred::new(event_handler(&options, server.clone(), clipboard.clone()));
        let (shell, url, layout) = Shell::new(element, &options, sink.clone())?;
        let params = SessionParams::new(url, &options);
        let slot = Rc::new(SocketSlot::default());
        let weak_shell = Rc::downgrade(&shell);
        let on_replaced: super::surface::OnReplaced = Box::new(move |new: &HtmlCanvasElement| {
            if let Some(shell) = weak_shell.upgrade() {
                shell.canvas_replaced(new);
            }
        });
        // Only a canvas the view created may be swapped for another colour space.
        let surface =
            CanvasSurface::new(shell.canvas(), shell.owns_canvas().then_some(on_replaced));
        let core = ViewerCore::new(
            Box::new(surface),
            layout,
            slot.clone(),
            sink.clone(),
            options.debug,
            options.decoder_stall_ms,
        );
        core.copy_video_frames(options.copy_video_frames.unwrap_or(false));
        let session = Session::start(params, core.clone(), slot.clone(), sink.clone());
        let inner = Rc::new(Inner {
            shell: shell.clone(),
            core,
            session,
            sink,
            server,
            stats_timer: RefCell::new(None),
            disposed: Cell::new(false),
        });
        let backend: Weak<dyn Backend> = Rc::downgrade(&inner) as Weak<Inner>;
        let controls = Rc::new(InThread {
            core: inner.core.clone(),
            server: inner.server.clone(),
            slot,
        });
        shell.attach(
            backend,
            controls.clone(),
            controls,
            clipboard,
            options.input,
        )?;
        if options.on_stats.is_some() {
            Inner::start_stats_timer(&inner, &window()?, options.on_stats.clone())?;
        }
        Ok(RemoteFramebufferView { inner })
    }

    /// The viewer's counters, the frame on screen and the server's last report (see
    /// `ViewerStats` in the TypeScript declarations).
    #[wasm_bindgen(unchecked_return_type = "ViewerStats")]
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.stats()).map_err(|e| e.to_js(None))
    }

    /// The canvas the view draws on. A canvas the view created in a container is replaced
    /// by a clone when the stream's colour space changes (a 2D context's colour space is
    /// fixed), so read it when needed; a canvas the page passed in is never replaced.
    #[wasm_bindgen(getter)]
    pub fn canvas(&self) -> HtmlCanvasElement {
        self.inner.shell.canvas()
    }

    /// `connecting`, `open`, `negotiated`, `closed` or `error`.
    #[wasm_bindgen(getter, unchecked_return_type = "ViewState")]
    pub fn state(&self) -> String {
        self.inner.session.state().name().to_string()
    }

    /// The canvas pixels and the stats of the frame they show: resolves to `{ width,
    /// height, colorSpace, data, stats }` with `data` RGBA bytes in the canvas's colour
    /// space. The pixels are read when `capture()` is called (a `Promise`, like a
    /// `WorkerView`'s, so code works with both).
    #[wasm_bindgen(unchecked_return_type = "Promise<CaptureResult>")]
    pub fn capture(&self) -> js_sys::Promise {
        let captured = self
            .inner
            .core
            .capture()
            .and_then(|canvas| to_js(&CaptureResult::new(canvas, self.inner.stats())));
        match captured {
            Ok(capture) => js_sys::Promise::resolve(&capture),
            Err(e) => js_sys::Promise::reject(&e.to_js(None)),
        }
    }

    /// Changes the fit mode (`contain`, `cover`, `fill`) and optionally the letterbox
    /// colour; the frame on screen is redrawn at once.
    #[wasm_bindgen(js_name = setFit)]
    pub fn set_fit(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FitMode")] fit: String,
        background: Option<String>,
    ) -> Result<(), JsValue> {
        self.inner.shell.set_fit(&fit, background)
    }

    /// Drops the connection (if any) and connects again now: also after the server
    /// refused it or the reconnect attempts gave up.
    pub fn reconnect(&self) {
        if !self.inner.disposed.get() {
            self.inner.session.reconnect();
        }
    }

    /// Closes the socket and the decoder and removes every listener; no callback runs
    /// afterwards. A canvas the view created is removed.
    pub fn dispose(&self) {
        self.inner.dispose();
    }
}

impl Inner {
    fn stats(&self) -> ViewerStats {
        ViewerStats::new(
            &self.core.stats(),
            self.core.shown_frame().as_ref(),
            &self.server.get(),
        )
    }

    fn start_stats_timer(
        inner: &Rc<Inner>,
        window: &web_sys::Window,
        on_stats: Option<Function>,
    ) -> Result<(), ViewerError> {
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let tick = Closure::<dyn FnMut()>::new(move || {
            let Some(inner) = weak.upgrade() else { return };
            let timing =
                StatsTiming::new(inner.core.take_latency(), inner.server.get().stats.as_ref());
            // Both convert: the types hold nothing a JS value cannot.
            if let (Ok(stats), Ok(timing)) = (to_js(&inner.stats()), to_js(&timing)) {
                call(&on_stats, "onStats", &[&stats, &timing]);
            }
        });
        let id = window
            .set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                STATS_INTERVAL_MS,
            )
            .map_err(|e| ViewerError::Browser {
                what: "starting the stats timer",
                reason: js_reason(&e),
            })?;
        *inner.stats_timer.borrow_mut() = Some(StatsTimer { id, _tick: tick });
        Ok(())
    }

    fn dispose(&self) {
        if self.disposed.replace(true) {
            return;
        }
        self.sink.detach();
        self.session.dispose();
        self.shell.dispose();
        if let Some(timer) = self.stats_timer.borrow_mut().take() {
            if let Some(window) = web_sys::window() {
                window.clear_interval_with_handle(timer.id);
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.dispose();
    }
}
