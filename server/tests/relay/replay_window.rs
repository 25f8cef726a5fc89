//! A replay of the edge's cached IDR group goes out at the pace of the viewer's in-flight
//! window, like live delivery: no burst of the whole group past the window.

use std::time::Duration;

use rfb::client::ReceivedFrame;
use rfb::StreamOptions;
use rfb_protocol::Hello;

use crate::common::PixelChecker;
use crate::nats::Nats;
use crate::serving::watch;
use crate::setup::*;

/// The late viewer's window.
const WINDOW: u8 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_from_the_edge_cache_stays_within_the_viewers_window() {
    let nats = Nats::start();
    // IDRs on request only, so the cached group grows with every frame.
    let (origin, _publisher) = origin_with(
        &nats.url(),
        "origin-a",
        StreamOptions {
            keyframe_interval: 0,
            ..StreamOptions::default()
        },
    )
    .await;
    let edge = edge(&nats.url(), "edge-a").await;
    let ws = edge.server().ws_url();
    let mut first = viewer_of(&ws).await;
    let seen = watch(&mut first, &mut PixelChecker::new(), 40).await;
    let group_start = seen[0].header.frame_seq;

    let caps = rfb::client::all_capabilities();
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    let mut late = viewer_with_hello(
        &ws,
        Hello {
            max_inflight: Some(WINDOW),
            ..rfb::client::hello(&caps)
        },
    )
    .await;
    // Not acknowledging: the server may send the window's worth, no more (the in-flight
    // backstop is 2 s away).
    let mut unacked: Vec<ReceivedFrame> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(Ok(f)) = tokio::time::timeout_at(deadline, late.next_frame()).await {
        unacked.push(f);
    }
    assert!(!unacked.is_empty(), "the replay started");
    assert!(unacked[0].header.keyframe);
    assert_eq!(
        unacked[0].header.frame_seq, group_start,
        "the cached group's IDR"
    );
    assert!(
        unacked.len() <= usize::from(WINDOW),
        "{} frames sent to a viewer with a window of {WINDOW} that acknowledged none",
        unacked.len()
    );
    // Acknowledged, the rest of the replay and the live frames follow, all decodable.
    let mut checker = PixelChecker::new();
    for f in &unacked {
        checker.check_card(f);
    }
    late.ack(unacked.last().unwrap().header.seq, 0)
        .await
        .unwrap();
    let rest = watch(&mut late, &mut checker, 60).await;
    let newest = seen.last().unwrap().header.frame_seq;
    assert!(
        rest.last().unwrap().header.frame_seq > newest,
        "caught up past the group into live frames"
    );
    edge.close().await;
    origin.close().await;
}
