//! What this browser decodes, for the `Hello`: `webcodecs/h264-annexb` when
//! `VideoDecoder.isConfigSupported` accepts Constrained Baseline H.264, and each image MIME
//! type whose tiny sample `createImageBitmap` actually decodes.

use js_sys::Reflect;
use rfb_protocol::{ImageFormat, CAP_H264_ANNEXB};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{VideoDecoder, VideoDecoderConfig};

use super::image::decode_image;

/// The codec string probed: Constrained Baseline, level 3.1 (what the server emits).
pub const PROBE_CODEC: &str = "avc1.42E01F";

/// A 2x2 sample of each image format, decoded to prove the browser supports it.
const SAMPLES: [(ImageFormat, &[u8]); 3] = [
    (ImageFormat::Jpeg, include_bytes!("../../assets/probe.jpg")),
    (ImageFormat::Png, include_bytes!("../../assets/probe.png")),
    (ImageFormat::Webp, include_bytes!("../../assets/probe.webp")),
];

/// True when WebCodecs decodes Annex B H.264 here.
pub async fn decodes_h264() -> Result<bool, String> {
    let global = js_sys::global();
    let has_decoder = Reflect::has(&global, &JsValue::from_str("VideoDecoder")).unwrap_or(false);
    if !has_decoder {
        return Ok(false);
    }
    let config = VideoDecoderConfig::new(PROBE_CODEC);
    config.set_optimize_for_latency(true);
    let support = JsFuture::from(VideoDecoder::is_config_supported(&config))
        .await
        .map_err(|e| super::error::js_reason(&e))?;
    Ok(support.get_supported().unwrap_or(false))
}

/// The image formats this browser decodes, in the protocol's order of preference.
pub async fn image_formats() -> Vec<ImageFormat> {
    let mut formats = Vec::new();
    for (format, sample) in SAMPLES {
        let decoded = match decode_image(sample, format.mime()) {
            Ok(pending) => pending.await.is_ok(),
            Err(_) => false,
        };
        if decoded {
            formats.push(format);
        }
    }
    formats
}

/// The capability strings for the `Hello`. `image_only` leaves H.264 out.
pub async fn capabilities(image_only: bool) -> Result<Vec<String>, String> {
    let mut caps = Vec::new();
    if !image_only && decodes_h264().await? {
        caps.push(CAP_H264_ANNEXB.to_string());
    }
    caps.extend(
        image_formats()
            .await
            .into_iter()
            .map(|f| f.mime().to_string()),
    );
    Ok(caps)
}
