//! Encoders: the [`Encoder`] trait every backend implements, the [`EncoderSpec`] a session
//! asks for, and the [`EncoderRegistry`] that maps names to factories, so another encoder
//! (hardware H.264, VP9...) slots in without touching the sessions.
//!
//! Encoders are blocking code: sessions call them on tokio's blocking pool, never on the
//! async executor.

pub mod content;
pub mod h264;
pub mod icc;
pub mod image;
pub mod library;
pub mod slot;
pub mod sps;
pub mod yuv;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use rfb_protocol::{
    ColorSpace, ImageFormat, Transport, VideoCodec, YuvEncoding, BT601_LIMITED, SRGB,
};

use crate::error::EncodeError;
use crate::frame::Frame;
pub use content::Content;
pub use h264::tuning::H264Tuning;

/// One encoded unit: an Annex B access unit or a complete image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPayload {
    /// The bytes.
    pub data: Bytes,
    /// True when it decodes on its own (IDR / every image).
    pub keyframe: bool,
    /// The H.264 temporal layer (0 = base, and every image). An access unit above 0 is
    /// referenced by nothing, so a viewer may skip it without losing sync (see
    /// [`EncoderSpec::temporal_layers`]).
    pub layer: u8,
}

impl EncodedPayload {
    /// A payload on the base layer (every image, and every access unit of a stream with
    /// one temporal layer).
    pub fn base(data: Bytes, keyframe: bool) -> EncodedPayload {
        EncodedPayload {
            data,
            keyframe,
            layer: 0,
        }
    }
}

/// A frame encoder. Implementations are blocking and are driven from one thread at a time.
pub trait Encoder: Send {
    /// Encodes one frame. `force_keyframe` asks for an IDR (images always are keyframes).
    /// Returns zero or more payloads (the built-in encoders always return exactly one).
    fn encode(
        &mut self,
        frame: &Frame,
        force_keyframe: bool,
    ) -> Result<Vec<EncodedPayload>, EncodeError>;

    /// Emits whatever the encoder still buffers (nothing for the low-latency encoders).
    fn flush(&mut self) -> Result<Vec<EncodedPayload>, EncodeError> {
        Ok(Vec::new())
    }

    /// Releases the encoder's resources early; dropping it does the same.
    fn close(&mut self) {}

    /// The codec string for the viewer's `Config`: `avc1.PPCCLL` from the last emitted SPS
    /// for H.264 (empty before the first IDR), the MIME type for images.
    fn codec_string(&self) -> String;

    /// The transport this encoder produces.
    fn transport(&self) -> Transport;

    /// The YUV encoding the bitstream signals (video encoders only).
    fn yuv_encoding(&self) -> Option<YuvEncoding> {
        None
    }
}

/// What a session needs from an encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSpec {
    /// The transport to produce.
    pub transport: Transport,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Expected frame rate (rate control and IDR cadence).
    pub fps: f32,
    /// Target bitrate in bits per second (video).
    pub bitrate_bps: u32,
    /// Periodic IDR interval in frames (video; 0 = only on demand).
    pub keyframe_interval: u32,
    /// JPEG quality 1..=100 (image path).
    pub jpeg_quality: u8,
    /// RGB -> YUV matrix and range for the video path (signalled in the VUI).
    pub yuv: YuvEncoding,
    /// Encoder threads (video; 0 = let the encoder decide).
    pub threads: u16,
    /// The colour space of the frames' RGB values, which the payloads declare: the H.264
    /// VUI's `colour_primaries`, an ICC profile in images (none for sRGB). A tag only:
    /// pixels are never converted. A frame of another colour needs another encoder.
    pub color: ColorSpace,
    /// What the frames show, which picks the video encoder's tuning
    /// ([`H264Tuning::for_content`]).
    pub content: Content,
    /// Overrides the tuning `content` picks (for measurements: `rfb bench --tuning`).
    pub tuning: Option<H264Tuning>,
    /// H.264 temporal layers: 1 (every access unit a reference) or 2 (every other access
    /// unit on layer 1, referenced by nothing; see `encode/h264/raw.rs`). Shared lanes use
    /// 2 so that a member that falls behind skips layer-1 units instead of resyncing.
    pub temporal_layers: u8,
}

impl EncoderSpec {
    /// The H.264 tuning in force: the override, else the content's preset.
    pub fn h264_tuning(&self) -> H264Tuning {
        self.tuning
            .unwrap_or_else(|| H264Tuning::for_content(self.content))
    }

    /// A spec with the server defaults for everything but transport and size.
    pub fn new(transport: Transport, width: u32, height: u32) -> EncoderSpec {
        EncoderSpec {
            transport,
            width,
            height,
            fps: 30.0,
            bitrate_bps: 8_000_000,
            keyframe_interval: 120,
            jpeg_quality: 80,
            yuv: BT601_LIMITED,
            threads: 1,
            color: SRGB,
            content: Content::Rendered,
            tuning: None,
            temporal_layers: 1,
        }
    }
}

/// Builds an encoder for a spec.
pub type EncoderFactory =
    Arc<dyn Fn(&EncoderSpec) -> Result<Box<dyn Encoder>, EncodeError> + Send + Sync>;

/// Named encoder factories, one default per transport kind.
#[derive(Clone)]
pub struct EncoderRegistry {
    video: BTreeMap<String, EncoderFactory>,
    image: BTreeMap<String, EncoderFactory>,
    default_video: Option<String>,
    /// Encoders built by this registry (or its clones) and not dropped yet.
    live: Arc<AtomicUsize>,
}

/// An encoder that keeps its registry's live count while it exists.
struct Counted {
    inner: Box<dyn Encoder>,
    live: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Encoder for Counted {
    fn encode(
        &mut self,
        frame: &Frame,
        force_keyframe: bool,
    ) -> Result<Vec<EncodedPayload>, EncodeError> {
        self.inner.encode(frame, force_keyframe)
    }
    fn codec_string(&self) -> String {
        self.inner.codec_string()
    }
    fn transport(&self) -> Transport {
        self.inner.transport()
    }
    fn yuv_encoding(&self) -> Option<YuvEncoding> {
        self.inner.yuv_encoding()
    }
}

impl std::fmt::Debug for EncoderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncoderRegistry")
            .field("video", &self.video.keys().collect::<Vec<_>>())
            .field("image", &self.image.keys().collect::<Vec<_>>())
            .field("default_video", &self.default_video)
            .finish()
    }
}

/// Name of the built-in openh264 video encoder.
pub const OPENH264: &str = "openh264";
/// Name of the built-in image encoder (libjpeg-turbo for JPEG, `image` for PNG and WebP).
pub const IMAGE: &str = "image";

impl Default for EncoderRegistry {
    fn default() -> Self {
        let mut registry = EncoderRegistry::empty();
        registry.register_video(
            OPENH264,
            Arc::new(|spec: &EncoderSpec| h264::OpenH264Encoder::boxed(spec)),
        );
        registry.register_image(
            IMAGE,
            Arc::new(|spec: &EncoderSpec| image::ImageEncoder::boxed(spec)),
        );
        registry
    }
}

impl EncoderRegistry {
    /// A registry with no encoders.
    pub fn empty() -> EncoderRegistry {
        EncoderRegistry {
            video: BTreeMap::new(),
            image: BTreeMap::new(),
            default_video: None,
            live: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Registers a video encoder; the latest registered becomes the default.
    pub fn register_video(&mut self, name: &str, factory: EncoderFactory) {
        self.video.insert(name.to_string(), factory);
        self.default_video = Some(name.to_string());
    }

    /// Registers the image encoder (one serves every image format).
    pub fn register_image(&mut self, name: &str, factory: EncoderFactory) {
        self.image.clear();
        self.image.insert(name.to_string(), factory);
    }

    /// Makes a registered video encoder the default.
    pub fn set_default_video(&mut self, name: &str) -> Result<(), EncodeError> {
        if !self.video.contains_key(name) {
            return Err(EncodeError::Unknown(name.to_string()));
        }
        self.default_video = Some(name.to_string());
        Ok(())
    }

    /// The default video encoder's name, if any.
    pub fn video_name(&self) -> Option<&str> {
        self.default_video.as_deref()
    }

    /// The image encoder's name, if any.
    pub fn image_name(&self) -> Option<&str> {
        self.image.keys().next().map(String::as_str)
    }

    /// True when a video encoder is registered.
    pub fn has_video(&self) -> bool {
        self.default_video.is_some()
    }

    /// Image formats the registry can encode.
    pub fn image_formats(&self) -> Vec<ImageFormat> {
        if self.image.is_empty() {
            Vec::new()
        } else {
            ImageFormat::ALL.to_vec()
        }
    }

    /// Builds the default encoder for `spec.transport`.
    pub fn build(&self, spec: &EncoderSpec) -> Result<Box<dyn Encoder>, EncodeError> {
        let factory = match spec.transport {
            Transport::Video(VideoCodec::H264AnnexB) => self
                .default_video
                .as_ref()
                .and_then(|name| self.video.get(name)),
            Transport::Image(_) => self.image.values().next(),
        };
        let factory =
            factory.ok_or_else(|| EncodeError::Unknown(spec.transport.name().to_string()))?;
        let inner = factory(spec)?;
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(Counted {
            inner,
            live: self.live.clone(),
        }))
    }

    /// Encoders this registry (and its clones) built that are still alive: sessions'
    /// private encoders, shared lanes and pooled image encoders.
    pub fn live_encoders(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// True when `other` is a clone of this registry (they share the live count).
    pub fn same_as(&self, other: &EncoderRegistry) -> bool {
        Arc::ptr_eq(&self.live, &other.live)
    }
}
