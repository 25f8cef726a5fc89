//! Resource limits: half-open requests are reaped, idle connections closed, connections
//! and sessions capped, and none of it locks out the viewers that behave.

use std::time::{Duration, Instant};

use crate::common::*;
use rfb::client::TestClient;
use rfb::limits::Limits;
use rfb::{serve, ServeOptions, StreamOptions};
use rfb_protocol::CloseCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn with_limits(limits: Limits) -> ServeOptions {
    ServeOptions {
        limits,
        ..options(StreamOptions::default())
    }
}

/// True once the server closed `stream` (read returns 0 or an error).
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // e.g. a 408 before the close
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_requests_are_reaped_and_viewers_still_get_in() {
    let display = serve(
        64,
        48,
        with_limits(Limits {
            header_read_timeout: Duration::from_millis(500),
            ..Limits::default()
        }),
    )
    .await
    .unwrap();
    publish_card(&display, 64, 48);
    let port = display.port();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    for s in &mut slow {
        assert!(
            closed_by_server(s, Duration::from_secs(5)).await,
            "a half-sent request outlived the header timeout"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    let mut client = viewer(&display).await;
    frame(&mut client).await;
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed_but_a_still_viewer_is_not() {
    let display = serve(
        64,
        48,
        ServeOptions {
            heartbeat_interval: Some(Duration::from_millis(200)),
            ..with_limits(Limits {
                idle_timeout: Duration::from_millis(600),
                ..Limits::default()
            })
        },
    )
    .await
    .unwrap();
    publish_card(&display, 64, 48);
    let port = display.port();
    let mut idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    idle.write_all(format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let mut silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut client = viewer(&display).await;
    frame(&mut client).await;
    assert!(
        closed_by_server(&mut idle, Duration::from_secs(3)).await,
        "keep-alive reaped"
    );
    assert!(
        closed_by_server(&mut silent, Duration::from_secs(3)).await,
        "never spoke"
    );
    // The WebSocket, silent apart from heartbeats, lives on well past the idle timeout.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(display.client_count(), 1);
    publish_card(&display, 64, 48);
    frame(&mut client).await;
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_closed_at_once() {
    let display = serve(
        64,
        48,
        with_limits(Limits {
            max_connections: 20,
            header_read_timeout: Duration::from_millis(800),
            ..Limits::default()
        }),
    )
    .await
    .unwrap();
    publish_card(&display, 64, 48);
    let port = display.port();
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    assert!(
        closed_by_server(&mut extra, Duration::from_millis(500)).await,
        "the 21st connection is closed before the header timeout"
    );
    // Once the held ones are reaped, a viewer gets in.
    for s in &mut held {
        assert!(closed_by_server(s, Duration::from_secs(5)).await);
    }
    let mut client = viewer(&display).await;
    frame(&mut client).await;
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_past_the_limit_get_1013_before_hello() {
    let display = serve(
        64,
        48,
        with_limits(Limits {
            max_sessions: 2,
            ..Limits::default()
        }),
    )
    .await
    .unwrap();
    publish_card(&display, 64, 48);
    let mut a = viewer(&display).await;
    let mut b = viewer(&display).await;
    frame(&mut a).await;
    frame(&mut b).await;
    // The third never says Hello: it is refused anyway.
    let mut c = TestClient::connect(&display.ws_url()).await.unwrap();
    let (code, reason) = tokio::time::timeout(Duration::from_secs(5), c.closed())
        .await
        .unwrap();
    assert_eq!(code, Some(CloseCode::TryAgainLater.code()), "{reason}");
    assert!(reason.contains("limit of 2"), "{reason}");
    drop(b);
    assert!(eventually(Duration::from_secs(5), || display.client_count() == 1).await);
    let mut d = viewer(&display).await;
    frame(&mut d).await;
    display.close().await;
}
