//! Input -> photon through the relay: a frame the origin app marks as answering an edge
//! viewer's input reaches that viewer with its own `input_id` (H.264 straight from the
//! relay, images decoded and re-encoded on the edge), and no other viewer's.

use std::time::Duration;

use rfb::client::TestClient;
use rfb::{Display, Frame, FrameMeta, StreamOptions};
use rfb_protocol::test_card;

use crate::common::frame;
use crate::nats::Nats;
use crate::serving::click;
use crate::setup::*;

/// Publishes test cards at 30 fps, each answering the input drained before it (what an
/// interactive app does with `FrameMeta::answering`).
fn publish_answering(display: &Display) -> tokio::task::JoinHandle<()> {
    let display = display.clone();
    tokio::spawn(async move {
        loop {
            let events = display.poll_events();
            let seq = display.frames_published() + 1;
            let frame = Frame::rgb(W, H, test_card(seq, W, H)).unwrap();
            let _ = display.publish_with(frame, FrameMeta::answering(&events));
            tokio::time::sleep(Duration::from_millis(33)).await;
        }
    })
}

/// Watches frames (acknowledging each) until one carries an `input_id`, for at most
/// `limit`; returns it (`None` if none came).
async fn first_answer(client: &mut TestClient, limit: Duration) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let f = frame(client).await;
        client.ack(f.header.seq, 0).await.unwrap();
        if f.header.input_id.is_some() {
            return f.header.input_id;
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_viewers_get_their_own_input_id_with_the_frame_answering_it() {
    let nats = Nats::start();
    let (origin, pattern) = origin_with(&nats.url(), "origin-a", StreamOptions::default()).await;
    pattern.abort();
    let _publisher = publish_answering(&origin);
    let edge = edge(&nats.url(), "edge-a").await;
    let ws = edge.server().ws_url();
    let mut video = viewer_of(&ws).await;
    let mut jpeg = viewer_with_hello(&ws, rfb::client::hello(&["image/jpeg"])).await;
    let mut quiet = viewer_of(&ws).await;
    for v in [&mut video, &mut jpeg, &mut quiet] {
        let f = frame(v).await;
        v.ack(f.header.seq, 0).await.unwrap();
    }

    // Two clicks from the video viewer (ids 1 and 2), one from the image viewer (id 1).
    video.send_input(click(10.0, 10.0)).await.unwrap();
    assert_eq!(video.send_input(click(20.0, 10.0)).await.unwrap(), 2);
    jpeg.send_input(click(30.0, 10.0)).await.unwrap();

    let limit = Duration::from_secs(10);
    assert_eq!(first_answer(&mut video, limit).await, Some(2));
    assert_eq!(first_answer(&mut jpeg, limit).await, Some(1));
    // A viewer that sent nothing is never told someone else's id.
    assert_eq!(first_answer(&mut quiet, Duration::from_secs(1)).await, None);
    edge.close().await;
    origin.close().await;
}
