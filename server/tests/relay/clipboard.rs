//! The origin app's clipboard offers reach the edges' viewers, controllers and watchers.

use std::time::Duration;

use rfb::auth::role_tokens;
use rfb::{ServeOptions, StreamOptions};
use rfb_protocol::{Hello, Role};

use crate::common::{options, PixelChecker};
use crate::nats::Nats;
use crate::parts::clipboard;
use crate::serving::watch;
use crate::setup::*;

fn with_token(token: &str) -> Hello {
    let caps = rfb::client::all_capabilities();
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    Hello {
        token: Some(token.to_string()),
        ..rfb::client::hello(&caps)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_clipboard_on_the_origin_reaches_edge_viewers_of_both_roles() {
    let nats = Nats::start();
    let (origin, _publisher) = origin(&nats.url(), "origin-a").await;
    let edge = edge_with(
        ServeOptions {
            authenticate: Some(role_tokens(Some("pilot".into()), Some("audience".into()))),
            ..options(StreamOptions::default())
        },
        relay(&nats.url(), "edge-a"),
    )
    .await;
    let ws = edge.server().ws_url();
    let mut pilot = viewer_with_hello(&ws, with_token("pilot")).await;
    let mut audience = viewer_with_hello(&ws, with_token("audience")).await;
    // Both streaming: the edge receives the stream.
    watch(&mut pilot, &mut PixelChecker::new(), 3).await;
    watch(&mut audience, &mut PixelChecker::new(), 3).await;
    assert_eq!(pilot.role(), Some(Role::Control));
    assert_eq!(audience.role(), Some(Role::View));

    origin.set_clipboard("copied in the origin app");
    for viewer in [&mut pilot, &mut audience] {
        assert_eq!(
            clipboard(viewer, Duration::from_secs(5)).await.as_deref(),
            Some("copied in the origin app")
        );
    }
    origin.set_clipboard("a second offer");
    assert_eq!(
        clipboard(&mut audience, Duration::from_secs(5))
            .await
            .as_deref(),
        Some("a second offer")
    );
    edge.close().await;
    origin.close().await;
}
