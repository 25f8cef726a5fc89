//! Where decoded frames are drawn: a [`Surface`] (a canvas and its 2D context) and the
//! [`Layout`] that places a frame on it through the fit mode, the device pixel ratio and the
//! backing-store cap, using the same `rfb_protocol::fit` math the native tests check.
//!
//! The core only sees the trait, so the worker issue can add an `OffscreenCanvas` surface
//! without touching it.

use js_sys::{Object, Reflect};
use rfb_protocol::fit::{Rect, ViewGeometry};
use rfb_protocol::FitMode;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap, VideoFrame};

use super::error::{js_reason, ViewerError};

/// The default cap on either side of the canvas backing store.
pub const DEFAULT_MAX_BACKING_DIMENSION: u32 = 4096;

/// A decoded picture ready to draw.
pub enum Picture<'a> {
    /// A WebCodecs frame.
    Video(&'a VideoFrame),
    /// A decoded image.
    Bitmap(&'a ImageBitmap),
}

/// How frames are placed on the canvas: fit mode, letterbox colour, the canvas's CSS size
/// and device pixel ratio, and the backing-store cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Fit mode.
    pub fit: FitMode,
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
}

impl Layout {
    /// The geometry of a `width x height` frame on this layout.
    pub fn geometry(&self, width: u32, height: u32) -> ViewGeometry {
        ViewGeometry::new(
            self.fit,
            (width, height),
            (self.css_width, self.css_height),
            self.dpr,
            self.max_backing_dimension,
        )
    }
}

/// Something frames can be drawn on and read back from.
pub trait Surface {
    /// Draws `picture` into `dest` (backing-store pixels) after resizing the backing store
    /// to `backing` and painting `background` wherever the picture does not cover.
    fn draw(
        &self,
        picture: Picture<'_>,
        backing: (u32, u32),
        dest: Rect,
        background: &str,
    ) -> Result<(), ViewerError>;

    /// The current pixels: `{ width, height, data: Uint8ClampedArray (RGBA) }`.
    fn capture(&self) -> Result<JsValue, ViewerError>;
}

/// Draws `picture` (a `width x height` frame) on `surface` according to `layout`.
pub fn draw_frame(
    surface: &dyn Surface,
    layout: &Layout,
    picture: Picture<'_>,
    width: u32,
    height: u32,
) -> Result<(), ViewerError> {
    let geometry = layout.geometry(width, height);
    surface.draw(
        picture,
        (geometry.backing_width, geometry.backing_height),
        geometry.dest_rect(),
        &layout.background,
    )
}

/// A `<canvas>` element with a 2D context.
pub struct CanvasSurface {
    canvas: HtmlCanvasElement,
    context: CanvasRenderingContext2d,
}

fn draw_error(what: &'static str) -> impl Fn(JsValue) -> ViewerError {
    move |e| ViewerError::Draw {
        what,
        reason: js_reason(&e),
    }
}

impl CanvasSurface {
    /// Takes the canvas's 2D context (opaque: the letterbox colour is painted explicitly).
    pub fn new(canvas: HtmlCanvasElement) -> Result<CanvasSurface, ViewerError> {
        let options = Object::new();
        Reflect::set(&options, &"alpha".into(), &JsValue::FALSE).map_err(draw_error("setup"))?;
        let context = canvas
            .get_context_with_context_options("2d", &options)
            .map_err(draw_error("setup"))?
            .ok_or_else(|| ViewerError::Draw {
                what: "setup",
                reason: "the canvas already has a non-2D context".into(),
            })?
            .dyn_into::<CanvasRenderingContext2d>()
            .map_err(|_| ViewerError::Draw {
                what: "setup",
                reason: "getContext('2d') returned something else".into(),
            })?;
        Ok(CanvasSurface { canvas, context })
    }
}

impl Surface for CanvasSurface {
    fn draw(
        &self,
        picture: Picture<'_>,
        backing: (u32, u32),
        dest: Rect,
        background: &str,
    ) -> Result<(), ViewerError> {
        if (self.canvas.width(), self.canvas.height()) != backing {
            // Resizing the backing store clears it and resets the context state.
            self.canvas.set_width(backing.0);
            self.canvas.set_height(backing.1);
        }
        let (w, h) = (f64::from(backing.0), f64::from(backing.1));
        let covered =
            dest.x <= 0.0 && dest.y <= 0.0 && dest.x + dest.width >= w && dest.y + dest.height >= h;
        if !covered {
            self.context.set_fill_style_str(background);
            self.context.fill_rect(0.0, 0.0, w, h);
        }
        let ctx = &self.context;
        match picture {
            Picture::Video(frame) => ctx.draw_image_with_video_frame_and_dw_and_dh(
                frame,
                dest.x,
                dest.y,
                dest.width,
                dest.height,
            ),
            Picture::Bitmap(bitmap) => ctx.draw_image_with_image_bitmap_and_dw_and_dh(
                bitmap,
                dest.x,
                dest.y,
                dest.width,
                dest.height,
            ),
        }
        .map_err(draw_error("draw"))
    }

    fn capture(&self) -> Result<JsValue, ViewerError> {
        let (w, h) = (self.canvas.width(), self.canvas.height());
        let image = self
            .context
            .get_image_data(0, 0, w as i32, h as i32)
            .map_err(draw_error("capture"))?;
        let out = Object::new();
        let set = |key: &str, value: &JsValue| {
            Reflect::set(&out, &key.into(), value).map_err(draw_error("capture"))
        };
        set("width", &JsValue::from(w))?;
        set("height", &JsValue::from(h))?;
        // The pixels stay in JS: no copy through wasm memory.
        set(
            "data",
            &Reflect::get(&image, &"data".into()).map_err(draw_error("capture"))?,
        )?;
        Ok(out.into())
    }
}
