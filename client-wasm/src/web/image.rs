//! Image frames through `createImageBitmap` (the global function, so it works on a window
//! and in a worker). Decodes run concurrently and may finish in any order; the frame policy
//! decides whether a finished one is still worth drawing. Every `ImageBitmap` is wrapped in
//! an [`OwnedBitmap`] that closes it on drop.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, ImageBitmap};

use super::error::js_reason;

#[wasm_bindgen]
extern "C" {
    /// The global `createImageBitmap(blob)`.
    #[wasm_bindgen(js_name = createImageBitmap, catch)]
    fn create_image_bitmap(image: &Blob) -> Result<Promise, JsValue>;
}

/// A decoded image, closed when dropped.
pub struct OwnedBitmap(ImageBitmap);

impl OwnedBitmap {
    /// The bitmap.
    pub fn bitmap(&self) -> &ImageBitmap {
        &self.0
    }
}

impl Drop for OwnedBitmap {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Starts decoding `payload` (an image of MIME type `mime`). The bytes are copied into a
/// `Blob` right away, so the caller's buffer may be reused. The error is a readable reason.
pub fn decode_image(
    payload: &[u8],
    mime: &str,
) -> Result<impl std::future::Future<Output = Result<OwnedBitmap, String>>, String> {
    let bytes = Uint8Array::from(payload);
    let parts = Array::of1(&bytes);
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| js_reason(&e))?;
    let promise = create_image_bitmap(&blob).map_err(|e| js_reason(&e))?;
    Ok(async move {
        let value = JsFuture::from(promise).await.map_err(|e| js_reason(&e))?;
        value
            .dyn_into::<ImageBitmap>()
            .map(OwnedBitmap)
            .map_err(|_| "createImageBitmap resolved to something else".to_string())
    })
}
