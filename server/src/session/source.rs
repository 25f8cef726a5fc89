//! Where a session's encoded frames come from: its own encoder, the stream's shared image
//! cache, or a shared H.264 lane (see [`crate::fanout`] for the sharing design), and the
//! transitions between them (falling back to a private encoder when behind, rejoining).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rfb_protocol::{ImageFormat, YuvEncoding};

use crate::encode::slot::EncoderSlot;
use crate::encode::{EncodedPayload, EncoderSpec};
use crate::fanout::image_cache::ImageKey;
use crate::fanout::lane::{LaneChunk, LaneKey, LaneMember};
use crate::frame::PublishedFrame;
use crate::stream::StreamState;

/// The frame source of a session.
pub(crate) enum Source {
    /// An encoder of its own (`slot` is `None` while it encodes). With `rejoin`, it is
    /// waiting for its lane's next IDR to switch back to sharing.
    Private {
        slot: Option<EncoderSlot>,
        rejoin: Option<LaneMember>,
        kept_up_since: Instant,
    },
    /// The stream's shared image cache.
    SharedImages,
    /// A shared H.264 lane; `synced` once the member received an IDR; `asked_at` while
    /// it waits for the IDR it asked for.
    Lane {
        member: LaneMember,
        synced: bool,
        asked_at: Option<Instant>,
    },
}

impl Source {
    /// A private source with a fresh encoder.
    pub fn private(slot: EncoderSlot) -> Source {
        Source::Private {
            slot: Some(slot),
            rejoin: None,
            kept_up_since: Instant::now(),
        }
    }

    /// True while the frames come from a lane.
    pub fn is_shared(&self) -> bool {
        matches!(self, Source::Lane { .. } | Source::SharedImages)
    }

    /// The lane membership whose chunks the session must read, if any.
    pub fn lane_member(&mut self) -> Option<&mut LaneMember> {
        match self {
            Source::Lane { member, .. } => Some(member),
            Source::Private { rejoin, .. } => rejoin.as_mut(),
            Source::SharedImages => None,
        }
    }
}

/// Waits for the next chunk of an optional lane membership (forever without one).
pub(crate) async fn next_chunk(member: Option<&mut LaneMember>) -> Option<Arc<LaneChunk>> {
    match member {
        Some(member) => member.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A finished encode, whatever produced it.
pub(crate) struct Encoded {
    /// The source generation it was started in; results of an older one are discarded.
    pub epoch: u64,
    pub frame: Arc<PublishedFrame>,
    pub result: Result<Vec<EncodedPayload>, String>,
    pub encode_time: Duration,
    /// When the encode ended.
    pub encoded_at: Instant,
    pub codec: String,
    pub yuv: Option<YuvEncoding>,
    /// The private encoder coming back.
    pub slot: Option<EncoderSlot>,
    /// A high-quality still (sent in another image format than the stream's, or as a
    /// lossless image).
    pub still_format: Option<ImageFormat>,
    /// A high-quality IDR still from a throwaway encoder (video): the private encoder
    /// must restart with an IDR, and `slot` is the throwaway.
    pub video_still: bool,
}

/// An encode in progress.
pub(crate) type Pending = Pin<Box<dyn Future<Output = Encoded> + Send>>;

/// Starts a private encode on the blocking pool.
pub(crate) fn encode_private(
    epoch: u64,
    slot: EncoderSlot,
    frame: Arc<PublishedFrame>,
    keyframe: bool,
) -> Pending {
    Box::pin(async move {
        let handle = slot.spawn(frame.clone(), keyframe);
        match handle.await {
            Ok(output) => Encoded {
                epoch,
                codec: output.slot.codec_string(),
                yuv: output.slot.yuv_encoding(),
                frame: output.frame,
                result: output.result.map_err(|e| e.to_string()),
                encode_time: output.encode_time,
                encoded_at: output.encoded_at,
                slot: Some(output.slot),
                still_format: None,
                video_still: false,
            },
            Err(join) => Encoded {
                epoch,
                frame,
                result: Err(format!("encoder task failed: {join}")),
                encode_time: Duration::ZERO,
                encoded_at: Instant::now(),
                codec: String::new(),
                yuv: None,
                slot: None,
                still_format: None,
                video_still: false,
            },
        }
    })
}

/// Starts a high-quality IDR of `frame` on a throwaway encoder built from `spec`
/// (see [`crate::fanout::still_spec`]).
pub(crate) fn encode_video_still(
    epoch: u64,
    registry: crate::encode::EncoderRegistry,
    spec: &EncoderSpec,
    frame: Arc<PublishedFrame>,
) -> Pending {
    let slot = EncoderSlot::new(registry, crate::fanout::still_spec(spec));
    let encode = encode_private(epoch, slot, frame, true);
    Box::pin(async move {
        let mut done = encode.await;
        done.video_still = true;
        done
    })
}

/// Starts (or joins) a shared image encode.
pub(crate) fn encode_shared_image(
    epoch: u64,
    stream: Arc<StreamState>,
    key: ImageKey,
    frame: Arc<PublishedFrame>,
    still: bool,
) -> Pending {
    Box::pin(async move {
        let registry = stream.options.encoders.clone();
        let result = stream
            .fanout
            .images
            .encode(key, frame.clone(), &registry)
            .await;
        let (result, encode_time, encoded_at) = match result {
            Ok(image) => (Ok(vec![image.payload]), image.encode_time, image.encoded_at),
            Err(err) => (Err(err.to_string()), Duration::ZERO, Instant::now()),
        };
        Encoded {
            epoch,
            frame,
            result,
            encode_time,
            encoded_at,
            codec: key.format.mime().to_string(),
            yuv: None,
            slot: None,
            still_format: still.then_some(key.format),
            video_still: false,
        }
    })
}

/// The encoder spec of a session at its current quality.
pub(crate) fn encoder_spec(
    stream: &StreamState,
    transport: rfb_protocol::Transport,
    bitrate_bps: u32,
    fps: f32,
    jpeg_quality: u8,
    frame: Option<&PublishedFrame>,
) -> EncoderSpec {
    let o = &stream.options;
    let size = frame.map_or((0, 0), |f| f.frame.size());
    EncoderSpec {
        fps,
        bitrate_bps,
        keyframe_interval: o.keyframe_interval,
        jpeg_quality,
        threads: o.encoder_threads,
        content: o.content,
        color: frame.map_or(rfb_protocol::SRGB, |f| f.color),
        ..EncoderSpec::new(transport, size.0, size.1)
    }
}

/// The lane key for a quality.
pub(crate) fn lane_key(bitrate_bps: u32, fps: f32) -> LaneKey {
    LaneKey::new(bitrate_bps, fps)
}
