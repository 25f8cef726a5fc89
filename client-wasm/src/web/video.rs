//! H.264 through WebCodecs: a `VideoDecoder` configured from the server's `Config`
//! (Annex B, so no `description`; `optimizeForLatency`; the colour space the encoder used),
//! fed one access unit per chunk. Every `VideoFrame` it outputs is wrapped in a
//! [`OwnedFrame`] that closes it on drop, and the decoder is closed when dropped.

use rfb_protocol::{StreamConfig, VideoChunk};
use wasm_bindgen::prelude::*;
use web_sys::{
    CodecState, EncodedVideoChunk, EncodedVideoChunkInit, EncodedVideoChunkType,
    VideoColorPrimaries, VideoColorSpaceInit, VideoDecoder, VideoDecoderConfig, VideoDecoderInit,
    VideoFrame, VideoMatrixCoefficients, VideoTransferCharacteristics,
};

use super::error::{js_reason, ViewerError};
use crate::codec::Acceleration;

/// A decoded frame, closed when dropped (a decoder stalls when its frames are not closed).
pub struct OwnedFrame(VideoFrame);

impl OwnedFrame {
    /// The frame.
    pub fn frame(&self) -> &VideoFrame {
        &self.0
    }

    /// The timestamp the chunk carried, in microseconds.
    pub fn timestamp_us(&self) -> u64 {
        let t = self.0.timestamp();
        if t.is_finite() && t > 0.0 {
            t.round() as u64
        } else {
            0
        }
    }
}

impl Drop for OwnedFrame {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A configured `VideoDecoder` and the callbacks it calls.
pub struct VideoPipe {
    decoder: VideoDecoder,
    codec: String,
    _output: Closure<dyn FnMut(VideoFrame)>,
    _error: Closure<dyn FnMut(JsValue)>,
}

/// The `VideoDecoderConfig` for a stream `Config`, built with `acceleration`.
pub fn decoder_config(config: &StreamConfig, acceleration: Acceleration) -> VideoDecoderConfig {
    let decoder_config = VideoDecoderConfig::new(&config.codec);
    if acceleration != Acceleration::Default {
        // Setting a property on a fresh dictionary object cannot fail.
        let _ = js_sys::Reflect::set(
            &decoder_config,
            &"hardwareAcceleration".into(),
            &acceleration.name().into(),
        );
    }
    decoder_config.set_optimize_for_latency(true);
    decoder_config.set_coded_width(config.width);
    decoder_config.set_coded_height(config.height);
    if let Some(yuv) = config.yuv {
        // The protocol names the values in WebCodecs' vocabulary; a name this web-sys does
        // not know leaves that field to the bitstream's VUI.
        let space = VideoColorSpaceInit::new();
        space.set_primaries(VideoColorPrimaries::from_js_value(&JsValue::from_str(
            config.color.primaries.webcodecs_name(),
        )));
        space.set_transfer(VideoTransferCharacteristics::from_js_value(
            &JsValue::from_str(config.color.transfer.webcodecs_name()),
        ));
        space.set_matrix(VideoMatrixCoefficients::from_js_value(&JsValue::from_str(
            yuv.matrix.webcodecs_name(),
        )));
        space.set_full_range(Some(yuv.full_range));
        decoder_config.set_color_space(&space);
    }
    decoder_config
}

impl VideoPipe {
    /// Creates and configures a decoder for `config`. `on_frame` receives every decoded
    /// frame; `on_error` the decoder's asynchronous errors (after which it is closed).
    pub fn new(
        config: &StreamConfig,
        acceleration: Acceleration,
        on_frame: impl FnMut(OwnedFrame) + 'static,
        mut on_error: impl FnMut(ViewerError) + 'static,
    ) -> Result<VideoPipe, ViewerError> {
        let mut on_frame = on_frame;
        let output =
            Closure::<dyn FnMut(VideoFrame)>::new(move |frame| on_frame(OwnedFrame(frame)));
        let codec = config.codec.clone();
        let error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            on_error(ViewerError::Decode {
                seq: 0, // the core fills in the oldest frame in flight
                reason: js_reason(&e),
            })
        });
        let configure_error = |e: JsValue| ViewerError::Configure {
            codec: codec.clone(),
            reason: js_reason(&e),
        };
        let init = VideoDecoderInit::new(
            error.as_ref().unchecked_ref(),
            output.as_ref().unchecked_ref(),
        );
        let decoder = VideoDecoder::new(&init).map_err(configure_error)?;
        let pipe = VideoPipe {
            decoder,
            codec: config.codec.clone(),
            _output: output,
            _error: error,
        };
        pipe.decoder
            .configure(&decoder_config(config, acceleration))
            .map_err(configure_error)?;
        Ok(pipe)
    }

    /// True when the decoder closed itself (after an error) and must be rebuilt.
    pub fn is_closed(&self) -> bool {
        self.decoder.state() == CodecState::Closed
    }

    /// The codec string it was configured with.
    pub fn codec(&self) -> &str {
        &self.codec
    }

    /// Queues one access unit. Errors thrown synchronously (closed decoder, a delta where
    /// a keyframe is required...) come back here; later failures go to `on_error`.
    pub fn decode(&self, chunk: &VideoChunk<'_>) -> Result<(), ViewerError> {
        let decode_error = |e: JsValue| ViewerError::Decode {
            seq: chunk.header.seq,
            reason: js_reason(&e),
        };
        if self.is_closed() {
            return Err(ViewerError::Decode {
                seq: chunk.header.seq,
                reason: "the decoder is closed".into(),
            });
        }
        let kind = if chunk.header.keyframe {
            EncodedVideoChunkType::Key
        } else {
            EncodedVideoChunkType::Delta
        };
        let data = js_sys::Uint8Array::from(chunk.payload);
        let init = EncodedVideoChunkInit::new_with_u8_array(&data, 0, kind);
        init.set_timestamp_f64(chunk.header.timestamp_us as f64);
        let encoded = EncodedVideoChunk::new(&init).map_err(decode_error)?;
        self.decoder.decode(&encoded).map_err(decode_error)
    }
}

impl Drop for VideoPipe {
    fn drop(&mut self) {
        if !self.is_closed() {
            // Closing an open decoder cannot fail; its pending outputs are discarded.
            let _ = self.decoder.close();
        }
    }
}

/// Whether this browser decodes `config` built with `acceleration`
/// (`VideoDecoder.isConfigSupported` with the stream's real codec string, size and colour
/// space). A browser without the method or a failed query counts as supported: the decoder
/// itself will tell.
pub async fn supports(config: &StreamConfig, acceleration: Acceleration) -> bool {
    let promise = VideoDecoder::is_config_supported(&decoder_config(config, acceleration));
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(support) => support
            .unchecked_into::<web_sys::VideoDecoderSupport>()
            .get_supported()
            .unwrap_or(true),
        Err(_) => true,
    }
}
