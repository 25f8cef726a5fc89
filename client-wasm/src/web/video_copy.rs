//! A decoded `VideoFrame` turned into an `ImageBitmap` by the viewer itself: its I420
//! planes are copied out (`copyTo`, a plain memory copy), converted to RGBA here with the
//! matrix and range the stream's `Config` announced (the `yuv` crate, the same one the
//! server encodes with), and wrapped in an `ImageBitmap`.
//!
//! Worker mode uses it because headless Chromium without a GPU makes a worker wait for the
//! page's main thread whenever it turns a `VideoFrame` into pixels itself (`drawImage`,
//! `createImageBitmap(frame)`, an RGBA `copyTo`): with the page busy, video would stall
//! exactly as if it were decoded on the main thread. A plain I420 `copyTo` does not wait.
//! Frames in another format (a GPU decoder's) are drawn by the browser as usual.

use js_sys::{Array, Object, Promise, Reflect, Uint8Array, Uint8ClampedArray};
use rfb_protocol::color::MatrixCoefficients;
use rfb_protocol::{ColorSpace, YuvEncoding};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ImageBitmap, PlaneLayout, VideoFrame, VideoPixelFormat};
use yuv::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

use super::error::js_reason;
use super::image::OwnedBitmap;

#[wasm_bindgen]
extern "C" {
    /// The global `createImageBitmap(imageData)`.
    #[wasm_bindgen(js_name = createImageBitmap, catch)]
    fn create_image_bitmap_from_data(image: &JsValue) -> Result<Promise, JsValue>;
}

/// True for frames this module converts: I420 in CPU memory (software decoders).
pub fn is_copyable(frame: &VideoFrame) -> bool {
    frame.format() == Some(VideoPixelFormat::I420)
}

/// The frame's pixels as an `ImageBitmap` in `color` (the frame's colour space), converted
/// with `encoding`. The error is a readable reason.
pub async fn frame_to_bitmap(
    frame: &VideoFrame,
    encoding: YuvEncoding,
    color: ColorSpace,
) -> Result<OwnedBitmap, String> {
    let rect = frame
        .visible_rect()
        .ok_or("the frame has no visible rectangle")?;
    let (width, height) = (rect.width() as u32, rect.height() as u32);
    let size = frame.allocation_size().map_err(|e| js_reason(&e))?;
    // A JS buffer, not wasm memory: the copy completes later, and wasm memory may grow
    // (detaching any view of it) meanwhile.
    let buffer = Uint8Array::new_with_length(size);
    let layouts = JsFuture::from(
        frame
            .copy_to_with_u8_array(&buffer)
            .unchecked_into::<Promise>(),
    )
    .await
    .map_err(|e| js_reason(&e))?;
    let layouts: Vec<PlaneLayout> = Array::from(&layouts)
        .iter()
        .map(|l| l.unchecked_into::<PlaneLayout>())
        .collect();
    let [y, u, v] = layouts.as_slice() else {
        return Err(format!("I420 copy gave {} planes", layouts.len()));
    };
    let bytes = buffer.to_vec();
    let plane = |layout: &PlaneLayout, rows: u32| -> Result<(&[u8], u32), String> {
        let (offset, stride) = (layout.get_offset() as usize, layout.get_stride());
        let end = offset + stride as usize * rows as usize;
        bytes
            .get(offset..end)
            .map(|p| (p, stride))
            .ok_or_else(|| format!("plane at {offset}..{end} outside the {size}-byte copy"))
    };
    let chroma_rows = height.div_ceil(2);
    let (y_plane, y_stride) = plane(y, height)?;
    let (u_plane, u_stride) = plane(u, chroma_rows)?;
    let (v_plane, v_stride) = plane(v, chroma_rows)?;
    let image = YuvPlanarImage {
        y_plane,
        y_stride,
        u_plane,
        u_stride,
        v_plane,
        v_stride,
        width,
        height,
    };
    let mut rgba = vec![0u8; width as usize * height as usize * 4];
    let range = if encoding.full_range {
        YuvRange::Full
    } else {
        YuvRange::Limited
    };
    let matrix = match encoding.matrix {
        MatrixCoefficients::Bt709 => YuvStandardMatrix::Bt709,
        MatrixCoefficients::Bt601 => YuvStandardMatrix::Bt601,
    };
    yuv::yuv420_to_rgba(&image, &mut rgba, width * 4, range, matrix)
        .map_err(|e| format!("YUV -> RGBA: {e}"))?;
    let data = image_data(&rgba, width, height, color)?;
    let promise = create_image_bitmap_from_data(&data).map_err(|e| js_reason(&e))?;
    let bitmap = JsFuture::from(promise).await.map_err(|e| js_reason(&e))?;
    bitmap
        .dyn_into::<ImageBitmap>()
        .map(OwnedBitmap::new)
        .map_err(|_| "createImageBitmap resolved to something else".to_string())
}

/// `new ImageData(rgba, width, height, { colorSpace })` (web-sys lacks the settings form).
fn image_data(rgba: &[u8], width: u32, height: u32, color: ColorSpace) -> Result<JsValue, String> {
    let constructor = Reflect::get(&js_sys::global(), &"ImageData".into())
        .map_err(|e| js_reason(&e))?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| "ImageData is not a constructor here".to_string())?;
    let settings = Object::new();
    Reflect::set(
        &settings,
        &"colorSpace".into(),
        &color.canvas_color_space().into(),
    )
    .map_err(|e| js_reason(&e))?;
    let args = Array::of4(
        &Uint8ClampedArray::from(rgba).into(),
        &width.into(),
        &height.into(),
        &settings,
    );
    Reflect::construct(&constructor, &args).map_err(|e| js_reason(&e))
}
