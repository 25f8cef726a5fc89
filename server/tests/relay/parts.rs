//! A NATS server with a small `max_payload`: access units (and clipboard offers) larger
//! than it travel in parts and arrive whole, on both transports.

use std::time::Duration;

use rfb::StreamOptions;
use rfb_protocol::ServerMessage;

use crate::common::PixelChecker;
use crate::nats::Nats;
use crate::serving::watch;
use crate::setup::*;

/// Small enough that the test card's IDR needs several parts, large enough for the
/// catalogue, demand, keyframe and input messages.
const MAX_PAYLOAD: usize = 256;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_larger_than_the_nats_max_payload_arrive_whole_in_parts() {
    let nats = Nats::start_with_config(&format!("max_payload: {MAX_PAYLOAD}\n"));
    let (origin, _publisher) = origin_with(
        &nats.url(),
        "origin-a",
        StreamOptions {
            keyframe_interval: 30,
            ..StreamOptions::default()
        },
    )
    .await;
    let edge = edge(&nats.url(), "edge-a").await;
    let mut video = viewer_of(&edge.server().ws_url()).await;
    let mut checker = PixelChecker::new();
    // Two IDR groups, every picture decoded and checked: nothing lost on the way.
    let frames = watch(&mut video, &mut checker, 45).await;
    assert!(frames[0].header.keyframe);
    let largest_idr = frames
        .iter()
        .filter(|f| f.header.keyframe)
        .map(|f| f.payload.len())
        .max()
        .unwrap();
    assert!(
        largest_idr > MAX_PAYLOAD,
        "the IDR ({largest_idr} bytes) alone should exceed the NATS max payload {MAX_PAYLOAD}"
    );
    assert!(
        frames.iter().filter(|f| f.header.keyframe).count() <= 3,
        "no resync loop: IDRs only where the origin's interval puts them"
    );

    let mut jpeg =
        viewer_with_hello(&edge.server().ws_url(), rfb::client::hello(&["image/jpeg"])).await;
    watch(&mut jpeg, &mut PixelChecker::new(), 5).await;

    // A clipboard offer of the protocol's largest size crosses in parts too.
    let text: String = "clip-".repeat(rfb_protocol::limits::MAX_TEXT_BYTES / 5);
    origin.set_clipboard(&text);
    assert_eq!(
        clipboard(&mut video, Duration::from_secs(5))
            .await
            .as_deref(),
        Some(text.as_str())
    );
    edge.close().await;
    origin.close().await;
}

/// The next clipboard offer the viewer gets within `limit` (frames in between are
/// acknowledged).
pub async fn clipboard(viewer: &mut rfb::client::TestClient, limit: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let received = tokio::time::timeout_at(deadline, viewer.recv())
            .await
            .ok()?
            .ok()?;
        let ack = match received.message().ok()? {
            ServerMessage::Clipboard(c) => return Some(c.text),
            ServerMessage::VideoChunk(c) => c.header.seq,
            ServerMessage::ImageFrame(f) => f.header.seq,
            _ => continue,
        };
        viewer.ack(ack, 0).await.ok()?;
    }
}
