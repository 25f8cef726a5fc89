//! Roles: a `View` viewer watches and cannot drive the app; the app hands control over at
//! run time; viewers learn their role; clipboard text goes out, pastes come in.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use rfb::auth::{authenticate_with, role_tokens, Grant, Rejected, Role};
use rfb::client::{hello, TestClient};
use rfb::{serve, Display, ServeOptions, StreamOptions};
use rfb_protocol::input::{KeyInput, Modifiers, TextInput};
use rfb_protocol::{ClientMessage, Hello, InputEvent, ServerMessage, Viewport};

fn with_token(token: &str) -> Hello {
    Hello {
        token: Some(token.to_string()),
        ..hello(&["image/png"])
    }
}

fn key(k: &str) -> ClientMessage {
    ClientMessage::Input(rfb_protocol::InputMessage::new(
        1,
        InputEvent::KeyDown(KeyInput {
            key: k.to_string(),
            code: format!("Key{}", k.to_uppercase()),
            modifiers: Modifiers::default(),
            repeat: false,
            timestamp: 1.0,
        }),
    ))
}

fn paste(text: &str) -> ClientMessage {
    ClientMessage::Input(rfb_protocol::InputMessage::new(
        2,
        InputEvent::Paste(TextInput {
            text: text.to_string(),
            timestamp: 2.0,
        }),
    ))
}

const VIEWPORT: Viewport = Viewport {
    width: 100.0,
    height: 100.0,
    pwidth: 100,
    pheight: 100,
    ratio: 1.0,
};

async fn two_viewers() -> (Display, TestClient, TestClient) {
    let display = serve(
        64,
        48,
        ServeOptions {
            authenticate: Some(role_tokens(Some("pilot".into()), Some("audience".into()))),
            ..options(StreamOptions::default())
        },
    )
    .await
    .unwrap();
    publish_card(&display, 64, 48);
    let mut pilot = TestClient::connect_with(&display.ws_url(), with_token("pilot"))
        .await
        .unwrap();
    let mut audience = TestClient::connect_with(&display.ws_url(), with_token("audience"))
        .await
        .unwrap();
    frame(&mut pilot).await;
    frame(&mut audience).await;
    (display, pilot, audience)
}

/// The input events the app got, as (client id, event type, key or text).
async fn app_events(display: &Display) -> Vec<(u64, String, String)> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    display
        .poll_events()
        .into_iter()
        .filter_map(|e| e.input().cloned())
        .map(|i| {
            let detail = match &i.event {
                InputEvent::KeyDown(k) => k.key.clone(),
                InputEvent::Paste(t) => t.text.clone(),
                _ => String::new(),
            };
            (i.client_id, i.event.type_name().to_string(), detail)
        })
        .collect()
}

fn metric(display: &Display, client_id: u64) -> rfb::MetricsSnapshot {
    display
        .metrics_snapshot()
        .into_iter()
        .find(|m| m.client_id == client_id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_only_viewer_cannot_drive_the_app_until_handed_control() {
    let (display, mut pilot, mut audience) = two_viewers().await;
    assert_eq!(
        pilot.role(),
        Some(Role::Control),
        "told before the first frame"
    );
    assert_eq!(audience.role(), Some(Role::View));
    let ids: Vec<(u64, Role)> = display
        .viewers()
        .iter()
        .map(|v| (v.client_id, v.role))
        .collect();
    let pilot_id = ids.iter().find(|(_, r)| *r == Role::Control).unwrap().0;
    let audience_id = ids.iter().find(|(_, r)| *r == Role::View).unwrap().0;
    display.poll_events(); // the Hello viewports

    audience.send(&key("a")).await.unwrap();
    audience.send(&paste("rm -rf")).await.unwrap();
    audience
        .send(&ClientMessage::SetViewport(VIEWPORT))
        .await
        .unwrap();
    pilot.send(&key("b")).await.unwrap();
    let events = app_events(&display).await;
    assert_eq!(events, vec![(pilot_id, "key_down".into(), "b".into())]);
    assert_eq!(metric(&display, audience_id).input_refused, 3);
    assert_eq!(metric(&display, audience_id).role, "view");

    // Control hand-over: the viewers are told, and the input follows the new roles.
    assert!(display.set_role(audience_id, Role::Control));
    assert!(display.set_role(pilot_id, Role::View));
    assert!(!display.set_role(9999, Role::View), "no such viewer");
    for (client, role) in [(&mut audience, Role::Control), (&mut pilot, Role::View)] {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let received = client.recv().await.unwrap();
                if matches!(received.message().unwrap(), ServerMessage::Role(r) if r == role) {
                    return;
                }
            }
        })
        .await
        .expect("the new role announced");
        assert_eq!(client.role(), Some(role));
    }
    audience.send(&paste("hello")).await.unwrap();
    pilot.send(&key("c")).await.unwrap();
    let events = app_events(&display).await;
    assert_eq!(events, vec![(audience_id, "paste".into(), "hello".into())]);
    assert_eq!(metric(&display, pilot_id).input_refused, 1);
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_grant_roles_and_a_server_default_covers_the_rest() {
    let hook = authenticate_with(|ctx| async move {
        match ctx.token.as_deref() {
            Some("watch") => Ok(Grant::view(Arc::new(()))),
            _ => Err(Rejected("no".into())),
        }
    });
    let display = serve(
        64,
        48,
        ServeOptions {
            authenticate: Some(hook),
            ..options(StreamOptions::default())
        },
    )
    .await
    .unwrap();
    publish_card(&display, 64, 48);
    let mut watcher = TestClient::connect_with(&display.ws_url(), with_token("watch"))
        .await
        .unwrap();
    frame(&mut watcher).await;
    assert_eq!(watcher.role(), Some(Role::View));
    display.close().await;

    let open_view = serve(
        64,
        48,
        ServeOptions {
            default_role: Role::View,
            ..options(StreamOptions::default())
        },
    )
    .await
    .unwrap();
    publish_card(&open_view, 64, 48);
    let mut anonymous = viewer(&open_view).await;
    frame(&mut anonymous).await;
    assert_eq!(anonymous.role(), Some(Role::View));
    anonymous.send(&key("x")).await.unwrap();
    assert!(app_events(&open_view).await.is_empty());
    open_view.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipboard_text_reaches_every_viewer() {
    let (display, mut pilot, mut audience) = two_viewers().await;
    display.set_clipboard("from the app");
    for client in [&mut pilot, &mut audience] {
        let text = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let received = client.recv().await.unwrap();
                if let ServerMessage::Clipboard(offer) = received.message().unwrap() {
                    return offer.text;
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(text, "from the app");
    }
    // Longer than the protocol allows: cut on a character boundary, never refused.
    display.set_clipboard(&"é".repeat(rfb_protocol::limits::MAX_TEXT_BYTES));
    let text = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let received = pilot.recv().await.unwrap();
            if let ServerMessage::Clipboard(offer) = received.message().unwrap() {
                return offer.text;
            }
        }
    })
    .await
    .unwrap();
    assert!(text.len() <= rfb_protocol::limits::MAX_TEXT_BYTES && text.chars().all(|c| c == 'é'));
    display.close().await;
}
