//! Encode once, send to many: viewers whose negotiated encoding is the same share one
//! encode of each published frame and receive the same bytes.
//!
//! # Images
//! Every image is a keyframe, so sharing is a cache ([`image_cache`]): per format and
//! quality, the encode of the newest frame anyone asked for. Each session still decides
//! when it is ready for a frame (per-viewer backpressure is unchanged); viewers that ask
//! for the same frame get the same result, encoded once.
//!
//! # H.264: lanes
//! A P-frame is only decodable by a viewer that received every access unit since the
//! last IDR, so H.264 viewers share a *lane* ([`lane`]): one encoder, one chain of access
//! units pushed to every member. Viewers with the same adaptive settings (bitrate, frame
//! rate) share a lane; the rest of the encoder settings are the stream's.
//!
//! - **Joining** (a new viewer, a keyframe request, a decoder reset): the member waits
//!   for the lane's next IDR and ignores the access units before it. It asks for one; the
//!   lane encodes the next frame (or re-encodes the current one on an idle stream) as an
//!   IDR, at most once per [`lane::MIN_IDR_INTERVAL`] (500 ms). So a burst of joins costs
//!   the other viewers a single IDR, a lone join costs them one IDR, and a joiner waits at
//!   most 500 ms (typically one frame) for its first picture.
//! - **Temporal layers**: a lane encodes two temporal layers
//!   ([`crate::StreamOptions::temporal_layers`], default 2): every other access unit is on
//!   layer 1, which no later picture references (`encode/h264/raw.rs`). A member may skip
//!   any of those without losing sync.
//! - **Falling behind**: a member whose in-flight window is full when an access unit
//!   arrives (or that already holds some, or has a newer one queued) skips it if it is on
//!   layer 1 (counted in `layer_skips`): a viewer that manages half the frame rate stays
//!   on the lane at half the frame rate, with no keyframe. A base-layer unit it holds (up
//!   to 3, `MAX_HELD` in `session/sharing.rs`, to ride out a momentary stall such as a
//!   busy CPU). Once that overflows (or its queue at the lane is full when a base-layer
//!   unit comes) it cannot take more without breaking its decoder, and it must not slow
//!   the lane. It leaves the lane and continues on a private
//!   encoder of its own, exactly like an unshared session: latest-frame-wins drops before
//!   encoding, and a keyframe to resync. A slow viewer therefore costs one extra encoder
//!   while it is slow, and nothing for the others (no extra IDRs, no waiting); rejoining
//!   may cost them one IDR (below), which layers make rare.
//! - **Rejoining**: once a private viewer has kept up for [`REJOIN_AFTER`] it joins the lane
//!   again, keeps its private stream going until the lane's next IDR arrives, and switches
//!   there. Periodic IDRs make most rejoins free; otherwise it asks for one (rate limited
//!   as above).
//!
//! The cost model, measured in `rfb bench` and the README: N healthy viewers on one
//! display cost one encode per frame, plus one IDR per join burst.

pub mod fairness;
pub mod feed;
pub mod image_cache;
pub mod lane;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::encode::EncoderSpec;
use crate::frame::PublishedFrame;
use crate::options::StreamOptions;
use crate::sync::lock;
use image_cache::ImageCache;
use lane::{Lane, LaneKey};

/// How long a viewer that fell behind must keep up before it rejoins its lane.
pub const REJOIN_AFTER: Duration = Duration::from_secs(3);

/// The spec of a still after settle on the video path: the same encoder at four times the
/// bitrate (at least 20 Mbit/s), which makes openh264 spend a low quantiser on the one
/// IDR it encodes. Built fresh for each still, so the stream's own encoder state is
/// untouched; the stream's next access unit is an IDR.
pub fn still_spec(spec: &EncoderSpec) -> EncoderSpec {
    EncoderSpec {
        bitrate_bps: spec.bitrate_bps.saturating_mul(4).max(20_000_000),
        keyframe_interval: 0,
        // One IDR: no layers to skip, and no priming encode to pay for them.
        temporal_layers: 1,
        ..spec.clone()
    }
}

/// What a lane encodes: one stream's published frames with its options and clock. The
/// stream hands this out (`StreamState::frame_source`), so the fan-out never sees the
/// stream itself and the modules layer one way (stream above fan-out).
#[derive(Debug)]
pub(crate) struct FrameSource {
    /// The stream's options (encoders, key-frame interval, frame rate, stills).
    pub options: StreamOptions,
    /// The stream's clock origin (frame timestamps count from it).
    pub epoch: Instant,
    /// The latest published frame; closed when the stream is gone, which ends the lane.
    pub frames: watch::Receiver<Option<Arc<PublishedFrame>>>,
}

/// The shared encoders of one stream.
#[derive(Debug, Default)]
pub struct Fanout {
    lanes: Mutex<HashMap<LaneKey, Weak<Lane>>>,
    /// A relay-fed lane (an edge's stream): every H.264 viewer joins it, whatever its key.
    fed: Mutex<Option<Arc<Lane>>>,
    /// Shared image encodes.
    pub images: ImageCache,
}

impl Fanout {
    /// The lane for `key`, started on the frames of `source()` if no member holds one;
    /// on an edge, the relay-fed lane whatever the key.
    pub(crate) fn lane(&self, source: impl FnOnce() -> FrameSource, key: LaneKey) -> Arc<Lane> {
        if let Some(fed) = lock(&self.fed).clone() {
            return fed;
        }
        let mut lanes = lock(&self.lanes);
        if let Some(lane) = lanes.get(&key).and_then(Weak::upgrade) {
            return lane;
        }
        lanes.retain(|_, weak| weak.strong_count() > 0);
        let lane = Lane::start(source(), key);
        lanes.insert(key, Arc::downgrade(&lane));
        lane
    }

    /// Makes `lane` (see [`Lane::fed`]) the lane of every H.264 viewer of this stream.
    pub fn set_fed(&self, lane: Arc<Lane>) {
        *lock(&self.fed) = Some(lane);
    }

    /// Encodes performed by every live lane (for tests and metrics).
    pub fn lane_encodes(&self) -> u64 {
        lock(&self.lanes)
            .values()
            .filter_map(Weak::upgrade)
            .map(|l| l.encodes())
            .sum()
    }

    /// Live lanes.
    pub fn lane_count(&self) -> usize {
        lock(&self.lanes)
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }
}
