//! Watching the viewer's size (main thread): a `ResizeObserver` on the canvas for its CSS
//! size (and, where the browser reports it, its exact size in device pixels:
//! `device-pixel-content-box`), and a `matchMedia("(resolution: <dpr>dppx)")` query, re-armed at every change,
//! for the device pixel ratio (browser zoom, moving the window to another screen). The view
//! turns both into a new layout (the backing store follows) and a `SetViewport`.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Array;
use wasm_bindgen::prelude::*;
use web_sys::{Element, MediaQueryList, ResizeObserver, ResizeObserverEntry, Window};

use super::error::{js_reason, ViewerError};
use super::surface::Layout;

/// Reports the content-box size (CSS pixels) of an element whenever it changes.
pub struct SizeWatch {
    observer: ResizeObserver,
    _callback: Closure<dyn FnMut(Array)>,
}

impl SizeWatch {
    /// Observes `target`; `on_size(width, height, device)` runs for every change (and once
    /// at the start, as `ResizeObserver` does), `device` being the content box in device
    /// pixels where the browser says.
    pub fn new(
        target: &Element,
        on_size: impl Fn(f64, f64, Option<(u32, u32)>) + 'static,
    ) -> Result<SizeWatch, ViewerError> {
        let callback = Closure::<dyn FnMut(Array)>::new(move |entries: Array| {
            if let Some(entry) = entries.iter().last() {
                let device = device_pixels(&entry);
                let rect = entry.unchecked_into::<ResizeObserverEntry>().content_rect();
                on_size(rect.width(), rect.height(), device);
            }
        });
        let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).map_err(|e| {
            ViewerError::Browser {
                what: "observing the canvas size",
                reason: js_reason(&e),
            }
        })?;
        observe(&observer, target);
        Ok(SizeWatch {
            observer,
            _callback: callback,
        })
    }

    /// Observes `new` instead of `old` (the canvas was replaced).
    pub fn retarget(&self, old: &Element, new: &Element) {
        self.observer.unobserve(old);
        observe(&self.observer, new);
    }

    /// Stops observing.
    pub fn dispose(&self) {
        self.observer.disconnect();
    }
}

/// Observes `target`'s device-pixel content box where the browser supports it (it then also
/// reports moves that change the device pixels covered), its content box elsewhere.
fn observe(observer: &ResizeObserver, target: &Element) {
    let options = js_sys::Object::new();
    // Setting a property on a fresh object cannot fail.
    let _ = js_sys::Reflect::set(&options, &"box".into(), &"device-pixel-content-box".into());
    let observe = js_sys::Reflect::get(observer, &"observe".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let with_box = observe.is_some_and(|f| f.call2(observer, target, &options).is_ok());
    if !with_box {
        observer.observe(target);
    }
}

/// `entry.devicePixelContentBoxSize[0]` as whole device pixels, if the browser has it.
fn device_pixels(entry: &JsValue) -> Option<(u32, u32)> {
    let sizes = js_sys::Reflect::get(entry, &"devicePixelContentBoxSize".into()).ok()?;
    let first = js_sys::Reflect::get_u32(&sizes, 0).ok()?;
    let size = |key: &str| {
        js_sys::Reflect::get(&first, &key.into())
            .ok()?
            .as_f64()
            .filter(|v| v.is_finite() && *v >= 1.0 && *v <= 65_535.0)
            .map(|v| v.round() as u32)
    };
    Some((size("inlineSize")?, size("blockSize")?))
}

/// Reports the window's device pixel ratio whenever it changes.
pub struct DprWatch {
    window: Window,
    /// The query matching the current ratio; it stops matching when the ratio changes.
    query: RefCell<Option<MediaQueryList>>,
    /// One callback for the watch's whole life: re-arming moves it to a new query, so it
    /// is never dropped while it runs.
    callback: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl DprWatch {
    /// Starts watching; `on_change(dpr, rearm_error)` runs after every change (with the
    /// error if the watch could not be re-armed for the next one).
    pub fn new(
        window: Window,
        on_change: impl Fn(f64, Option<ViewerError>) + 'static,
    ) -> Result<Rc<DprWatch>, ViewerError> {
        let watch = Rc::new(DprWatch {
            window,
            query: RefCell::new(None),
            callback: RefCell::new(None),
        });
        let weak: Weak<DprWatch> = Rc::downgrade(&watch);
        *watch.callback.borrow_mut() = Some(Closure::new(move || {
            let Some(watch) = weak.upgrade() else { return };
            let dpr = watch.window.device_pixel_ratio();
            let rearmed = watch.arm(dpr);
            on_change(dpr, rearmed.err());
        }));
        watch.arm(watch.window.device_pixel_ratio())?;
        Ok(watch)
    }

    /// Listens for the end of `(resolution: <dpr>dppx)`.
    fn arm(&self, dpr: f64) -> Result<(), ViewerError> {
        self.disarm();
        let error = |e: JsValue| ViewerError::Browser {
            what: "watching the device pixel ratio",
            reason: js_reason(&e),
        };
        let callback = self.callback.borrow();
        let Some(callback) = callback.as_ref() else {
            return Ok(());
        };
        let query = self
            .window
            .match_media(&format!("(resolution: {dpr}dppx)"))
            .map_err(error)?
            .ok_or_else(|| error(JsValue::from_str("matchMedia returned null")))?;
        query
            .add_event_listener_with_callback("change", callback.as_ref().unchecked_ref())
            .map_err(error)?;
        *self.query.borrow_mut() = Some(query);
        Ok(())
    }

    fn disarm(&self) {
        let query = self.query.borrow_mut().take();
        if let (Some(query), Some(callback)) = (query, self.callback.borrow().as_ref()) {
            // Removing a listener never throws for a function argument.
            let _ = query
                .remove_event_listener_with_callback("change", callback.as_ref().unchecked_ref());
        }
    }

    /// Stops watching.
    pub fn dispose(&self) {
        self.disarm();
    }
}

/// What changed: the canvas's CSS size and, where known, its device-pixel size (`Some`),
/// or the window's DPR (`None`).
pub type LayoutChange = Option<(f64, f64, Option<(u32, u32)>)>;

/// Both watches of one view's canvas: its CSS size and, unless the view's DPR is fixed by
/// an option, the window's device pixel ratio.
pub struct LayoutWatch {
    size: SizeWatch,
    dpr: Option<Rc<DprWatch>>,
}

impl LayoutWatch {
    /// Starts watching `canvas` (and the DPR when `follow_dpr`); `on_change` runs for each
    /// change, with an error to report when the DPR watch could not be re-armed.
    pub fn new(
        canvas: &Element,
        window: &Window,
        follow_dpr: bool,
        on_change: impl Fn(LayoutChange, Option<ViewerError>) + 'static,
    ) -> Result<LayoutWatch, ViewerError> {
        let on_change = Rc::new(on_change);
        let on_size = on_change.clone();
        let size = SizeWatch::new(canvas, move |width, height, device| {
            on_size(Some((width, height, device)), None);
        })?;
        let dpr = if follow_dpr {
            Some(DprWatch::new(window.clone(), move |_dpr, rearm_error| {
                on_change(None, rearm_error);
            })?)
        } else {
            None
        };
        Ok(LayoutWatch { size, dpr })
    }

    /// Observes `new` instead of `old` (the canvas was replaced).
    pub fn retarget(&self, old: &Element, new: &Element) {
        self.size.retarget(old, new);
    }

    /// Stops both watches.
    pub fn dispose(&self) {
        self.size.dispose();
        if let Some(dpr) = &self.dpr {
            dpr.dispose();
        }
    }
}

/// `layout` after `change`: the new CSS size, and the window's current DPR unless the view
/// fixes it (`follow_dpr` false).
pub fn relaid(layout: &Layout, change: LayoutChange, follow_dpr: bool) -> Layout {
    let mut layout = layout.clone();
    match change {
        Some((width, height, device)) => {
            layout.css_width = width;
            layout.css_height = height;
            // Device pixels only count at the window's own DPR.
            layout.device_size = device.filter(|_| follow_dpr);
        }
        // The DPR changed: the device-pixel size is stale until the observer reports.
        None => layout.device_size = None,
    }
    if follow_dpr {
        if let Some(window) = web_sys::window() {
            layout.dpr = window.device_pixel_ratio();
        }
    }
    layout
}
