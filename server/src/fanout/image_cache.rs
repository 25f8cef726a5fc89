//! Encode-once for the image path: viewers that want the same frame in the same format
//! and quality share one encode and receive the same bytes.
//!
//! Every image is a keyframe, so sharing needs no synchronisation between viewers: each
//! session still asks for the latest frame at its own pace (per-viewer backpressure is
//! untouched) and the cache keeps, per format/quality, the encode of the newest frame
//! anyone asked for. A second viewer asking for that frame awaits the same result; the
//! first one to ask does the work on the blocking pool. Encoders are pooled per key so a
//! JPEG compressor is not rebuilt for every frame.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rfb_protocol::{ColorSpace, ImageFormat};
use tokio::sync::OnceCell;

use crate::encode::{EncodedPayload, Encoder, EncoderRegistry, EncoderSpec};
use crate::error::EncodeError;
use crate::frame::PublishedFrame;
use crate::sync::lock;

/// What makes two image encodes interchangeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageKey {
    /// The format.
    pub format: ImageFormat,
    /// JPEG quality (ignored, set to 0, for lossless formats).
    pub quality: u8,
    /// The colour space the image declares (P3 images embed a profile).
    pub color: ColorSpace,
}

impl ImageKey {
    /// The key for `format` at `quality`, tagged `color`.
    pub fn new(format: ImageFormat, quality: u8, color: ColorSpace) -> ImageKey {
        let quality = if format == ImageFormat::Jpeg {
            quality
        } else {
            0
        };
        ImageKey {
            format,
            quality,
            color,
        }
    }
}

/// One shared encode result.
#[derive(Debug, Clone)]
pub struct SharedImage {
    /// The encoded image.
    pub payload: EncodedPayload,
    /// How long the encode took.
    pub encode_time: Duration,
    /// When it ended.
    pub encoded_at: Instant,
}

type Cell = Arc<OnceCell<Result<SharedImage, Arc<EncodeError>>>>;

/// Idle encoders per key, reused across frames.
type EncoderPool = Mutex<HashMap<ImageKey, Vec<Box<dyn Encoder>>>>;

#[derive(Debug)]
struct Latest {
    frame_seq: u64,
    cell: Cell,
}

/// The cache of one stream.
#[derive(Default)]
pub struct ImageCache {
    latest: Mutex<HashMap<ImageKey, Latest>>,
    pool: Arc<EncoderPool>,
    encodes: AtomicU64,
}

impl std::fmt::Debug for ImageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageCache")
            .field("encodes", &self.encodes())
            .finish_non_exhaustive()
    }
}

impl ImageCache {
    /// Forgets the cached images and frees the pooled encoders (the stream's last viewer
    /// left: nothing would reuse them soon).
    pub fn release(&self) {
        lock(&self.latest).clear();
        lock(&self.pool).clear();
    }

    /// Encodes performed so far (a shared encode counts once).
    pub fn encodes(&self) -> u64 {
        self.encodes.load(Ordering::Relaxed)
    }

    /// The encode of `frame` under `key`, shared with every other viewer asking for the
    /// same frame and key. Returns the result and whether this caller did the work.
    pub async fn encode(
        &self,
        key: ImageKey,
        frame: Arc<PublishedFrame>,
        registry: &EncoderRegistry,
    ) -> Result<SharedImage, Arc<EncodeError>> {
        let cell = {
            let mut latest = lock(&self.latest);
            match latest.get(&key) {
                Some(entry) if entry.frame_seq == frame.seq => entry.cell.clone(),
                Some(entry) if entry.frame_seq > frame.seq => Arc::new(OnceCell::new()),
                _ => {
                    let cell: Cell = Arc::new(OnceCell::new());
                    latest.insert(
                        key,
                        Latest {
                            frame_seq: frame.seq,
                            cell: cell.clone(),
                        },
                    );
                    cell
                }
            }
        };
        let result = cell
            .get_or_init(|| async {
                self.encodes.fetch_add(1, Ordering::Relaxed);
                let pool = self.pool.clone();
                let registry = registry.clone();
                tokio::task::spawn_blocking(move || encode_pooled(&pool, &registry, key, &frame))
                    .await
                    .unwrap_or_else(|join| {
                        Err(Arc::new(EncodeError::Encode {
                            encoder: "image",
                            message: format!("encoder task failed: {join}"),
                        }))
                    })
            })
            .await;
        result.clone()
    }
}

fn encode_pooled(
    pool: &EncoderPool,
    registry: &EncoderRegistry,
    key: ImageKey,
    frame: &PublishedFrame,
) -> Result<SharedImage, Arc<EncodeError>> {
    let (width, height) = frame.frame.size();
    let pooled = lock(pool).get_mut(&key).and_then(Vec::pop);
    let mut encoder = match pooled {
        Some(encoder) => encoder,
        None => {
            let spec = EncoderSpec {
                jpeg_quality: key.quality.max(1),
                color: key.color,
                ..EncoderSpec::new(rfb_protocol::Transport::Image(key.format), width, height)
            };
            registry.build(&spec).map_err(Arc::new)?
        }
    };
    let start = Instant::now();
    let result = encoder.encode(&frame.frame, true);
    let encoded_at = Instant::now();
    let encode_time = encoded_at.saturating_duration_since(start);
    lock(pool).entry(key).or_default().push(encoder);
    let payload = result
        .map_err(Arc::new)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Arc::new(EncodeError::Encode {
                encoder: "image",
                message: "the encoder returned no image".to_string(),
            })
        })?;
    Ok(SharedImage {
        payload,
        encode_time,
        encoded_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;

    fn published(seq: u64) -> Arc<PublishedFrame> {
        Arc::new(PublishedFrame {
            frame: Frame::rgb(64, 48, rfb_protocol::test_card(seq, 64, 48)).expect("frame"),
            seq,
            timestamp_us: seq * 1000,
            pixel_ratio: 1.0,
            color: rfb_protocol::SRGB,
            answers: Default::default(),
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_for_one_frame_encode_once() {
        let cache = Arc::new(ImageCache::default());
        let registry = EncoderRegistry::default();
        let key = ImageKey::new(ImageFormat::Jpeg, 80, rfb_protocol::SRGB);
        let frame = published(1);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, registry, frame) = (cache.clone(), registry.clone(), frame.clone());
            tasks.push(tokio::spawn(async move {
                cache.encode(key, frame, &registry).await
            }));
        }
        let mut payloads = Vec::new();
        for t in tasks {
            payloads.push(t.await.expect("task").expect("encode").payload.data);
        }
        assert_eq!(cache.encodes(), 1);
        assert!(
            payloads.windows(2).all(|w| w[0] == w[1]),
            "everyone got the same bytes"
        );
        // Another quality or another frame is another encode.
        cache
            .encode(
                ImageKey::new(ImageFormat::Jpeg, 50, rfb_protocol::SRGB),
                frame,
                &registry,
            )
            .await
            .expect("encode");
        cache
            .encode(key, published(2), &registry)
            .await
            .expect("encode");
        assert_eq!(cache.encodes(), 3);
        // PNG ignores the quality in its key.
        assert_eq!(
            ImageKey::new(ImageFormat::Png, 10, rfb_protocol::SRGB),
            ImageKey::new(ImageFormat::Png, 90, rfb_protocol::SRGB)
        );
    }
}
