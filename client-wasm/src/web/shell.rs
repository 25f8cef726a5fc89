//! The one view shell (main thread) both exported views are built on: everything about
//! the element that does not depend on where decoding runs. It resolves the element (a
//! canvas used as is, or a container a canvas is created in), computes the first layout
//! from the canvas's content box, gives the canvas its role and name and, under CSS
//! scaling, the style that scales it (`present.rs`), watches its size and the DPR, captures
//! input, applies `setFit`, follows a replaced canvas, and undoes all of it on dispose. What differs is a [`Backend`]: the in-thread view draws with its own core
//! and tells its session; the worker view posts the layout to its worker.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use web_sys::{HtmlCanvasElement, HtmlElement, Window};

use super::a11y::{label, Labelled};
use super::boxes::content_size;
use super::clipboard::ClipboardOffer;
use super::core::Outbox;
use super::error::{js_reason, ViewerError};
use super::events::{EventSink, ViewerEvent};
use super::input::{InputCapture, InputGeometry};
use super::options::{parse_fit, Options};
use super::present::Presentation;
use super::resize::{relaid, LayoutChange, LayoutWatch};
use super::surface::Layout;
use crate::input::InputTarget;

/// Where a view's layout goes.
pub trait Backend {
    /// The layout frames are drawn with now.
    fn layout(&self) -> Layout;
    /// Draws with `layout` from now on (the frame on screen is redrawn, the server told
    /// the new viewport).
    fn set_layout(&self, layout: Layout);
}

/// Input geometry that first catches the layout up with the canvas (see
/// [`Shell::catch_up_with_size`]), then asks the back-end.
struct CurrentLayout {
    shell: Weak<Shell>,
    inner: Rc<dyn InputGeometry>,
}

impl InputGeometry for CurrentLayout {
    fn input_target(&self) -> Option<InputTarget> {
        if let Some(shell) = self.shell.upgrade() {
            shell.catch_up_with_size();
        }
        self.inner.input_target()
    }

    fn may_control(&self) -> bool {
        self.inner.may_control()
    }
}

/// The element side of a view.
pub struct Shell {
    /// The canvas shown (replaced, in-thread, when the colour space changes).
    canvas: RefCell<HtmlCanvasElement>,
    owns_canvas: bool,
    dpr_override: Option<f64>,
    labelled: Labelled,
    /// The canvas style of CSS scaling.
    presentation: Presentation,
    events: Rc<dyn EventSink>,
    watch: RefCell<Option<LayoutWatch>>,
    input: RefCell<Option<InputCapture>>,
    backend: RefCell<Option<Weak<dyn Backend>>>,
    disposed: Cell<bool>,
}

/// The browser window (views need one; workers use the worker entry point).
pub fn window() -> Result<Window, ViewerError> {
    web_sys::window().ok_or_else(|| ViewerError::Browser {
        what: "RemoteFramebufferView",
        reason: "needs a window (use the worker entry point elsewhere)".into(),
    })
}

/// `ws(s)://<location.host>/`.
pub fn default_url(window: &Window) -> Result<String, ViewerError> {
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

/// A canvas filling `container`, appended to it.
fn create_canvas(
    window: &Window,
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

impl Shell {
    /// Resolves `element` (a `<canvas>`, used as is, or a container a canvas is created
    /// in) and returns the shell, the stream URL and the first layout.
    pub fn new(
        element: JsValue,
        options: &Options,
        events: Rc<dyn EventSink>,
    ) -> Result<(Rc<Shell>, String, Layout), ViewerError> {
        let window = window()?;
        let url = match options.url.clone() {
            Some(url) => url,
            None => default_url(&window)?,
        };
        let (canvas, owns_canvas) = match element.dyn_into::<HtmlCanvasElement>() {
            Ok(canvas) => (canvas, false),
            Err(element) => {
                let container =
                    element
                        .dyn_into::<HtmlElement>()
                        .map_err(|_| ViewerError::Options {
                            option: "element".into(),
                            reason: "expected a canvas or an HTML element".into(),
                        })?;
                (create_canvas(&window, &container)?, true)
            }
        };
        let content = content_size(&canvas);
        let layout = Layout {
            fit: options.fit,
            scaling: options.scaling,
            background: options.background.clone(),
            css_width: content.0,
            css_height: content.1,
            dpr: options
                .device_pixel_ratio
                .unwrap_or_else(|| window.device_pixel_ratio()),
            max_backing_dimension: options.max_backing_dimension,
            device_size: None,
        };
        let shell = Rc::new(Shell {
            labelled: label(&canvas, options.input),
            presentation: Presentation::default(),
            canvas: RefCell::new(canvas),
            owns_canvas,
            dpr_override: options.device_pixel_ratio,
            events,
            watch: RefCell::new(None),
            input: RefCell::new(None),
            backend: RefCell::new(None),
            disposed: Cell::new(false),
        });
        shell.presentation.apply(&shell.canvas(), &layout);
        Ok((shell, url, layout))
    }

    /// The canvas shown now.
    pub fn canvas(&self) -> HtmlCanvasElement {
        self.canvas.borrow().clone()
    }

    /// True when the view created the canvas (it may replace and remove it).
    pub fn owns_canvas(&self) -> bool {
        self.owns_canvas
    }

    /// Connects the shell to its back-end: follows the canvas's size and the DPR into its
    /// layout and, with `input`, captures input mapped with `geometry` and sent to `outbox`.
    pub fn attach(
        self: &Rc<Self>,
        backend: Weak<dyn Backend>,
        geometry: Rc<dyn InputGeometry>,
        outbox: Rc<dyn Outbox>,
        clipboard: Rc<ClipboardOffer>,
        input: bool,
    ) -> Result<(), ViewerError> {
        *self.backend.borrow_mut() = Some(backend);
        let weak = Rc::downgrade(self);
        let watch = LayoutWatch::new(
            &self.canvas(),
            &window()?,
            self.dpr_override.is_none(),
            move |change, error| {
                if let Some(shell) = weak.upgrade() {
                    if let Some(e) = error {
                        shell.events.emit(ViewerEvent::Error(e));
                    }
                    shell.relayout(change);
                }
            },
        )?;
        *self.watch.borrow_mut() = Some(watch);
        if input {
            let geometry: Rc<dyn InputGeometry> = Rc::new(CurrentLayout {
                shell: Rc::downgrade(self),
                inner: geometry,
            });
            let capture = InputCapture::new(
                self.canvas(),
                geometry,
                outbox,
                self.events.clone(),
                clipboard,
            )?;
            *self.input.borrow_mut() = Some(capture);
        }
        Ok(())
    }

    fn backend(&self) -> Option<Rc<dyn Backend>> {
        self.backend.borrow().as_ref().and_then(Weak::upgrade)
    }

    /// The canvas size or the DPR changed.
    fn relayout(&self, change: LayoutChange) {
        if self.disposed.get() {
            return;
        }
        if let Some(backend) = self.backend() {
            let layout = relaid(&backend.layout(), change, self.dpr_override.is_none());
            backend.set_layout(layout);
        }
    }

    /// Catches the layout up with the canvas's content box when the size watch has not
    /// reported a change yet: its observer runs with the next rendering, so input that
    /// comes between a page's layout change and that rendering would otherwise map
    /// through the old size.
    fn catch_up_with_size(&self) {
        if self.disposed.get() {
            return;
        }
        let Some(backend) = self.backend() else {
            return;
        };
        let layout = backend.layout();
        let (width, height) = content_size(&self.canvas());
        if (width - layout.css_width).abs() > 0.5 || (height - layout.css_height).abs() > 0.5 {
            self.relayout(Some((width, height, None)));
        }
    }

    /// `setFit(fit, background?)` of both views.
    pub fn set_fit(&self, fit: &str, background: Option<String>) -> Result<(), JsValue> {
        let fit = parse_fit(fit).map_err(|e| e.to_js(None))?;
        if let Some(backend) = self.backend() {
            let mut layout = backend.layout();
            layout.fit = fit;
            if let Some(background) = background {
                layout.background = background;
            }
            self.presentation.apply(&self.canvas(), &layout);
            backend.set_layout(layout);
        }
        Ok(())
    }

    /// The canvas was replaced (another colour space, in-thread): move the watches and
    /// the input listeners to the new element. Runs inside a draw: it must not call the
    /// back-end.
    pub fn canvas_replaced(&self, new: &HtmlCanvasElement) {
        let old = self.canvas.replace(new.clone());
        if let Some(watch) = self.watch.borrow().as_ref() {
            watch.retarget(&old, new);
        }
        if let Some(input) = self.input.borrow().as_ref() {
            input.retarget(new);
        }
    }

    /// Stops watching and capturing; removes a canvas the view created, and the role and
    /// name the view gave a canvas the page passed in.
    pub fn dispose(&self) {
        if self.disposed.replace(true) {
            return;
        }
        if let Some(input) = self.input.borrow_mut().take() {
            input.dispose();
        }
        if let Some(watch) = self.watch.borrow_mut().take() {
            watch.dispose();
        }
        let canvas = self.canvas();
        if self.owns_canvas {
            canvas.remove();
        } else {
            self.labelled.remove(&canvas);
            self.presentation.restore(&canvas);
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.dispose();
    }
}
