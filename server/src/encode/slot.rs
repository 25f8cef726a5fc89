//! An encoder plus what it needs to rebuild itself, run on tokio's blocking pool so the
//! async side (a session reading ACKs, a shared lane) keeps going while a frame encodes.
//! The encoder moves into the blocking task and comes back with the result; it is
//! (re)built there too, when the frame size or the spec changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rfb_protocol::{Transport, YuvEncoding};
use tokio::task::JoinHandle;

use super::{EncodedPayload, Encoder, EncoderRegistry, EncoderSpec};
use crate::error::EncodeError;
use crate::frame::PublishedFrame;

/// An encoder plus what it needs to rebuild itself.
pub struct EncoderSlot {
    registry: EncoderRegistry,
    spec: EncoderSpec,
    encoder: Option<Box<dyn Encoder>>,
}

/// What came back from the blocking pool.
pub struct EncodeOutput {
    /// The slot, to use for the next frame.
    pub slot: EncoderSlot,
    /// The encoded payloads.
    pub result: Result<Vec<EncodedPayload>, EncodeError>,
    /// The frame that was encoded.
    pub frame: Arc<PublishedFrame>,
    /// Wall time of the encode call (without any rebuild).
    pub encode_time: Duration,
    /// When the encode call returned (it started `encode_time` earlier).
    pub encoded_at: Instant,
}

impl EncoderSlot {
    /// A slot that builds its encoder from `registry` for `spec` on first use.
    pub fn new(registry: EncoderRegistry, spec: EncoderSpec) -> EncoderSlot {
        EncoderSlot {
            registry,
            spec,
            encoder: None,
        }
    }

    /// The transport this slot produces.
    pub fn transport(&self) -> Transport {
        self.spec.transport
    }

    /// The spec the encoder was (or will be) built with.
    pub fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    /// Changes the spec; the encoder is rebuilt (with a keyframe) before the next frame.
    pub fn reconfigure(&mut self, spec: EncoderSpec) {
        if spec != self.spec {
            self.spec = spec;
            self.encoder = None;
        }
    }

    /// The current encoder's codec string (empty before the first frame).
    pub fn codec_string(&self) -> String {
        self.encoder
            .as_ref()
            .map(|e| e.codec_string())
            .unwrap_or_default()
    }

    /// The YUV encoding the current encoder signals.
    pub fn yuv_encoding(&self) -> Option<YuvEncoding> {
        self.encoder.as_ref().and_then(|e| e.yuv_encoding())
    }

    /// Encodes on the blocking pool.
    pub fn spawn(self, frame: Arc<PublishedFrame>, keyframe: bool) -> JoinHandle<EncodeOutput> {
        tokio::task::spawn_blocking(move || self.encode_blocking(frame, keyframe))
    }

    /// Encodes on the calling thread, (re)building the encoder when the size changed.
    pub fn encode_blocking(mut self, frame: Arc<PublishedFrame>, keyframe: bool) -> EncodeOutput {
        let (width, height) = frame.frame.size();
        let mut rebuilt = false;
        if self.encoder.is_none() || (self.spec.width, self.spec.height) != (width, height) {
            self.spec.width = width;
            self.spec.height = height;
            self.encoder = None;
            match self.registry.build(&self.spec) {
                Ok(encoder) => {
                    self.encoder = Some(encoder);
                    rebuilt = true;
                }
                Err(err) => {
                    return EncodeOutput {
                        slot: self,
                        result: Err(err),
                        frame,
                        encode_time: Duration::ZERO,
                        encoded_at: Instant::now(),
                    }
                }
            }
        }
        let start = Instant::now();
        let result = match self.encoder.as_mut() {
            Some(encoder) => encoder.encode(&frame.frame, keyframe || rebuilt),
            None => Err(EncodeError::Unknown(self.spec.transport.name().to_string())),
        };
        let encoded_at = Instant::now();
        EncodeOutput {
            encode_time: encoded_at.saturating_duration_since(start),
            encoded_at,
            slot: self,
            result,
            frame,
        }
    }
}
