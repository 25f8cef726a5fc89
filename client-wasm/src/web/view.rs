//! `RemoteFramebufferView`: the one exported handle. It owns the main-thread parts (the
//! element and its canvas, the size and DPR watches, input capture, the stats timer, the
//! embedder's callbacks) and wires them to a [`Session`] and a [`ViewerCore`], which need
//! no DOM.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, HtmlElement};

use super::core::ViewerCore;
use super::error::{js_reason, ViewerError};
use super::events::{fold_server_report, Deferred, EventSink, ViewerEvent};
use super::input::InputCapture;
use super::js::{stats_object, timing_object};
use super::options::{parse_fit, Options};
use super::resize::{relaid, LayoutChange, LayoutWatch};
use super::session::{Session, SessionParams, SocketSlot};
use super::surface::{CanvasSurface, Layout};
use crate::input::viewport;
use crate::server_report::ServerReport;

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
    /// The canvas drawn on (replaced when the frames' colour space changes).
    canvas: RefCell<HtmlCanvasElement>,
    owns_canvas: bool,
    dpr_override: Option<f64>,
    core: ViewerCore,
    session: Session,
    slot: Rc<SocketSlot>,
    sink: Rc<Deferred>,
    server: Rc<Cell<ServerReport>>,
    watch: RefCell<Option<LayoutWatch>>,
    input: RefCell<Option<InputCapture>>,
    stats_timer: RefCell<Option<StatsTimer>>,
    /// The role and name the view gave the canvas.
    labelled: super::a11y::Labelled,
    disposed: Cell<bool>,
}

pub(super) fn window() -> Result<web_sys::Window, ViewerError> {
    web_sys::window().ok_or_else(|| ViewerError::Browser {
        what: "RemoteFramebufferView",
        reason: "needs a window (use the worker entry point elsewhere)".into(),
    })
}

/// `ws(s)://<location.host>/`.
pub(super) fn default_url(window: &web_sys::Window) -> Result<String, ViewerError> {
    let location = window.location();
    let read = |r: Result<String, JsValue>| {
        r.map_err(|e| ViewerError::Browser {
            what: "reading location",
            reason: js_reason(&e),
        })
    };
    let scheme = if read(location.protocol())? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Ok(format!("{scheme}://{}/", read(location.host())?))
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
) -> Rc<dyn Fn(ViewerEvent)> {
    let (on_state, on_error, debug) = (
        options.on_state.clone(),
        options.on_error.clone(),
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
            call(&on_error, "onError", &[&error.to_js()]);
        }
        ViewerEvent::Disconnected { error, retry_in_ms } => {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "rfb-viewer: {error}; reconnecting in {retry_in_ms:.0} ms"
            )));
            let js = error.to_js();
            let _ = js_sys::Reflect::set(&js, &"retryInMs".into(), &retry_in_ms.into());
            call(&on_error, "onError", &[&js]);
        }
        report @ (ViewerEvent::ServerStats(_) | ViewerEvent::Quality(_)) => {
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
        Self::create(element, &options).map_err(|e| e.to_js())
    }

    fn create(element: JsValue, options: &JsValue) -> Result<RemoteFramebufferView, ViewerError> {
        let options = Options::from_js(options)?;
        let window = window()?;
        let url = match options.url.clone() {
            Some(url) => url,
            None => default_url(&window)?,
        };
        let params = SessionParams::new(url, &options);
        let (canvas, owns_canvas) = match element.dyn_into::<HtmlCanvasElement>() {
            Ok(canvas) => (canvas, false),
            Err(element) => {
                let container =
                    element
                        .dyn_into::<HtmlElement>()
                        .map_err(|_| ViewerError::Options {
                            option: "element",
                            reason: "expected a canvas or an HTML element".into(),
                        })?;
                (create_canvas(&window, &container)?, true)
            }
        };
        let content = super::boxes::content_size(&canvas);
        let dpr = options
            .device_pixel_ratio
            .unwrap_or_else(|| window.device_pixel_ratio());
        let layout = Layout {
            fit: options.fit,
            background: options.background.clone(),
            css_width: content.0,
            css_height: content.1,
            dpr,
            max_backing_dimension: options.max_backing_dimension,
        };
        let server = Rc::new(Cell::new(ServerReport::default()));
        let sink = Deferred::new(event_handler(&options, server.clone()));
        let slot = Rc::new(SocketSlot::default());
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let weak = weak.clone();
            let on_replaced: super::surface::OnReplaced =
                Box::new(move |new: &HtmlCanvasElement| {
                    if let Some(inner) = weak.upgrade() {
                        inner.canvas_replaced(new);
                    }
                });
            // Only a canvas the view created may be swapped for another colour space.
            let surface = CanvasSurface::new(canvas.clone(), owns_canvas.then_some(on_replaced));
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
            Inner {
                canvas: RefCell::new(canvas.clone()),
                owns_canvas,
                dpr_override: options.device_pixel_ratio,
                core,
                session,
                slot,
                sink,
                server,
                watch: RefCell::new(None),
                input: RefCell::new(None),
                stats_timer: RefCell::new(None),
                labelled: super::a11y::label(&canvas, options.input),
                disposed: Cell::new(false),
            }
        });
        Inner::watch_size(&inner, &window)?;
        if options.input {
            let capture = InputCapture::new(
                canvas,
                Rc::new(inner.core.clone()),
                inner.slot.clone(),
                inner.sink.clone(),
            )?;
            *inner.input.borrow_mut() = Some(capture);
        }
        if options.on_stats.is_some() {
            Inner::start_stats_timer(&inner, &window, options.on_stats.clone())?;
        }
        Ok(RemoteFramebufferView { inner })
    }

    /// The viewer's counters, the frame on screen and the server's last report (see
    /// `ViewerStats` in the TypeScript declarations).
    #[wasm_bindgen(unchecked_return_type = "ViewerStats")]
    pub fn stats(&self) -> JsValue {
        self.inner.stats()
    }

    /// The canvas the view draws on. A canvas the view created in a container is replaced
    /// by a clone when the stream's colour space changes (a 2D context's colour space is
    /// fixed), so read it when needed; a canvas the page passed in is never replaced.
    #[wasm_bindgen(getter)]
    pub fn canvas(&self) -> HtmlCanvasElement {
        self.inner.canvas.borrow().clone()
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
        match self.inner.core.capture() {
            Ok(capture) => {
                let _ = js_sys::Reflect::set(&capture, &"stats".into(), &self.inner.stats());
                js_sys::Promise::resolve(&capture)
            }
            Err(e) => js_sys::Promise::reject(&e.to_js()),
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
        let fit = parse_fit(&fit).map_err(|e| e.to_js())?;
        let mut layout = self.inner.core.layout();
        layout.fit = fit;
        if let Some(background) = background {
            layout.background = background;
        }
        self.inner.core.set_layout(layout);
        Ok(())
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

pub(super) fn create_canvas(
    window: &web_sys::Window,
    container: &HtmlElement,
) -> Result<HtmlCanvasElement, ViewerError> {
    let dom_error = |e: JsValue| ViewerError::Browser {
        what: "creating the canvas",
        reason: js_reason(&e),
    };
    let document = window
        .document()
        .ok_or_else(|| dom_error(JsValue::from_str("no document")))?;
    let canvas = document
        .create_element("canvas")
        .map_err(dom_error)?
        .dyn_into::<HtmlCanvasElement>()
        .map_err(|_| {
            dom_error(JsValue::from_str(
                "createElement('canvas') returned something else",
            ))
        })?;
    let style = canvas.style();
    for (property, value) in [("display", "block"), ("width", "100%"), ("height", "100%")] {
        style.set_property(property, value).map_err(dom_error)?;
    }
    container.append_child(&canvas).map_err(dom_error)?;
    Ok(canvas)
}

impl Inner {
    fn stats(&self) -> JsValue {
        stats_object(
            &self.core.stats(),
            self.core.shown_frame().as_ref(),
            &self.server.get(),
        )
    }

    /// Follows the canvas's CSS size and, unless overridden, the window's DPR.
    fn watch_size(inner: &Rc<Inner>, window: &web_sys::Window) -> Result<(), ViewerError> {
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let watch = LayoutWatch::new(
            &inner.canvas.borrow(),
            window,
            inner.dpr_override.is_none(),
            move |change, error| {
                if let Some(inner) = weak.upgrade() {
                    if let Some(e) = error {
                        inner.sink.emit(ViewerEvent::Error(e));
                    }
                    inner.relayout(change);
                }
            },
        )?;
        *inner.watch.borrow_mut() = Some(watch);
        Ok(())
    }

    /// The canvas size or the DPR changed: redraw at the new backing size and tell the
    /// server.
    fn relayout(&self, change: LayoutChange) {
        if self.disposed.get() {
            return;
        }
        let layout = relaid(&self.core.layout(), change, self.dpr_override.is_none());
        let viewport = viewport(layout.css_width, layout.css_height, layout.dpr);
        self.core.set_layout(layout);
        self.session.viewport_changed(viewport);
    }

    /// The surface replaced the canvas (another colour space): move the watches and the
    /// input listeners to the new element. Runs inside a draw: it must not call the core.
    fn canvas_replaced(&self, new: &HtmlCanvasElement) {
        let old = self.canvas.replace(new.clone());
        if let Some(watch) = self.watch.borrow().as_ref() {
            watch.retarget(&old, new);
        }
        if let Some(input) = self.input.borrow().as_ref() {
            input.retarget(new);
        }
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
                timing_object(inner.core.take_latency(), inner.server.get().stats.as_ref());
            call(&on_stats, "onStats", &[&inner.stats(), &timing]);
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
        if let Some(input) = self.input.borrow_mut().take() {
            input.dispose();
        }
        if let Some(watch) = self.watch.borrow_mut().take() {
            watch.dispose();
        }
        if let Some(timer) = self.stats_timer.borrow_mut().take() {
            if let Some(window) = web_sys::window() {
                window.clear_interval_with_handle(timer.id);
            }
        }
        if self.owns_canvas {
            self.canvas.borrow().remove();
        } else {
            self.labelled.remove(&self.canvas.borrow());
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.dispose();
    }
}
