//! Dead links: the server fills silences with heartbeats (so a viewer can tell a still
//! stream from a dead link) and closes a viewer that answers nothing with 4409.

use std::time::{Duration, Instant};

use crate::common::*;
use rfb::{serve, ServeOptions, StreamOptions};
use rfb_protocol::{CloseCode, ServerMessage};

fn quick_heartbeats(viewer_timeout: Duration) -> ServeOptions {
    ServeOptions {
        heartbeat_interval: Some(Duration::from_millis(100)),
        viewer_timeout,
        ..options(StreamOptions::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_still_stream_sends_heartbeats_and_keeps_a_viewer_that_answers() {
    let display = serve(64, 48, quick_heartbeats(Duration::from_millis(600)))
        .await
        .unwrap();
    publish_card(&display, 64, 48);
    let mut client = viewer(&display).await;
    let first = frame(&mut client).await;
    client.ack(first.header.seq, 0).await.unwrap();
    assert_eq!(
        client.config().map(|c| c.heartbeat_ms),
        Some(100),
        "Config announces the interval"
    );
    // Nothing is published: only heartbeats arrive, and answering them (the test client
    // does) keeps the session well past the viewer timeout.
    let started = Instant::now();
    let mut heartbeats = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        let received = tokio::time::timeout(Duration::from_secs(2), client.recv())
            .await
            .unwrap()
            .unwrap();
        if matches!(received.message().unwrap(), ServerMessage::Heartbeat) {
            heartbeats += 1;
        }
    }
    assert!(heartbeats >= 5, "only {heartbeats} heartbeats in 1.5 s");
    assert_eq!(display.client_count(), 1);
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_answers_nothing_is_closed_with_4409() {
    let display = serve(64, 48, quick_heartbeats(Duration::from_millis(400)))
        .await
        .unwrap();
    publish_card(&display, 64, 48);
    let mut client = viewer(&display).await;
    client.stop_answering_heartbeats();
    frame(&mut client).await; // never acknowledged
    let started = Instant::now();
    let (code, reason) = tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .unwrap();
    assert_eq!(code, Some(CloseCode::Unresponsive.code()), "{reason}");
    assert!(reason.contains("heartbeat"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(eventually(Duration::from_secs(2), || display.client_count() == 0).await);
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_acknowledges_nothing_but_answers_heartbeats_stays() {
    // Frames keep flowing (the backstop resends a keyframe every 200 ms), so the link is
    // never quiet; heartbeats still go out because the viewer is.
    let display = serve(
        64,
        48,
        ServeOptions {
            stream: StreamOptions {
                inflight_timeout: Duration::from_millis(200),
                ..StreamOptions::default()
            },
            ..quick_heartbeats(Duration::from_millis(600))
        },
    )
    .await
    .unwrap();
    let publisher = publish_forever(&display, 64, 48, Duration::from_millis(33));
    let mut client = viewer(&display).await;
    let started = Instant::now();
    let mut heartbeats = 0;
    while started.elapsed() < Duration::from_secs(2) {
        let received = tokio::time::timeout(Duration::from_secs(2), client.recv())
            .await
            .unwrap()
            .expect("still connected");
        if matches!(received.message().unwrap(), ServerMessage::Heartbeat) {
            heartbeats += 1;
        }
    }
    assert!(heartbeats >= 5, "{heartbeats} heartbeats");
    assert_eq!(display.client_count(), 1);
    publisher.abort();
    display.close().await;
}
