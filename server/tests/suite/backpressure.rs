//! Per-viewer backpressure: at most `max_inflight` un-ACKed frames, drops before encoding,
//! a keyframe after a drop, and the latest frame delivered once the viewer catches up.

use std::time::Duration;

use crate::common::*;
use rfb_protocol::ClientMessage;

/// Receives whatever arrives within `wait`, returning the frames.
async fn frames_within(
    client: &mut rfb::client::TestClient,
    wait: Duration,
) -> Vec<rfb::client::ReceivedFrame> {
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(f)) = tokio::time::timeout_at(deadline, client.next_frame()).await {
        frames.push(f);
    }
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_does_not_ack_gets_at_most_max_inflight_frames() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let publisher = publish_forever(&display, w, h, Duration::from_millis(10));
    let mut client = viewer(&display).await;
    let frames = frames_within(&mut client, Duration::from_millis(800)).await;
    assert_eq!(frames.len(), 2, "max_inflight defaults to 2");
    let published = display.frames_published();
    assert!(published > 20, "the publisher kept going ({published})");
    let metrics = display.metrics_snapshot();
    assert_eq!(metrics[0].inflight, 2);
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_drops_the_next_frame_is_a_keyframe_with_the_latest_pixels() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let publisher = publish_forever(&display, w, h, Duration::from_millis(10));
    let mut client = viewer(&display).await;
    let mut checker = PixelChecker::new();
    let a = frame(&mut client).await;
    let b = frame(&mut client).await;
    checker.check_card(&a);
    checker.check_card(&b);
    assert!(a.header.keyframe && !b.header.keyframe);
    // Stay behind while many frames are published, then catch up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.ack(b.header.seq, 0).await.unwrap();
    let c = frame(&mut client).await;
    assert!(
        c.header.keyframe,
        "the frame after drops resyncs with a keyframe"
    );
    assert!(
        c.header.frame_seq > b.header.frame_seq + 10,
        "intermediate frames were dropped"
    );
    checker.check_card(&c);
    // The session counts its drops as it skips them; the snapshot may be read before the
    // count of this catch-up lands, so wait (bounded) for it, then require the exact count.
    let expected = c.header.frame_seq - b.header.frame_seq - 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut dropped = display.metrics_snapshot()[0].frames_dropped;
    while dropped != expected && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        dropped = display.metrics_snapshot()[0].frames_dropped;
    }
    assert_eq!(dropped, expected);
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_frame_is_delivered_when_the_viewer_catches_up_without_a_new_publish() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let mut client = viewer(&display).await;
    publish_card(&display, w, h);
    let a = frame(&mut client).await;
    publish_card(&display, w, h);
    let b = frame(&mut client).await;
    // The window is full; this frame is published and then nothing else ever is.
    let last = publish_card(&display, w, h);
    assert!(frames_within(&mut client, Duration::from_millis(300))
        .await
        .is_empty());
    client.ack(a.header.seq, 0).await.unwrap();
    client.ack(b.header.seq, 0).await.unwrap();
    let c = frame(&mut client).await;
    assert_eq!(
        c.header.frame_seq, last,
        "the sparse scene's latest frame is not lost"
    );
    assert!(
        !c.header.keyframe,
        "it only waited for the window: nothing was dropped"
    );
    let mut checker = PixelChecker::new();
    for f in [&a, &b, &c] {
        checker.check_card(f);
    }
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_while_nothing_is_published() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let mut client = viewer(&display).await;
    publish_card(&display, w, h);
    let a = frame(&mut client).await;
    client.ack(a.header.seq, 0).await.unwrap();
    assert!(frames_within(&mut client, Duration::from_millis(500))
        .await
        .is_empty());
    let bytes = display.metrics_snapshot()[0].bytes_sent;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(display.metrics_snapshot()[0].bytes_sent, bytes);
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyframe_request_resends_the_current_frame_as_a_keyframe() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let mut client = viewer(&display).await;
    publish_card(&display, w, h);
    let a = frame(&mut client).await;
    client.ack(a.header.seq, 0).await.unwrap();
    client.send(&ClientMessage::RequestKeyframe).await.unwrap();
    let b = frame(&mut client).await;
    assert!(b.header.keyframe);
    assert_eq!(b.header.frame_seq, a.header.frame_seq);
    assert_eq!(b.header.seq, a.header.seq + 1);
    // A decoder reset clears the window even with frames un-ACKed.
    client.send(&ClientMessage::DecoderReset).await.unwrap();
    let c = frame(&mut client).await;
    assert!(c.header.keyframe);
    let mut checker = PixelChecker::new();
    checker.check_card(&c);
    assert_eq!(display.metrics_snapshot()[0].decoder_resets, 1);
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_can_ask_for_a_smaller_window() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let publisher = publish_forever(&display, w, h, Duration::from_millis(10));
    let caps = rfb::client::all_capabilities();
    let mut hello = rfb::client::hello(&caps.iter().map(String::as_str).collect::<Vec<_>>());
    hello.max_inflight = Some(1);
    let mut client = rfb::client::TestClient::connect_with(&display.ws_url(), hello)
        .await
        .unwrap();
    assert_eq!(
        frames_within(&mut client, Duration::from_millis(500))
            .await
            .len(),
        1
    );
    assert_eq!(client.config().map(|c| c.max_inflight), Some(1));
    publisher.abort();
    display.close().await;
}
