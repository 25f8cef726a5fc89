//! Where decoded frames are drawn: a [`Surface`] (a canvas and its 2D context) and the
//! [`Layout`] that places a frame on it through the fit mode, the device pixel ratio and the
//! backing-store cap, using the same `rfb_protocol::fit` math the native tests check.
//!
//! The core only sees the trait, so the worker issue can add an `OffscreenCanvas` surface
//! without touching it.
//!
//! Colour: a 2D context's `colorSpace` is fixed when it is created, so the context is
//! created at the first draw, in the colour space of that frame (`srgb`, or `display-p3`
//! for frames tagged Display P3), and drawing never converts between the two. When a later
//! frame is tagged differently and the view created the canvas, the element is replaced by
//! a clone (same attributes, so same style, id, class and tabindex) with a fresh context,
//! and the view is told so it moves its listeners and observers. A canvas the page passed
//! in is never replaced (the page holds references and listeners on it): frames of the
//! other colour space are drawn into its context, converted by the browser.

use std::cell::RefCell;

use js_sys::{Object, Reflect, Uint8ClampedArray};
use rfb_protocol::fit::{Rect, ViewGeometry};
use rfb_protocol::{ColorSpace, FitMode, Scaling};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap, ImageData, VideoFrame};

use super::api::CanvasColorSpace;
use super::error::{js_reason, ViewerError};

/// The default cap on either side of the canvas backing store.
pub const DEFAULT_MAX_BACKING_DIMENSION: u32 = 4096;

/// A decoded picture ready to draw.
pub enum Picture<'a> {
    /// A WebCodecs frame.
    Video(&'a VideoFrame),
    /// A decoded image.
    Bitmap(&'a ImageBitmap),
    /// Pixels the viewer converted itself, on a frame-sized canvas.
    Canvas(&'a web_sys::OffscreenCanvas),
}

/// How frames are placed on the canvas: fit mode, letterbox colour, where the scaling
/// happens, the canvas's CSS size and device pixel ratio, and the backing-store cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Fit mode.
    pub fit: FitMode,
    /// Scaled inside the canvas, or by CSS (the backing store is then the frame).
    pub scaling: Scaling,
    /// Letterbox colour (any CSS colour).
    pub background: String,
    /// Canvas CSS width.
    pub css_width: f64,
    /// Canvas CSS height.
    pub css_height: f64,
    /// Device pixel ratio the backing store is sized for.
    pub dpr: f64,
    /// Largest backing-store side.
    pub max_backing_dimension: u32,
    /// The content box in device pixels exactly, where the browser reports it
    /// (`devicePixelContentBoxSize`): at a fractional DPR (1.25, 1.5) `CSS size x DPR`
    /// rounded can be a pixel off the pixels the canvas covers, which blurs everything by
    /// resampling. `None`: the DPR is overridden, or the browser does not say. Used only
    /// when within a pixel of `CSS size x DPR`.
    pub device_size: Option<(u32, u32)>,
}

impl Layout {
    /// The geometry of a `width x height` frame on this layout. Scaled by CSS, the backing
    /// store is the frame (capped); scaled in the canvas, it is the exact device-pixel size
    /// when known, else `CSS size x DPR`, capped either way.
    pub fn geometry(&self, width: u32, height: u32) -> ViewGeometry {
        let mut geometry = ViewGeometry::scaled(
            self.scaling,
            self.fit,
            (width, height),
            (self.css_width, self.css_height),
            self.dpr,
            self.max_backing_dimension,
        );
        if self.scaling == Scaling::Css {
            return geometry;
        }
        // Only a correction of the rounding is believed: Chromium's DPR emulation (devtools,
        // automation) reports CSS pixels here, which would halve the resolution at DPR 2.
        let near = |device: u32, css: f64| (f64::from(device) - css * self.dpr).abs() <= 1.0;
        let device = self.device_size.filter(|&(w, h)| {
            w > 0 && h > 0 && near(w, self.css_width) && near(h, self.css_height)
        });
        if let Some((w, h)) = device {
            let (w, h) = rfb_protocol::fit::backing_size(
                f64::from(w),
                f64::from(h),
                1.0,
                self.max_backing_dimension,
            );
            geometry.backing_width = w;
            geometry.backing_height = h;
        }
        geometry
    }
}

/// Something frames can be drawn on and read back from.
pub trait Surface {
    /// Draws `picture` (pixels in `color`) into `dest` (backing-store pixels) after
    /// resizing the backing store to `backing` and painting `background` wherever the
    /// picture does not cover.
    fn draw(
        &self,
        picture: Picture<'_>,
        color: ColorSpace,
        backing: (u32, u32),
        dest: Rect,
        background: &str,
    ) -> Result<(), ViewerError>;

    /// The current pixels of the backing store (RGBA, in the canvas's colour space): the
    /// letterboxed picture when scaled in the canvas, the frame 1:1 when scaled by CSS.
    fn capture(&self) -> Result<CanvasCapture, ViewerError>;
}

/// Draws `picture` (a `width x height` frame in `color`) on `surface` according to
/// `layout`.
pub fn draw_frame(
    surface: &dyn Surface,
    layout: &Layout,
    picture: Picture<'_>,
    (width, height): (u32, u32),
    color: ColorSpace,
) -> Result<(), ViewerError> {
    let geometry = layout.geometry(width, height);
    surface.draw(
        picture,
        color,
        (geometry.backing_width, geometry.backing_height),
        geometry.dest_rect(),
        &layout.background,
    )
}

/// Called with the new element when a colour-space change replaced the canvas.
pub type OnReplaced = Box<dyn Fn(&HtmlCanvasElement)>;

/// A `<canvas>` element and its 2D context, created at the first draw.
pub struct CanvasSurface {
    canvas: RefCell<HtmlCanvasElement>,
    context: RefCell<Option<Context>>,
    /// `None` for a canvas the page passed in: it is never replaced (the page's listeners
    /// and references must keep pointing at the live element), so frames in another
    /// colour space are drawn into its context and converted by the browser.
    on_replaced: Option<OnReplaced>,
}

struct Context {
    context: CanvasRenderingContext2d,
    color: ColorSpace,
}

pub(super) fn draw_error(what: &'static str) -> impl Fn(JsValue) -> ViewerError {
    move |e| ViewerError::Draw {
        what,
        reason: js_reason(&e),
    }
}

/// An opaque 2D context (the letterbox colour is painted explicitly) in `color`'s canvas
/// colour space, from `get_context(type, options)` of a `<canvas>` or an `OffscreenCanvas`.
pub fn opaque_context_2d<C: JsCast>(
    get_context: impl FnOnce(&str, &Object) -> Result<Option<Object>, JsValue>,
    color: ColorSpace,
) -> Result<C, ViewerError> {
    let options = Object::new();
    let set = |key: &str, value: &JsValue| {
        Reflect::set(&options, &key.into(), value).map_err(draw_error("setup"))
    };
    set("alpha", &JsValue::FALSE)?;
    set("colorSpace", &color.canvas_color_space().into())?;
    get_context("2d", &options)
        .map_err(draw_error("setup"))?
        .ok_or_else(|| ViewerError::Draw {
            what: "setup",
            reason: "the canvas already has a non-2D context".into(),
        })?
        .dyn_into::<C>()
        .map_err(|_| ViewerError::Draw {
            what: "setup",
            reason: "getContext('2d') returned something else".into(),
        })
}

/// The `<canvas>`'s opaque 2D context in `color`'s colour space.
fn context_2d(
    canvas: &HtmlCanvasElement,
    color: ColorSpace,
) -> Result<CanvasRenderingContext2d, ViewerError> {
    opaque_context_2d(
        |kind, options| canvas.get_context_with_context_options(kind, options),
        color,
    )
}

/// The colour space a 2D context really has (`getContextAttributes().colorSpace`; a
/// context the embedder created before us may differ from what we asked for).
fn actual_color_space(context: &CanvasRenderingContext2d) -> Option<String> {
    let get = Reflect::get(context, &"getContextAttributes".into()).ok()?;
    let attributes = get
        .dyn_into::<js_sys::Function>()
        .ok()?
        .call0(context)
        .ok()?;
    Reflect::get(&attributes, &"colorSpace".into())
        .ok()?
        .as_string()
}

impl CanvasSurface {
    /// A surface on `canvas`. With `on_replaced` (a canvas the view created), a change of
    /// colour space moves to a fresh element and `on_replaced` is told; without (the page's
    /// own canvas), the element is kept whatever the frames' colour space.
    pub fn new(canvas: HtmlCanvasElement, on_replaced: Option<OnReplaced>) -> CanvasSurface {
        CanvasSurface {
            canvas: RefCell::new(canvas),
            context: RefCell::new(None),
            on_replaced,
        }
    }

    /// The context for frames in `color`, creating it (on a new element if the current one
    /// already has a context in another colour space).
    fn context_for(&self, color: ColorSpace) -> Result<CanvasRenderingContext2d, ViewerError> {
        if let Some(ctx) = self.context.borrow().as_ref() {
            if ctx.color == color || self.on_replaced.is_none() {
                return Ok(ctx.context.clone());
            }
        }
        if self.context.borrow_mut().take().is_some() {
            self.replace_canvas()?;
        }
        let mut context = context_2d(&self.canvas.borrow(), color)?;
        let mismatch = actual_color_space(&context).filter(|c| c != color.canvas_color_space());
        if let (Some(actual), None) = (&mismatch, &self.on_replaced) {
            // The page's canvas already had a context in the other space: draw into it.
            let color = if actual == "display-p3" {
                rfb_protocol::DISPLAY_P3
            } else {
                rfb_protocol::SRGB
            };
            *self.context.borrow_mut() = Some(Context {
                context: context.clone(),
                color,
            });
            return Ok(context);
        }
        if mismatch.is_some() {
            // The embedder's canvas already had a 2D context in the other colour space.
            self.replace_canvas()?;
            context = context_2d(&self.canvas.borrow(), color)?;
        }
        *self.context.borrow_mut() = Some(Context {
            context: context.clone(),
            color,
        });
        Ok(context)
    }

    /// Puts a shallow clone of the canvas (attributes only, no context) in its place.
    fn replace_canvas(&self) -> Result<(), ViewerError> {
        let old = self.canvas.borrow().clone();
        let replace_error = |e: JsValue| ViewerError::Draw {
            what: "replacing the canvas for another colour space",
            reason: js_reason(&e),
        };
        let new = old
            .clone_node()
            .map_err(replace_error)?
            .dyn_into::<HtmlCanvasElement>()
            .map_err(|_| replace_error(JsValue::from_str("cloneNode returned something else")))?;
        let old_value: &JsValue = old.as_ref();
        let focused = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|active| AsRef::<JsValue>::as_ref(&active) == old_value);
        if old.parent_node().is_some() {
            old.replace_with_with_node_1(&new).map_err(replace_error)?;
        }
        if focused {
            super::input::focus(&new);
        }
        *self.canvas.borrow_mut() = new.clone();
        if let Some(on_replaced) = &self.on_replaced {
            on_replaced(&new);
        }
        Ok(())
    }
}

impl Surface for CanvasSurface {
    fn draw(
        &self,
        picture: Picture<'_>,
        color: ColorSpace,
        backing: (u32, u32),
        dest: Rect,
        background: &str,
    ) -> Result<(), ViewerError> {
        let ctx = self.context_for(color)?;
        let canvas = self.canvas.borrow().clone();
        if (canvas.width(), canvas.height()) != backing {
            // Resizing the backing store clears it and resets the context state.
            canvas.set_width(backing.0);
            canvas.set_height(backing.1);
        }
        paint(&ctx, picture, backing, dest, background)
    }

    fn capture(&self) -> Result<CanvasCapture, ViewerError> {
        let canvas = self.canvas.borrow().clone();
        let context = self.context.borrow();
        let drawn = context.as_ref().map(|c| (&c.context, c.color));
        capture_canvas((canvas.width(), canvas.height()), drawn)
    }
}

/// The 2D-context calls a draw and a capture make, the same on a `<canvas>` context and
/// an `OffscreenCanvas` one (two unrelated types in web-sys).
pub trait Context2d {
    /// Fills `0, 0, w, h` with `style`.
    fn fill(&self, style: &str, w: f64, h: f64);
    /// Draws `picture` scaled into `dest`.
    fn draw_picture(&self, picture: Picture<'_>, dest: Rect) -> Result<(), JsValue>;
    /// `getImageData(0, 0, w, h)`.
    fn image_data(&self, w: u32, h: u32) -> Result<ImageData, JsValue>;
}

macro_rules! context_2d_impl {
    ($ty:ty) => {
        impl Context2d for $ty {
            fn fill(&self, style: &str, w: f64, h: f64) {
                self.set_fill_style_str(style);
                self.fill_rect(0.0, 0.0, w, h);
            }

            fn draw_picture(&self, picture: Picture<'_>, dest: Rect) -> Result<(), JsValue> {
                match picture {
                    Picture::Video(frame) => self.draw_image_with_video_frame_and_dw_and_dh(
                        frame,
                        dest.x,
                        dest.y,
                        dest.width,
                        dest.height,
                    ),
                    Picture::Bitmap(bitmap) => self.draw_image_with_image_bitmap_and_dw_and_dh(
                        bitmap,
                        dest.x,
                        dest.y,
                        dest.width,
                        dest.height,
                    ),
                    Picture::Canvas(canvas) => self.draw_image_with_offscreen_canvas_and_dw_and_dh(
                        canvas,
                        dest.x,
                        dest.y,
                        dest.width,
                        dest.height,
                    ),
                }
            }

            fn image_data(&self, w: u32, h: u32) -> Result<ImageData, JsValue> {
                self.get_image_data(0, 0, w as i32, h as i32)
            }
        }
    };
}

context_2d_impl!(CanvasRenderingContext2d);
context_2d_impl!(web_sys::OffscreenCanvasRenderingContext2d);

/// Paints the letterbox (where `dest` does not cover the `backing` store) and `picture`.
pub fn paint(
    ctx: &impl Context2d,
    picture: Picture<'_>,
    backing: (u32, u32),
    dest: Rect,
    background: &str,
) -> Result<(), ViewerError> {
    let (w, h) = (f64::from(backing.0), f64::from(backing.1));
    let covered =
        dest.x <= 0.0 && dest.y <= 0.0 && dest.x + dest.width >= w && dest.y + dest.height >= h;
    if !covered {
        ctx.fill(background, w, h);
    }
    ctx.draw_picture(picture, dest).map_err(draw_error("draw"))
}

/// The pixels of a canvas: what `capture()` returns, without the stats.
pub struct CanvasCapture {
    /// Backing-store width.
    pub width: u32,
    /// Backing-store height.
    pub height: u32,
    /// The canvas's colour space (`None` before the first frame created the context).
    pub color_space: Option<CanvasColorSpace>,
    /// RGBA bytes in that colour space (they stay in JS: no copy through wasm memory).
    pub data: Uint8ClampedArray,
}

/// Reads a `w x h` backing store through `drawn` (its context and colour space), or a blank
/// one when nothing was drawn yet.
pub fn capture_canvas(
    (w, h): (u32, u32),
    drawn: Option<(&impl Context2d, ColorSpace)>,
) -> Result<CanvasCapture, ViewerError> {
    let (color_space, data) = match drawn {
        Some((ctx, color)) => {
            let image = ctx.image_data(w, h).map_err(draw_error("capture"))?;
            // `ImageData.data` itself (web-sys's getter would copy it into wasm memory).
            let data = Reflect::get(&image, &"data".into())
                .map_err(draw_error("capture"))?
                .unchecked_into::<Uint8ClampedArray>();
            (Some(color.into()), data)
        }
        // Nothing drawn yet (the context is created at the first frame): blank.
        None => (
            None,
            Uint8ClampedArray::new_with_length(w.saturating_mul(h).saturating_mul(4)),
        ),
    };
    Ok(CanvasCapture {
        width: w,
        height: h,
        color_space,
        data,
    })
}
