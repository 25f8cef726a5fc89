//! The worker's [`Surface`]: the `OffscreenCanvas` the page transferred.
//!
//! Its 2D context is created at the first draw, in that frame's colour space (`srgb`, or
//! `display-p3` for frames tagged Display P3). Unlike the in-thread canvas it cannot be
//! swapped for a fresh element when a later frame is tagged differently (the element
//! belongs to the page), so such frames are drawn into the existing context and the
//! browser converts them.

use std::cell::RefCell;

use rfb_protocol::fit::Rect;
use rfb_protocol::ColorSpace;
use web_sys::{OffscreenCanvas, OffscreenCanvasRenderingContext2d};

use crate::web::error::ViewerError;
use crate::web::surface::{
    capture_canvas, opaque_context_2d, paint, CanvasCapture, Picture, Surface,
};

/// An `OffscreenCanvas` and its 2D context, created at the first draw.
pub struct OffscreenSurface {
    canvas: OffscreenCanvas,
    context: RefCell<Option<(OffscreenCanvasRenderingContext2d, ColorSpace)>>,
}

impl OffscreenSurface {
    /// A surface on `canvas`.
    pub fn new(canvas: OffscreenCanvas) -> OffscreenSurface {
        OffscreenSurface {
            canvas,
            context: RefCell::new(None),
        }
    }

    fn context(&self, color: ColorSpace) -> Result<OffscreenCanvasRenderingContext2d, ViewerError> {
        if let Some((ctx, _)) = self.context.borrow().as_ref() {
            return Ok(ctx.clone());
        }
        let ctx: OffscreenCanvasRenderingContext2d = opaque_context_2d(
            |kind, options| self.canvas.get_context_with_context_options(kind, options),
            color,
        )?;
        *self.context.borrow_mut() = Some((ctx.clone(), color));
        Ok(ctx)
    }
}

impl Surface for OffscreenSurface {
    fn draw(
        &self,
        picture: Picture<'_>,
        color: ColorSpace,
        backing: (u32, u32),
        dest: Rect,
        background: &str,
    ) -> Result<(), ViewerError> {
        let ctx = self.context(color)?;
        if (self.canvas.width(), self.canvas.height()) != backing {
            // Resizing the backing store clears it and resets the context state.
            self.canvas.set_width(backing.0);
            self.canvas.set_height(backing.1);
        }
        paint(&ctx, picture, backing, dest, background)
    }

    fn capture(&self) -> Result<CanvasCapture, ViewerError> {
        let context = self.context.borrow();
        let drawn = context.as_ref().map(|(ctx, color)| (ctx, *color));
        capture_canvas((self.canvas.width(), self.canvas.height()), drawn)
    }
}
