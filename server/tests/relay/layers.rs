//! Temporal layers cross the relay: the origin's lane encodes two layers, the edge feeds
//! them to its own lane with their layer marks, and an edge viewer that falls behind skips
//! layer-1 access units (which nothing references) without a keyframe, while another
//! viewer of the same edge gets every frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rfb::StreamOptions;

use crate::common::paced::watch_paced;
use crate::nats::Nats;
use crate::setup::*;

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
    let fast = watch_paced(viewer_of(&ws).await, Duration::ZERO, stop.clone());
    // 45 ms per frame: fewer than the 30 published per second, more than the 15 on the
    // base layer.
    let slow = watch_paced(
        viewer_of(&ws).await,
        Duration::from_millis(45),
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let metrics = edge.server().stream("default").unwrap().metrics_snapshot();
    stop.store(true, Ordering::Relaxed);
    let (fast, slow) = (fast.await.unwrap().frames, slow.await.unwrap().frames);

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
    // its first: its drops cost nobody an IDR (`watch_paced` checked every frame's pixels).
    assert!(fast
        .range(first..=last)
        .filter(|(_, (_, reference))| *reference)
        .all(|(s, _)| slow.contains_key(s)));
    assert_eq!(slow.values().filter(|(key, _)| *key).count(), 1, "{slow:?}");
    assert!(slow.len() > 30, "it kept streaming: {} frames", slow.len());
    edge.close().await;
    origin.close().await;
}
