//! An origin (a pattern publisher with `ServeOptions::relay`), edges and viewers of them.

use std::time::Duration;

use rfb::client::{all_capabilities, hello, TestClient};
use rfb::relay::edge::{serve_edge, Edge};
use rfb::relay::RelayOptions;
use rfb::{serve, Display, ServeOptions, StreamOptions};
use rfb_protocol::Hello;

use crate::common::{options, publish_forever};

/// Test card size.
pub const W: u32 = 320;
/// Test card size.
pub const H: u32 = 240;

/// Relay options of a process called `name` on this NATS.
pub fn relay(url: &str, name: &str) -> RelayOptions {
    RelayOptions::new(vec![url.to_string()], name)
}

/// An origin publishing test cards at 30 fps to NATS at `url` (abort the handle to stop
/// publishing).
pub async fn origin(url: &str, name: &str) -> (Display, tokio::task::JoinHandle<()>) {
    origin_with(url, name, StreamOptions::default()).await
}

/// An origin with these stream options.
pub async fn origin_with(
    url: &str,
    name: &str,
    stream: StreamOptions,
) -> (Display, tokio::task::JoinHandle<()>) {
    let display = serve(
        W,
        H,
        ServeOptions {
            relay: Some(relay(url, name)),
            ..options(stream)
        },
    )
    .await
    .unwrap();
    let publisher = publish_forever(&display, W, H, Duration::from_millis(33));
    (display, publisher)
}

/// An edge on a free port, fed from NATS at `url`, once it serves `default`.
pub async fn edge(url: &str, name: &str) -> Edge {
    edge_with(options(StreamOptions::default()), relay(url, name)).await
}

/// An edge with these options, once it serves `default`.
pub async fn edge_with(options: ServeOptions, relay: RelayOptions) -> Edge {
    let edge = serve_edge(options, relay).await.unwrap();
    wait_until(Duration::from_secs(10), || {
        edge.stream_names().iter().any(|n| n == "default")
    })
    .await;
    edge
}

/// Polls `done` every 20 ms until it holds, failing the test after `limit`.
pub async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A viewer of `ws_url` that decodes everything (H.264 first).
pub async fn viewer_of(ws_url: &str) -> TestClient {
    let caps = all_capabilities();
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    TestClient::connect_with(ws_url, hello(&caps))
        .await
        .unwrap()
}

/// A viewer of `ws_url` with this `Hello`.
pub async fn viewer_with_hello(ws_url: &str, hello: Hello) -> TestClient {
    TestClient::connect_with(ws_url, hello).await.unwrap()
}
