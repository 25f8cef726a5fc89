//! A decoded `VideoFrame` turned into pixels by the viewer itself: its I420 planes are
//! copied out (`copyTo`, a plain memory copy), converted to RGBA here with the matrix and
//! range the stream's `Config` announced (the `yuv` crate, the same one the server encodes
//! with), and put on a frame-sized `OffscreenCanvas` (`putImageData`), which the surface
//! then draws through the fit like any picture. Two such canvases alternate (the one on
//! screen and the next), and the buffers a conversion goes through ([`Scratch`]: the JS
//! staging buffer `copyTo` fills, its copy in wasm memory, the RGBA result and the
//! `ImageData` it is written to) are kept for the next frame, so a steady stream allocates
//! nothing per frame: the planes are copied out once, into wasm once, converted, and
//! written into the canvas's pixels.
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
use web_sys::{
    ImageData, OffscreenCanvas, OffscreenCanvasRenderingContext2d, PlaneLayout, VideoFrame,
    VideoPixelFormat,
};
use yuv::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

use super::error::js_reason;

/// The buffers of one conversion, reused by the next (see the module doc).
#[derive(Default)]
pub struct Scratch {
    /// What `copyTo` writes (a JS buffer: wasm memory may grow, detaching views of it,
    /// while the copy is under way).
    staging: Option<Uint8Array>,
    /// The planes in wasm memory.
    planes: Vec<u8>,
    /// The converted pixels.
    rgba: Vec<u8>,
    /// The `ImageData` they are put through, with its size and colour space.
    image: Option<(ImageData, u32, u32, ColorSpace)>,
}

/// True where the viewer should convert I420 frames itself by default in a worker: in
/// Chromium (it has `navigator.userAgentData`), whose worker waits for the page's main
/// thread to turn a `VideoFrame` into pixels when there is no GPU. Other engines draw the
/// frame without that wait, so the browser's own path (no copies) is kept there.
pub fn copy_by_default() -> bool {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or_default();
    Reflect::get(&navigator, &"userAgentData".into())
        .is_ok_and(|v| !v.is_undefined() && !v.is_null())
}

/// True for frames this module converts: I420 in CPU memory (software decoders).
pub fn is_copyable(frame: &VideoFrame) -> bool {
    frame.format() == Some(VideoPixelFormat::I420)
}

/// The frame's pixels on a frame-sized `OffscreenCanvas` in `color` (the frame's colour
/// space), converted with `encoding`. `spare` (the canvas of a frame no longer on screen)
/// is reused when it has the right size. The error is a readable reason.
pub async fn copy_frame(
    frame: &VideoFrame,
    encoding: YuvEncoding,
    color: ColorSpace,
    spare: Option<OffscreenCanvas>,
    scratch: &mut Scratch,
) -> Result<OffscreenCanvas, String> {
    let rect = frame
        .visible_rect()
        .ok_or("the frame has no visible rectangle")?;
    let (width, height) = (rect.width() as u32, rect.height() as u32);
    let size = frame.allocation_size().map_err(|e| js_reason(&e))?;
    // A JS buffer, not wasm memory: the copy completes later, and wasm memory may grow
    // (detaching any view of it) meanwhile. Reused while frames keep their size.
    let buffer = match scratch.staging.take() {
        Some(b) if b.length() == size => b,
        _ => Uint8Array::new_with_length(size),
    };
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
    let mut bytes = std::mem::take(&mut scratch.planes);
    bytes.resize(size as usize, 0);
    buffer.copy_to(&mut bytes);
    scratch.staging = Some(buffer);
    let converted = convert(&bytes, [y, u, v], (width, height), size, encoding, scratch);
    scratch.planes = bytes;
    converted?;
    let canvas = match spare {
        Some(c) if (c.width(), c.height()) == (width, height) => c,
        _ => OffscreenCanvas::new(width, height).map_err(|e| js_reason(&e))?,
    };
    let context = canvas_context(&canvas, color)?;
    let data = image_data(scratch, width, height, color)?;
    context
        .put_image_data(&data, 0, 0)
        .map_err(|e| js_reason(&e))?;
    Ok(canvas)
}

/// The I420 `bytes` (planes at `layouts`) converted into `scratch.rgba`.
fn convert(
    bytes: &[u8],
    [y, u, v]: [&PlaneLayout; 3],
    (width, height): (u32, u32),
    size: u32,
    encoding: YuvEncoding,
    scratch: &mut Scratch,
) -> Result<(), String> {
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
    let rgba = &mut scratch.rgba;
    rgba.resize(width as usize * height as usize * 4, 0);
    let range = if encoding.full_range {
        YuvRange::Full
    } else {
        YuvRange::Limited
    };
    let matrix = match encoding.matrix {
        MatrixCoefficients::Bt709 => YuvStandardMatrix::Bt709,
        MatrixCoefficients::Bt601 => YuvStandardMatrix::Bt601,
    };
    yuv::yuv420_to_rgba(&image, rgba, width * 4, range, matrix)
        .map_err(|e| format!("YUV -> RGBA: {e}"))
}

/// The canvas's 2D context (created in `color` the first time).
fn canvas_context(
    canvas: &OffscreenCanvas,
    color: ColorSpace,
) -> Result<OffscreenCanvasRenderingContext2d, String> {
    let options = Object::new();
    Reflect::set(
        &options,
        &"colorSpace".into(),
        &color.canvas_color_space().into(),
    )
    .map_err(|e| js_reason(&e))?;
    canvas
        .get_context_with_context_options("2d", &options)
        .map_err(|e| js_reason(&e))?
        .ok_or("the scratch canvas has no 2D context")?
        .dyn_into::<OffscreenCanvasRenderingContext2d>()
        .map_err(|_| "getContext('2d') returned something else".to_string())
}

/// An `ImageData` holding `scratch.rgba`: the last one, its pixels overwritten, when the
/// size and colour space are unchanged, else a new one.
fn image_data(
    scratch: &mut Scratch,
    width: u32,
    height: u32,
    color: ColorSpace,
) -> Result<ImageData, String> {
    if let Some((image, w, h, c)) = scratch.image.as_ref() {
        if (*w, *h, *c) == (width, height, color) {
            let data = Reflect::get(image, &"data".into())
                .map_err(|e| js_reason(&e))?
                .dyn_into::<Uint8ClampedArray>()
                .map_err(|_| "ImageData.data is not a Uint8ClampedArray".to_string())?;
            data.copy_from(&scratch.rgba);
            return Ok(image.clone());
        }
    }
    let image = new_image_data(&scratch.rgba, width, height, color)?;
    scratch.image = Some((image.clone(), width, height, color));
    Ok(image)
}

/// `new ImageData(rgba, width, height, { colorSpace })` (web-sys lacks the settings form).
fn new_image_data(
    rgba: &[u8],
    width: u32,
    height: u32,
    color: ColorSpace,
) -> Result<ImageData, String> {
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
    Reflect::construct(&constructor, &args)
        .map_err(|e| js_reason(&e))?
        .dyn_into::<ImageData>()
        .map_err(|_| "new ImageData returned something else".to_string())
}
