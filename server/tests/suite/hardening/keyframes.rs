//! Keyframe fairness on a shared H.264 lane: what one viewer needs (joining, asking for a
//! keyframe, resetting its decoder, stalling) costs the other viewers at most one IDR per
//! `MIN_IDR_INTERVAL`, never a re-encode of a frame they already have, and a viewer that
//! keeps needing keyframes gets them from an encoder of its own.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use rfb::client::TestClient;
use rfb::{Display, StreamOptions};
use rfb_protocol::ClientMessage;

const W: u32 = 320;
const H: u32 = 240;

fn on_demand() -> StreamOptions {
    StreamOptions {
        keyframe_interval: 0,
        ..StreamOptions::default()
    }
}

/// A viewer that watches, checks and ACKs in the background, counting frames and
/// keyframes, until `stop`.
struct Watcher {
    frames: Arc<AtomicU64>,
    keyframes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    async fn start(display: &Display) -> Watcher {
        let mut client = viewer(display).await;
        let (frames, keyframes, stop) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (f, k, s) = (frames.clone(), keyframes.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut checker = PixelChecker::new();
            while !s.load(Ordering::Relaxed) {
                let Ok(next) =
                    tokio::time::timeout(Duration::from_millis(50), client.next_frame()).await
                else {
                    continue;
                };
                let frame = next.unwrap();
                if frame.header.keyframe {
                    k.fetch_add(1, Ordering::Relaxed);
                    checker = PixelChecker::new();
                }
                checker.check_card(&frame);
                f.fetch_add(1, Ordering::Relaxed);
                client.ack(frame.header.seq, 0).await.unwrap();
            }
        });
        Watcher {
            frames,
            keyframes,
            stop,
            task,
        }
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.frames.load(Ordering::Relaxed),
            self.keyframes.load(Ordering::Relaxed),
        )
    }

    async fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let counts = (self.frames.clone(), self.keyframes.clone());
        self.task.await.unwrap();
        (
            counts.0.load(Ordering::Relaxed),
            counts.1.load(Ordering::Relaxed),
        )
    }
}

async fn settle(watcher: &Watcher, frames: u64) {
    assert!(
        eventually(Duration::from_secs(10), || watcher.counts().0 >= frames).await,
        "the watcher saw {:?}",
        watcher.counts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_resting_stream_joins_and_requests_reencode_nothing_for_the_others() {
    let display = start_with(W, H, on_demand()).await;
    publish_card(&display, W, H);
    let a = Watcher::start(&display).await;
    settle(&a, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the stream rests
    let mut b = viewer(&display).await;
    let first = frame(&mut b).await;
    assert!(first.header.keyframe);
    PixelChecker::new().check_card(&first);
    b.ack(first.header.seq, 0).await.unwrap();
    b.send(&ClientMessage::RequestKeyframe).await.unwrap();
    let again = frame(&mut b).await;
    assert!(again.header.keyframe && again.header.frame_seq == first.header.frame_seq);
    b.ack(again.header.seq, 0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.counts(), (1, 1), "the first viewer received nothing more");
    let (frames, keyframes) = a.stop().await;
    assert_eq!((frames, keyframes), (1, 1));
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_stops_acknowledging_costs_the_others_no_keyframe() {
    let display = start_with(
        W,
        H,
        StreamOptions {
            inflight_timeout: Duration::from_millis(300),
            ..on_demand()
        },
    )
    .await;
    let publisher = publish_forever(&display, W, H, Duration::from_millis(33));
    let a = Watcher::start(&display).await;
    settle(&a, 5).await;
    let mut stuck = viewer(&display).await;
    frame(&mut stuck).await; // never acknowledged: the backstop fires again and again
    let (frames_before, keys_before) = a.counts();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (frames_after, keys_after) = a.counts();
    assert!(
        frames_after - frames_before > 40,
        "the first viewer kept streaming"
    );
    assert!(
        keys_after - keys_before <= 1,
        "{} IDRs for the first viewer while another stalled",
        keys_after - keys_before
    );
    let stuck_metrics = display
        .metrics_snapshot()
        .into_iter()
        .find(|m| m.inflight_timeouts > 0)
        .expect("the stuck viewer hit the backstop");
    assert!(
        !stuck_metrics.shared_encoder,
        "it resyncs on its own encoder"
    );
    drop(stuck);
    a.stop().await;
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_keeps_asking_for_keyframes_goes_private() {
    let display = start_with(W, H, on_demand()).await;
    let publisher = publish_forever(&display, W, H, Duration::from_millis(33));
    let a = Watcher::start(&display).await;
    settle(&a, 5).await;
    let mut needy = viewer(&display).await;
    let mut checker = PixelChecker::new();
    let (_, keys_before) = a.counts();
    let mut needy_keyframes = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut last_request = tokio::time::Instant::now();
    while tokio::time::Instant::now() < deadline {
        let f = frame(&mut needy).await;
        if f.header.keyframe {
            needy_keyframes += 1;
            checker = PixelChecker::new();
        }
        checker.check_card(&f);
        needy.ack(f.header.seq, 0).await.unwrap();
        if last_request.elapsed() >= Duration::from_millis(100) {
            needy.send(&ClientMessage::RequestKeyframe).await.unwrap();
            last_request = tokio::time::Instant::now();
        }
    }
    let (_, keys_after) = a.counts();
    assert!(
        needy_keyframes > 10,
        "the needy viewer got its keyframes ({needy_keyframes})"
    );
    assert!(
        keys_after - keys_before <= 4,
        "the well-behaved viewer paid {} IDRs (join + at most 3 needs)",
        keys_after - keys_before
    );
    let needy_metrics = display
        .metrics_snapshot()
        .into_iter()
        .find(|m| m.lane_fallbacks > 0)
        .expect("the needy viewer fell back");
    assert!(!needy_metrics.shared_encoder);
    a.stop().await;
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_joins_shares_one_idr_and_periodic_idrs_follow_the_interval() {
    let display = start_with(
        W,
        H,
        StreamOptions {
            keyframe_interval: 15,
            ..StreamOptions::default()
        },
    )
    .await;
    let publisher = publish_forever(&display, W, H, Duration::from_millis(33));
    let a = Watcher::start(&display).await;
    settle(&a, 46).await;
    // Periodic: one IDR every 15 frames after the first.
    let (frames, keys) = a.counts();
    assert!(
        keys >= frames / 15 && keys <= frames / 15 + 2,
        "{keys} keyframes in {frames} frames"
    );
    let (_, keys_before) = a.counts();
    let joins = (0..6).map(|_| async { viewer(&display).await });
    let mut joined: Vec<TestClient> = futures_util::future::join_all(joins).await;
    for client in &mut joined {
        let f = frame(client).await;
        assert!(f.header.keyframe);
        PixelChecker::new().check_card(&f);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, keys_after) = a.counts();
    // The six joins share the lane's next IDR (a periodic one may fall in the window too).
    assert!(
        keys_after - keys_before <= 2,
        "{} IDRs for six joins",
        keys_after - keys_before
    );
    a.stop().await;
    publisher.abort();
    display.close().await;
}
