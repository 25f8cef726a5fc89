//! The side channel behind every hook: a stream's own hook covers its metrics, the lists
//! and the recorded keystrokes; the reset is a POST; credentials are parsed the standard
//! way; unknown stream names cannot be probed without a credential.

use crate::common::*;
use rfb::auth::{role_tokens, static_token};
use rfb::client::{hello, TestClient};
use rfb::{serve_server, ServeOptions, StreamOptions};
use rfb_protocol::{CloseCode, Hello};

fn with_token(token: Option<&str>) -> Hello {
    Hello {
        token: token.map(str::to_string),
        ..hello(&["image/png"])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_hook_alone_guards_the_side_channel() {
    let server = serve_server(ServeOptions {
        record_events: true,
        ..options(StreamOptions::default())
    })
    .await
    .unwrap();
    let secret = server
        .add_stream(
            "secret",
            64,
            48,
            StreamOptions {
                authenticate: Some(role_tokens(Some("pilot".into()), Some("audience".into()))),
                ..StreamOptions::default()
            },
        )
        .unwrap();
    publish_card(&secret, 64, 48);
    let port = server.port();
    let host = format!("127.0.0.1:{port}");
    for path in [
        "/metrics",
        "/streams",
        "/streams/secret/metrics",
        "/recorded-events",
    ] {
        let (status, _, body) = get_with_host(port, path, &host, &[]).await;
        assert_eq!(status, 401, "{path} without a token: {body}");
        let (status, _, _) =
            get_with_host(port, path, &host, &["Authorization: bearer pilot"]).await;
        assert_eq!(status, 200, "{path} with a lower-case bearer");
        let (status, _, _) = get_with_host(port, &format!("{path}?token=pilot"), &host, &[]).await;
        assert_eq!(status, 200, "{path} with ?token=");
    }
    // A view-only credential sees the numbers, not what viewers typed.
    let audience = ["Authorization: Bearer audience"];
    assert_eq!(
        get_with_host(port, "/metrics", &host, &audience).await.0,
        200
    );
    assert_eq!(
        get_with_host(port, "/recorded-events", &host, &audience)
            .await
            .0,
        403
    );
    // With a public stream beside it, an anonymous caller sees that one only.
    let public = server
        .add_stream("public", 64, 48, StreamOptions::default())
        .unwrap();
    publish_card(&public, 64, 48);
    let (status, _, body) = get_with_host(port, "/streams", &host, &[]).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("\"public\"") && !body.contains("\"secret\""),
        "{body}"
    );
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reset_is_a_post() {
    let server = serve_server(ServeOptions {
        record_events: true,
        ..options(StreamOptions::default())
    })
    .await
    .unwrap();
    let port = server.port();
    let host = format!("127.0.0.1:{port}");
    let (status, _, _) = get_with_host(port, "/recorded-events/reset", &host, &[]).await;
    assert_eq!(status, 405, "a GET (an <img> on any page) changes nothing");
    let (status, _, body) = raw_http(
        port,
        &format!("POST /recorded-events/reset HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_streams_cannot_be_probed_without_a_credential() {
    let server = serve_server(ServeOptions {
        authenticate: Some(static_token("ops")),
        ..options(StreamOptions::default())
    })
    .await
    .unwrap();
    let _cam = server
        .add_stream("cam", 64, 48, StreamOptions::default())
        .unwrap();
    let url = |name: &str| format!("{}{name}", server.ws_url());
    for (name, token, expected) in [
        ("nope", None, CloseCode::Unauthorized),
        ("nope", Some("wrong"), CloseCode::Unauthorized),
        ("cam", None, CloseCode::Unauthorized),
        ("nope", Some("ops"), CloseCode::UnknownStream),
    ] {
        let mut client = TestClient::connect_with(&url(name), with_token(token))
            .await
            .unwrap();
        let (code, reason) = client.closed().await;
        assert_eq!(code, Some(expected.code()), "{name} {token:?}: {reason}");
    }
    server.close().await;
    let open = serve_server(options(StreamOptions::default()))
        .await
        .unwrap();
    let mut client = TestClient::connect_with(&format!("{}nope", open.ws_url()), with_token(None))
        .await
        .unwrap();
    assert_eq!(
        client.closed().await.0,
        Some(CloseCode::UnknownStream.code()),
        "no hooks: 4404"
    );
    open.close().await;
}
