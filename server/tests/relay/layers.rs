//! Temporal layers cross the relay: the origin's lane encodes two layers, the edge feeds
//! them to its own lane with their layer marks, and an edge viewer that falls behind skips
//! layer-1 access units (which nothing references) without a keyframe, while another
//! viewer of the same edge gets every frame.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rfb::client::TestClient;
use rfb::encode::sps;
use rfb::StreamOptions;

use crate::common::PixelChecker;
use crate::nats::Nats;
use crate::setup::*;

/// Per frame_seq: (keyframe, referenced by later pictures).
type Seen = BTreeMap<u64, (bool, bool)>;

/// Receives, checks pixels and acknowledges until `stop`, taking `per_frame` over each
/// frame before its ACK.
fn watch(
    mut client: TestClient,
    per_frame: Duration,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Seen> {
    tokio::spawn(async move {
        let mut checker = PixelChecker::new();
        let mut seen = Seen::new();
        while !stop.load(Ordering::Relaxed) {
            let Ok(f) = tokio::time::timeout(Duration::from_millis(100), client.next_frame()).await
            else {
                continue;
            };
            let f = f.unwrap();
            if f.header.keyframe {
                checker = PixelChecker::new();
            }
            checker.check_card(&f);
            seen.insert(
                f.header.frame_seq,
                (f.header.keyframe, sps::is_reference(&f.payload)),
            );
            tokio::time::sleep(per_frame).await;
            client.ack(f.header.seq, 0).await.unwrap();
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_edge_viewer_skips_layer_1_without_keyframes() {
    let nats = Nats::start();
    let (origin, _publisher) = origin_with(
        &nats.url(),
        "origin-a",
        StreamOptions {
            keyframe_interval: 0, // IDRs only when someone needs one
            ..StreamOptions::default()
        },
    )
    .await;
    let edge = edge(&nats.url(), "edge-a").await;
    let ws = edge.server().ws_url();
    let stop = Arc::new(AtomicBool::new(false));
    let fast = watch(viewer_of(&ws).await, Duration::ZERO, stop.clone());
    // 45 ms per frame: fewer than the 30 published per second, more than the 15 on the
    // base layer.
    let slow = watch(
        viewer_of(&ws).await,
        Duration::from_millis(45),
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let metrics = edge.server().stream("default").unwrap().metrics_snapshot();
    stop.store(true, Ordering::Relaxed);
    let (fast, slow) = (fast.await.unwrap(), slow.await.unwrap());

    assert_eq!(metrics.len(), 2, "{metrics:?}");
    let skips = metrics.iter().map(|m| m.layer_skips).max().unwrap();
    assert!(skips > 10, "the slow viewer skipped layer 1: {metrics:?}");
    let (first, last) = (*slow.keys().next().unwrap(), *slow.keys().last().unwrap());
    let missed: Vec<u64> = (first..=last)
        .filter(|s| !slow.contains_key(s) && fast.contains_key(s))
        .collect();
    assert!(missed.len() > 10, "it did fall behind: {missed:?}");
    for s in &missed {
        assert!(!fast[s].1, "frame {s} is a reference, yet it was skipped");
    }
    // Every reference picture of that span reached it, and it needed no keyframe after
    // its first: its drops cost nobody an IDR (`watch` checked every frame's pixels).
    assert!(fast
        .range(first..=last)
        .filter(|(_, (_, reference))| *reference)
        .all(|(s, _)| slow.contains_key(s)));
    assert_eq!(slow.values().filter(|(key, _)| *key).count(), 1, "{slow:?}");
    assert!(slow.len() > 30, "it kept streaming: {} frames", slow.len());
    edge.close().await;
    origin.close().await;
}
