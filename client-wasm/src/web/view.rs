//! `RemoteFramebufferView`: the one exported handle. It owns the main-thread parts (the
//! element and its canvas, the `ResizeObserver`, the stats timer, the embedder's callbacks)
//! and wires them to a [`Session`] and a [`ViewerCore`], which need no DOM.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::Function;
use rfb_protocol::ServerStats;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, HtmlElement, ResizeObserver, ResizeObserverEntry};

use super::core::ViewerCore;
use super::error::{js_reason, ViewerError};
use super::events::{Deferred, ViewerEvent};
use super::js::{stats_object, timing_object};
use super::options::{parse_fit, Options};
use super::session::{Session, SessionParams, SocketSlot};
use super::surface::{CanvasSurface, Layout};

/// How often `onStats` is called.
const STATS_INTERVAL_MS: i32 = 1000;

/// A live view of an rfb stream on a canvas.
#[wasm_bindgen]
pub struct RemoteFramebufferView {
    inner: Rc<Inner>,
}

/// The observer watching the canvas size and its callback.
struct SizeWatch {
    observer: ResizeObserver,
    _callback: Closure<dyn FnMut(js_sys::Array)>,
}

/// The `onStats` interval and its callback.
struct StatsTimer {
    id: i32,
    _tick: Closure<dyn FnMut()>,
}

struct Inner {
    canvas: HtmlCanvasElement,
    owns_canvas: bool,
    dpr_override: Option<f64>,
    core: ViewerCore,
    session: Session,
    sink: Rc<Deferred>,
    server_stats: Rc<Cell<Option<ServerStats>>>,
    resize: RefCell<Option<SizeWatch>>,
    stats_timer: RefCell<Option<StatsTimer>>,
    disposed: Cell<bool>,
}

fn window() -> Result<web_sys::Window, ViewerError> {
    web_sys::window().ok_or_else(|| ViewerError::Browser {
        what: "RemoteFramebufferView",
        reason: "needs a window (use the worker entry point elsewhere)".into(),
    })
}

/// `ws(s)://<location.host>/`.
fn default_url(window: &web_sys::Window) -> Result<String, ViewerError> {
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
fn call(callback: &Option<Function>, name: &str, args: &[&JsValue]) {
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
fn event_handler(
    options: &Options,
    server_stats: Rc<Cell<Option<ServerStats>>>,
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
        ViewerEvent::ServerStats(stats) => server_stats.set(Some(stats)),
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
        let rect = canvas.get_bounding_client_rect();
        let dpr = options
            .device_pixel_ratio
            .unwrap_or_else(|| window.device_pixel_ratio());
        let layout = Layout {
            fit: options.fit,
            background: options.background.clone(),
            css_width: rect.width(),
            css_height: rect.height(),
            dpr,
            max_backing_dimension: options.max_backing_dimension,
        };
        let server_stats = Rc::new(Cell::new(None));
        let sink = Deferred::new(event_handler(&options, server_stats.clone()));
        let slot = Rc::new(SocketSlot::default());
        let surface = CanvasSurface::new(canvas.clone())?;
        let core = ViewerCore::new(
            Box::new(surface),
            layout,
            slot.clone(),
            sink.clone(),
            options.debug,
        );
        let url = match options.url.clone() {
            Some(url) => url,
            None => default_url(&window)?,
        };
        let params = SessionParams {
            url,
            token: options.token.clone(),
            max_inflight: options.max_inflight,
            image_only: options.image_only,
            debug: options.debug,
        };
        let session = Session::start(params, core.clone(), slot, sink.clone());
        let inner = Rc::new(Inner {
            canvas,
            owns_canvas,
            dpr_override: options.device_pixel_ratio,
            core,
            session,
            sink,
            server_stats,
            resize: RefCell::new(None),
            stats_timer: RefCell::new(None),
            disposed: Cell::new(false),
        });
        Inner::observe_size(&inner)?;
        if options.on_stats.is_some() {
            Inner::start_stats_timer(&inner, &window, options.on_stats.clone())?;
        }
        Ok(RemoteFramebufferView { inner })
    }

    /// `{ transport, framesDisplayed, framesDropped, lastDisplayedSeq, lastFrameSeq,
    /// decodeQueueSize }`.
    #[wasm_bindgen(unchecked_return_type = "ViewerStats")]
    pub fn stats(&self) -> JsValue {
        let (counters, transport) = self.inner.core.stats();
        stats_object(&counters, transport)
    }

    /// `connecting`, `open`, `negotiated`, `closed` or `error`.
    #[wasm_bindgen(getter, unchecked_return_type = "ViewState")]
    pub fn state(&self) -> String {
        self.inner.session.state().name().to_string()
    }

    /// The canvas pixels: `{ width, height, data }` with `data` RGBA bytes.
    #[wasm_bindgen(unchecked_return_type = "CaptureResult")]
    pub fn capture(&self) -> Result<JsValue, JsValue> {
        self.inner.core.capture().map_err(|e| e.to_js())
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

    /// Closes the socket and the decoder and removes every listener; no callback runs
    /// afterwards. A canvas the view created is removed.
    pub fn dispose(&self) {
        self.inner.dispose();
    }
}

fn create_canvas(
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
    /// Follows the canvas's CSS size (and the window's DPR, unless overridden).
    fn observe_size(inner: &Rc<Inner>) -> Result<(), ViewerError> {
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
            let Some(inner) = weak.upgrade() else { return };
            let Some(entry) = entries.iter().last() else {
                return;
            };
            let rect = entry.unchecked_into::<ResizeObserverEntry>().content_rect();
            inner.resized(rect.width(), rect.height());
        });
        let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).map_err(|e| {
            ViewerError::Browser {
                what: "observing the canvas size",
                reason: js_reason(&e),
            }
        })?;
        observer.observe(&inner.canvas);
        *inner.resize.borrow_mut() = Some(SizeWatch {
            observer,
            _callback: callback,
        });
        Ok(())
    }

    fn resized(&self, css_width: f64, css_height: f64) {
        let mut layout = self.core.layout();
        layout.css_width = css_width;
        layout.css_height = css_height;
        if self.dpr_override.is_none() {
            if let Some(window) = web_sys::window() {
                layout.dpr = window.device_pixel_ratio();
            }
        }
        self.core.set_layout(layout);
    }

    fn start_stats_timer(
        inner: &Rc<Inner>,
        window: &web_sys::Window,
        on_stats: Option<Function>,
    ) -> Result<(), ViewerError> {
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let tick = Closure::<dyn FnMut()>::new(move || {
            let Some(inner) = weak.upgrade() else { return };
            let (counters, transport) = inner.core.stats();
            let timing =
                timing_object(inner.core.take_latency(), inner.server_stats.get().as_ref());
            call(
                &on_stats,
                "onStats",
                &[&stats_object(&counters, transport), &timing],
            );
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
        if let Some(watch) = self.resize.borrow_mut().take() {
            watch.observer.disconnect();
        }
        if let Some(timer) = self.stats_timer.borrow_mut().take() {
            if let Some(window) = web_sys::window() {
                window.clear_interval_with_handle(timer.id);
            }
        }
        if self.owns_canvas {
            self.canvas.remove();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.dispose();
    }
}
