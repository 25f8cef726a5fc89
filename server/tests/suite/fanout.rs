//! Many viewers, encoded once: viewers on the same encoding share one encode per frame,
//! a slow viewer does not slow the others, and falls back to (then rejoins from) a private
//! encoder.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::paced::watch_paced;
use crate::common::*;
use rfb::client::TestClient;
use rfb::encode::{EncodedPayload, Encoder, EncoderRegistry, EncoderSpec};
use rfb::{EncodeError, Frame, StreamOptions};
use rfb_protocol::{Transport, YuvEncoding, CAP_H264_ANNEXB};

/// Wraps an encoder and counts its encode calls.
struct Counting {
    inner: Box<dyn Encoder>,
    calls: Arc<AtomicU64>,
}

impl Encoder for Counting {
    fn encode(
        &mut self,
        frame: &Frame,
        force_keyframe: bool,
    ) -> Result<Vec<EncodedPayload>, EncodeError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
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

/// The default encoders, each wrapped to count encode calls.
fn counting_registry() -> (EncoderRegistry, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let base = EncoderRegistry::default();
    let mut registry = EncoderRegistry::empty();
    let (b, c) = (base.clone(), calls.clone());
    registry.register_video(
        "counting-h264",
        Arc::new(move |spec: &EncoderSpec| {
            Ok(Box::new(Counting {
                inner: b.build(spec)?,
                calls: c.clone(),
            }) as Box<dyn Encoder>)
        }),
    );
    let (b, c) = (base, calls.clone());
    registry.register_image(
        "counting-image",
        Arc::new(move |spec: &EncoderSpec| {
            Ok(Box::new(Counting {
                inner: b.build(spec)?,
                calls: c.clone(),
            }) as Box<dyn Encoder>)
        }),
    );
    (registry, calls)
}

/// Receives and ACKs `n` frames, checking every picture (from the first keyframe on).
async fn watch(client: &mut TestClient, n: usize) -> Vec<u64> {
    let mut checker = PixelChecker::new();
    let mut seen = Vec::new();
    while seen.len() < n {
        let f = frame(client).await;
        checker.check_card(&f);
        client.ack(f.header.seq, 0).await.unwrap();
        seen.push(f.header.frame_seq);
    }
    seen
}

async fn viewers_share_one_encode(caps: &[&str]) {
    let (encoders, calls) = counting_registry();
    let (w, h) = (320, 240);
    let display = start_with(
        w,
        h,
        StreamOptions {
            encoders,
            ..StreamOptions::default()
        },
    )
    .await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(viewer_with(&display, caps).await);
    }
    // Every session has joined its lane once it counts as a client.
    while display.client_count() < 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    publish_card(&display, w, h);
    let mut firsts = Vec::new();
    for c in clients.iter_mut() {
        let f = frame(c).await;
        assert!(f.header.keyframe);
        PixelChecker::new().check_card(&f);
        c.ack(f.header.seq, 0).await.unwrap();
        firsts.push(f.payload);
    }
    assert!(
        firsts.windows(2).all(|p| p[0] == p[1]),
        "every viewer received the same bytes"
    );
    let before = calls.load(Ordering::Relaxed);
    let frames = 20;
    for _ in 0..frames {
        publish_card(&display, w, h);
        for c in clients.iter_mut() {
            let f = frame(c).await;
            c.ack(f.header.seq, 0).await.unwrap();
        }
    }
    let encodes = calls.load(Ordering::Relaxed) - before;
    assert_eq!(
        encodes, frames,
        "one encode per published frame for 4 viewers"
    );
    assert!(display.metrics_snapshot().iter().all(|m| m.shared_encoder));
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_viewers_share_one_encoder() {
    viewers_share_one_encode(&[CAP_H264_ANNEXB]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_viewers_share_one_encode_per_frame() {
    viewers_share_one_encode(&["image/jpeg"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewers_on_one_display_both_decode_correctly() {
    let (w, h) = (640, 480);
    let display = start(w, h).await;
    let publisher = publish_forever(&display, w, h, Duration::from_millis(20));
    let mut a = viewer(&display).await;
    let mut b = viewer_with(&display, &["image/png"]).await;
    let (seen_a, seen_b) = tokio::join!(watch(&mut a, 25), watch(&mut b, 25));
    assert!(seen_a.windows(2).all(|w| w[0] < w[1]) && seen_b.windows(2).all(|w| w[0] < w[1]));
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_viewer_falls_back_without_slowing_a_fast_one_then_rejoins() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let publisher = publish_forever(&display, w, h, Duration::from_millis(33));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fast = watch_paced(viewer(&display).await, Duration::ZERO, stop.clone());
    let mut slow = viewer(&display).await;
    // The slow viewer takes two frames and stops ACKing for a second.
    let s1 = frame(&mut slow).await;
    let _s2 = frame(&mut slow).await;
    let published_before = display.frames_published();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let metrics = display.metrics_snapshot();
    let slow_m = metrics
        .iter()
        .find(|m| m.frames_sent == 2)
        .expect("the slow viewer");
    assert!(
        !slow_m.shared_encoder && slow_m.lane_fallbacks == 1,
        "{slow_m:?}"
    );

    // The slow viewer catches up: a keyframe of the latest frame, from its own encoder.
    slow.ack(s1.header.seq + 1, 0).await.unwrap();
    let resync = frame(&mut slow).await;
    assert!(resync.header.keyframe);
    let mut checker = PixelChecker::new();
    checker.check_card(&resync);
    slow.ack(resync.header.seq, 0).await.unwrap();
    // Keeping up for a while, it rejoins the lane at one of the lane's IDRs.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let f = frame(&mut slow).await;
        if f.header.keyframe {
            checker = PixelChecker::new();
        }
        checker.check_card(&f);
        slow.ack(f.header.seq, 0).await.unwrap();
        let m = display.metrics_snapshot();
        if m.iter().all(|m| m.shared_encoder) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow viewer never rejoined: {m:?}"
        );
    }
    // The fast viewer, meanwhile, received (almost) every frame published, whatever the
    // machine's speed (pixels checked all along).
    stop.store(true, Ordering::Relaxed);
    let published = display.frames_published() - published_before;
    let seen = fast.await.unwrap();
    let after: Vec<u64> = seen
        .frames
        .into_keys()
        .filter(|s| *s > published_before)
        .collect();
    assert!(
        after.len() as u64 * 10 >= published * 8,
        "the fast viewer got {} of {published} frames",
        after.len()
    );

    publisher.abort();
    display.close().await;
}
