//! The example NATS permissions (`scripts/nats-relay.conf`): an origin and an edge
//! restricted by it still work end to end, and each role is refused the other's subjects.

use std::time::Duration;

use futures_util::StreamExt;
use rfb::relay::wire::{self, IdrReply, IdrRequest, RelayInput};
use rfb::relay::{RelayCredentials, RelayOptions};
use rfb::{ServeOptions, StreamOptions};
use rfb_protocol::input::{KeyInput, Modifiers};
use rfb_protocol::{InputEvent, Role};

use crate::common::{options, PixelChecker};
use crate::nats::Nats;
use crate::serving::{app_input, click, watch};
use crate::setup::*;

/// The shipped example, as the README tells operators to run it.
const CONFIG: &str = include_str!("../../../scripts/nats-relay.conf");

fn as_user(url: &str, name: &str, user: &str, password: &str) -> RelayOptions {
    let mut r = relay(url, name);
    r.credentials = RelayCredentials::User {
        user: user.into(),
        password: password.into(),
    };
    r
}

fn key(k: &str) -> InputEvent {
    InputEvent::KeyDown(KeyInput {
        key: k.to_string(),
        code: format!("Key{}", k.to_uppercase()),
        modifiers: Modifiers::default(),
        repeat: false,
        timestamp: 1.0,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_and_an_edge_restricted_by_the_example_permissions_work_end_to_end() {
    let nats = Nats::start_with_config(CONFIG);
    let url = nats.url();
    let origin = rfb::serve(
        W,
        H,
        ServeOptions {
            relay: Some(as_user(&url, "origin-a", "origin", "origin-change-me")),
            ..options(StreamOptions::default())
        },
    )
    .await
    .unwrap();
    let _publisher = crate::common::publish_forever(&origin, W, H, Duration::from_millis(33));
    let edge = edge_with(
        options(StreamOptions::default()),
        as_user(&url, "edge-a", "edge", "edge-change-me"),
    )
    .await;

    // Pixels through the restricted edge, and a click back to the origin app.
    let mut viewer = viewer_of(&edge.server().ws_url()).await;
    watch(&mut viewer, &mut PixelChecker::new(), 10).await;
    viewer.send_input(click(12.0, 34.0)).await.unwrap();
    let events = app_input(&origin, 1, Duration::from_secs(5)).await;
    assert!(
        events.iter().any(|e| matches!(&e.event,
            InputEvent::PointerDown(p) if (p.x, p.y) == (12.0, 34.0))),
        "the edge viewer's click reached the origin app ({} events)",
        events.len()
    );

    // Keyframe request-reply works for an edge user (its inbox, the origin's response).
    let edge_user = rfb::relay::connect(&as_user(&url, "edge-probe", "edge", "edge-change-me"))
        .await
        .unwrap();
    let request = wire::encode(&IdrRequest {
        edge: "edge-probe".into(),
    });
    let reply = tokio::time::timeout(
        Duration::from_secs(5),
        edge_user.request("rfb.s.default.idr", request.into()),
    )
    .await
    .expect("a reply within 5 s")
    .expect("the request is allowed");
    let reply: IdrReply = wire::decode(&reply.payload).unwrap();
    assert!(
        matches!(reply, IdrReply::Granted | IdrReply::Refused),
        "{reply:?}"
    );

    // An edge user cannot publish what edges serve to viewers: a forged part on the
    // access unit subject never reaches a subscriber of it.
    let mut au = edge_user.subscribe("rfb.s.default.au").await.unwrap();
    edge_user
        .publish("rfb.s.default.au", b"forged".to_vec().into())
        .await
        .unwrap();
    edge_user
        .publish("rfb.catalog", b"forged".to_vec().into())
        .await
        .unwrap();
    edge_user.flush().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    let mut real = 0;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, au.next()).await {
        assert_ne!(
            &msg.payload[..],
            b"forged",
            "an edge user published an access unit"
        );
        real += 1;
    }
    assert!(real > 0, "the origin's access units still arrive");

    // An origin user cannot inject viewer input: the origin app never sees it.
    let origin_user =
        rfb::relay::connect(&as_user(&url, "origin-probe", "origin", "origin-change-me"))
            .await
            .unwrap();
    let forged = RelayInput {
        edge: "nobody".into(),
        client_id: 1,
        principal: None,
        role: Role::Control,
        event: key("z"),
        input_id: Some(1),
    };
    origin_user
        .publish("rfb.s.default.input", wire::encode(&forged).into())
        .await
        .unwrap();
    origin_user.flush().await.unwrap();
    // The same message from an edge user arrives: the check above is not vacuous.
    let allowed = RelayInput {
        event: key("y"),
        ..forged
    };
    edge_user
        .publish("rfb.s.default.input", wire::encode(&allowed).into())
        .await
        .unwrap();
    edge_user.flush().await.unwrap();
    // Waits the full 2 s unless both arrive.
    let events = app_input(&origin, 2, Duration::from_secs(2)).await;
    let keys: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.event {
            InputEvent::KeyDown(k) => Some(k.key.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(keys, ["y"], "only the edge user's input reaches the app");
    edge.close().await;
    origin.close().await;
}
