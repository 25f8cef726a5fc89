//! Recovery: NATS restarting, an origin restarting or going away, an edge restarting.

use std::time::{Duration, Instant};

use rfb::client::ClientError;
use rfb::{ServeOptions, StreamOptions};

use crate::common::{options, PixelChecker};
use crate::nats::Nats;
use crate::serving::watch;
use crate::setup::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_is_survived_with_correct_pixels_after() {
    let mut nats = Nats::start();
    let port = nats.port;
    let (origin, _publisher) = origin(&nats.url(), "origin-a").await;
    let edge = edge(&nats.url(), "edge-a").await;
    let mut viewer = viewer_of(&edge.server().ws_url()).await;
    let mut checker = PixelChecker::new();
    watch(&mut viewer, &mut checker, 10).await;

    nats.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _nats = Nats::start_on(port);
    let restarted = Instant::now();
    let published_by_then = origin.frames_published();
    // The same connection goes on: every frame decodes to the test card, and frames
    // published after the restart arrive within seconds.
    loop {
        let f = watch(&mut viewer, &mut checker, 1).await.remove(0);
        if f.header.frame_seq > published_by_then {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "no frame from after the NATS restart within 10 s"
        );
    }
    assert!(edge.stream_names().contains(&"default".to_string()));
    edge.close().await;
    origin.close().await;
}

/// Receives frames until the server closes the connection; returns its close code.
async fn close_code(viewer: &mut rfb::client::TestClient, limit: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = tokio::time::timeout_at(deadline, viewer.next_frame())
            .await
            .expect("the viewer was closed in time");
        match next {
            Ok(f) => viewer.ack(f.header.seq, 0).await.unwrap_or(()),
            Err(ClientError::Closed { code, .. }) => return code,
            Err(other) => panic!("{other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_restart_closes_edge_viewers_with_4410_and_a_reconnect_sees_the_new_origin() {
    let nats = Nats::start();
    let (first, publisher) = origin(&nats.url(), "origin-a").await;
    let edge = edge(&nats.url(), "edge-a").await;
    let ws = edge.server().ws_url();
    let mut viewer = viewer_of(&ws).await;
    watch(&mut viewer, &mut PixelChecker::new(), 10).await;

    publisher.abort();
    first.close().await;
    let (second, _publisher) = origin(&nats.url(), "origin-a").await;
    assert_eq!(
        close_code(&mut viewer, Duration::from_secs(10)).await,
        Some(4410)
    );
    // The viewer reconnects (as the browser viewer does after 4410) and sees the new
    // origin's frames, numbered from its own start.
    let mut again = viewer_of(&ws).await;
    let frames = watch(&mut again, &mut PixelChecker::new(), 10).await;
    assert!(frames[0].header.keyframe);
    assert!(frames[9].header.frame_seq <= second.frames_published());
    edge.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_origin_is_gone_closes_its_edge_viewers_with_4410_after_the_grace() {
    let nats = Nats::start();
    let (origin, publisher) = origin(&nats.url(), "origin-a").await;
    let grace = Duration::from_secs(2);
    let mut r = relay(&nats.url(), "edge-a");
    r.origin_grace = Some(grace);
    let edge = edge_with(options(StreamOptions::default()), r).await;
    let mut viewer = viewer_of(&edge.server().ws_url()).await;
    watch(&mut viewer, &mut PixelChecker::new(), 5).await;

    publisher.abort();
    origin.close().await;
    let gone = Instant::now();
    assert_eq!(
        close_code(&mut viewer, Duration::from_secs(10)).await,
        Some(4410)
    );
    let waited = gone.elapsed();
    // The last catalogue may be up to a second old when the origin goes.
    assert!(
        waited >= grace - Duration::from_secs(1),
        "closed after {waited:?}, before the grace period"
    );
    assert!(edge.stream_names().is_empty());
    edge.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_restart_leaves_the_other_edge_streaming_and_serves_again_on_its_port() {
    let nats = Nats::start();
    let (origin, _publisher) = origin(&nats.url(), "origin-a").await;
    let a = edge(&nats.url(), "edge-a").await;
    let b = edge(&nats.url(), "edge-b").await;
    let mut on_a = viewer_of(&a.server().ws_url()).await;
    let mut on_b = viewer_of(&b.server().ws_url()).await;
    let mut checker_b = PixelChecker::new();
    watch(&mut on_a, &mut PixelChecker::new(), 5).await;
    watch(&mut on_b, &mut checker_b, 5).await;

    let port = a.server().port();
    a.close().await;
    assert_eq!(
        close_code(&mut on_a, Duration::from_secs(5)).await,
        Some(1001)
    );
    // The other edge keeps its frame rate (30 fps published; 2 s of frames).
    let start = Instant::now();
    let frames = watch(&mut on_b, &mut checker_b, 50).await;
    let fps = frames.len() as f64 / start.elapsed().as_secs_f64();
    assert!(
        fps > 15.0,
        "edge-b fell to {fps:.1} fps while edge-a restarted"
    );

    let a = edge_with(
        ServeOptions {
            port,
            ..options(StreamOptions::default())
        },
        relay(&nats.url(), "edge-a"),
    )
    .await;
    let mut again = viewer_of(&a.server().ws_url()).await;
    let frames = watch(&mut again, &mut PixelChecker::new(), 10).await;
    assert!(frames[0].header.keyframe);
    a.close().await;
    b.close().await;
    origin.close().await;
}
