//! Who may watch what: the authentication hook (4401, principal on events), the origin
//! check (403 before the upgrade), named streams and their routing, removal, and the
//! router mounted in an app of its own behind cookie authentication.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use rfb::auth::{authenticate_with, static_token, OriginPolicy, Rejected};
use rfb::client::{hello, ClientError, TestClient};
use rfb::{serve_server, Frame, Principal, ServeOptions, Server, StreamOptions};
use rfb_protocol::{test_card, ClientMessage, CloseCode, Hello};

fn hello_with_token(token: Option<&str>) -> Hello {
    Hello {
        token: token.map(str::to_string),
        ..hello(&["image/png"])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hook_accepts_or_rejects_and_its_principal_rides_on_events() {
    let hook = authenticate_with(|ctx| async move {
        match ctx.token.as_deref() {
            Some("alice-token") => Ok(Arc::new(format!("alice@{}", ctx.stream)) as Principal),
            Some(_) => Err(Rejected("unknown token".into())),
            None => Err(Rejected("no token".into())),
        }
    });
    let display = rfb::serve(
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
    for token in [None, Some("mallory")] {
        let mut bad = TestClient::connect_with(&display.ws_url(), hello_with_token(token))
            .await
            .unwrap();
        let (code, reason) = bad.closed().await;
        assert_eq!(code, Some(CloseCode::Unauthorized.code()));
        assert!(reason.starts_with("unauthorized"), "{reason}");
    }
    assert_eq!(display.client_count(), 0, "rejected viewers never count");
    let mut alice =
        TestClient::connect_with(&display.ws_url(), hello_with_token(Some("alice-token")))
            .await
            .unwrap();
    frame(&mut alice).await;
    alice.send(&ClientMessage::RequestKeyframe).await.unwrap();
    alice
        .send(&ClientMessage::SetViewport(rfb_protocol::Viewport {
            width: 1.0,
            height: 1.0,
            pwidth: 1,
            pheight: 1,
            ratio: 1.0,
        }))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), display.next_event())
        .await
        .unwrap()
        .unwrap();
    let principal = event.input().unwrap().principal.clone().unwrap();
    assert_eq!(
        principal.downcast_ref::<String>().map(String::as_str),
        Some("alice@default")
    );
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_hook_overrides_the_servers() {
    let server = serve_server(ServeOptions {
        authenticate: Some(static_token("server")),
        ..options(StreamOptions::default())
    })
    .await
    .unwrap();
    let open = server
        .add_stream("open", 64, 48, StreamOptions::default())
        .unwrap();
    let private = server
        .add_stream(
            "private",
            64,
            48,
            StreamOptions {
                authenticate: Some(static_token("stream")),
                ..StreamOptions::default()
            },
        )
        .unwrap();
    for d in [&open, &private] {
        d.publish(Frame::rgb(64, 48, test_card(1, 64, 48)).unwrap())
            .unwrap();
    }
    let url = |name: &str| format!("{}{name}", server.ws_url());
    let mut a = TestClient::connect_with(&url("open"), hello_with_token(Some("server")))
        .await
        .unwrap();
    frame(&mut a).await;
    let mut b = TestClient::connect_with(&url("private"), hello_with_token(Some("server")))
        .await
        .unwrap();
    assert_eq!(b.closed().await.0, Some(4401));
    let mut c = TestClient::connect_with(&url("private"), hello_with_token(Some("stream")))
        .await
        .unwrap();
    frame(&mut c).await;
    server.close().await;
}

#[tokio::test]
async fn the_side_channel_goes_through_the_hook_too() {
    let hook = authenticate_with(|ctx| async move {
        match (ctx.token.as_deref(), ctx.stream.as_str()) {
            (Some("ops token"), _) => Ok(Arc::new("ops".to_string()) as Principal),
            // A hook may scope credentials: this one reads one stream's metrics only.
            (Some("viewer-token"), "default") => Ok(Arc::new("viewer".to_string()) as Principal),
            _ => Err(Rejected("side channel needs a token".into())),
        }
    });
    let display = rfb::serve(
        64,
        48,
        ServeOptions {
            authenticate: Some(hook),
            record_events: true,
            ..options(StreamOptions::default())
        },
    )
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", display.port());
    for path in [
        "/metrics",
        "/streams",
        "/streams/default/metrics",
        "/recorded-events",
    ] {
        let (status, body) = http_request(&format!("{base}{path}"), &[]).await;
        assert_eq!(status, 401, "{path} without a token: {body}");
        assert!(body.contains("side channel needs a token"), "{body}");
        let (status, _) = http_request(
            &format!("{base}{path}"),
            &["Authorization: Bearer ops token"],
        )
        .await;
        assert_eq!(status, 200, "{path} with a bearer token");
        let (status, _) = http_request(&format!("{base}{path}?token=ops%20token"), &[]).await;
        assert_eq!(status, 200, "{path} with ?token=");
    }
    let scoped = |path: &str| {
        let url = format!("{base}{path}");
        async move {
            http_request(&url, &["Authorization: Bearer viewer-token"])
                .await
                .0
        }
    };
    assert_eq!(scoped("/streams/default/metrics").await, 200);
    assert_eq!(scoped("/metrics").await, 401, "the hook saw no stream name");
    assert_eq!(
        http_request(&format!("{base}/health"), &[]).await.0,
        200,
        "health is public"
    );
}

/// Connects with these headers, sends `Hello` and returns the close code and reason the
/// server answers with (or the frame it sends instead).
async fn close_for(url: &str, headers: &[(&str, &str)]) -> (Option<u16>, String) {
    let mut client = TestClient::connect_with_headers(url, headers)
        .await
        .unwrap();
    client
        .send(&ClientMessage::Hello(hello(&["image/png"])))
        .await
        .unwrap();
    client.closed().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_are_told_why_and_get_nothing() {
    let display = start(64, 48).await;
    publish_card(&display, 64, 48);
    let host = format!("127.0.0.1:{}", display.port());
    let same = format!("http://{host}");
    let mut ok = TestClient::connect_with_headers(&display.ws_url(), &[("Origin", &same)])
        .await
        .unwrap();
    ok.send(&ClientMessage::Hello(hello(&["image/png"])))
        .await
        .unwrap();
    frame(&mut ok).await;
    // A refused origin: accepted, then closed at once with 4403 and the flag to set; it
    // never sees a frame (closed() fails on any frame before the close).
    let mut evil =
        TestClient::connect_with_headers(&display.ws_url(), &[("Origin", "https://evil.example")])
            .await
            .unwrap();
    let _ = evil
        .send(&ClientMessage::Hello(hello(&["image/png"])))
        .await;
    let refused = tokio::time::timeout(Duration::from_secs(5), evil.next_frame())
        .await
        .unwrap();
    match refused {
        Err(ClientError::Closed { code, reason }) => {
            assert_eq!(code, Some(CloseCode::OriginRefused.code()));
            assert!(reason.contains("--origin https://evil.example"), "{reason}");
        }
        other => panic!("expected a 4403 close, got {other:?}"),
    }
    // Origins that are not web origins are refused too, not treated as absent.
    for odd in ["null", "file://"] {
        let (code, _) = close_for(&display.ws_url(), &[("Origin", odd)]).await;
        assert_eq!(code, Some(4403), "{odd}");
    }
    assert_eq!(display.client_count(), 1, "only the same-origin viewer");
    display.close().await;
    // An explicit list adds origins.
    let opts = ServeOptions {
        origins: OriginPolicy::List(vec!["http://localhost:5173".into()]),
        ..options(StreamOptions::default())
    };
    let display = rfb::serve(64, 48, opts).await.unwrap();
    publish_card(&display, 64, 48);
    let mut listed =
        TestClient::connect_with_headers(&display.ws_url(), &[("Origin", "http://localhost:5173")])
            .await
            .unwrap();
    listed
        .send(&ClientMessage::Hello(hello(&["image/png"])))
        .await
        .unwrap();
    frame(&mut listed).await;
    let (code, _) = close_for(&display.ws_url(), &[("Origin", "http://localhost:5174")]).await;
    assert_eq!(code, Some(4403));
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_streams_route_list_and_remove() {
    let server = serve_server(options(StreamOptions::default()))
        .await
        .unwrap();
    let cam = server
        .add_stream("cam", 320, 240, StreamOptions::default())
        .unwrap();
    let depth = server
        .add_stream(
            "depth",
            128,
            96,
            StreamOptions {
                force_image: true,
                ..StreamOptions::default()
            },
        )
        .unwrap();
    assert!(
        server
            .add_stream("cam", 2, 2, StreamOptions::default())
            .is_err(),
        "names are unique"
    );
    assert!(
        server
            .add_stream("metrics", 2, 2, StreamOptions::default())
            .is_err(),
        "side-channel names are reserved"
    );
    // Different content per stream: cam shows seq 1, depth seq 2.
    cam.publish(Frame::rgb(320, 240, test_card(1, 320, 240)).unwrap())
        .unwrap();
    depth
        .publish(Frame::rgb(128, 96, test_card(2, 128, 96)).unwrap())
        .unwrap();
    depth
        .publish(Frame::rgb(128, 96, test_card(2, 128, 96)).unwrap())
        .unwrap();
    let mut on_cam = TestClient::connect_with(
        &cam.ws_url(),
        hello(&["webcodecs/h264-annexb", "image/png"]),
    )
    .await
    .unwrap();
    let mut on_depth = TestClient::connect_with(
        &depth.ws_url(),
        hello(&["webcodecs/h264-annexb", "image/png"]),
    )
    .await
    .unwrap();
    let f = frame(&mut on_cam).await;
    assert_eq!((f.header.width, f.config.transport.name()), (320, "h264"));
    PixelChecker::new().check_card(&f);
    let f = frame(&mut on_depth).await;
    assert_eq!((f.header.width, f.config.transport.name()), (128, "png"));
    PixelChecker::new().check_card(&f);
    let base = format!("http://127.0.0.1:{}", server.port());
    let streams: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{base}/streams")).await).unwrap();
    let names: Vec<&str> = streams
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["cam", "depth"]);
    assert_eq!(streams[1]["viewers"], 1);
    assert_eq!(streams[1]["transports"], serde_json::json!(["png"]));
    let metrics: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{base}/streams/depth/metrics")).await).unwrap();
    assert_eq!(metrics[0]["stream"], "depth");
    // Unknown streams are refused clearly (after the viewer's Hello).
    let mut lost =
        TestClient::connect_with(&format!("{}nope", server.ws_url()), hello(&["image/png"]))
            .await
            .unwrap();
    assert_eq!(lost.closed().await.0, Some(CloseCode::UnknownStream.code()));
    // Removing a stream disconnects its viewers, and only them.
    assert!(server.remove_stream("depth").await);
    assert_eq!(
        on_depth.closed().await.0,
        Some(CloseCode::StreamRemoved.code())
    );
    assert!(!server.remove_stream("depth").await);
    cam.publish(Frame::rgb(320, 240, test_card(2, 320, 240)).unwrap())
        .unwrap();
    frame(&mut on_cam).await;
    assert_eq!(server.stream_names(), vec!["cam".to_string()]);
    server.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_mounts_in_an_app_behind_cookie_auth() {
    let cookie_auth = authenticate_with(|ctx| async move {
        let cookies = ctx
            .headers
            .get("cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        match cookies
            .split(';')
            .map(str::trim)
            .find_map(|c| c.strip_prefix("session="))
        {
            Some("valid") => Ok(Arc::new("cookie-user".to_string()) as Principal),
            _ => Err(Rejected("no session cookie".into())),
        }
    });
    let rfb = Server::embedded(ServeOptions {
        authenticate: Some(cookie_auth),
        ..options(StreamOptions::default())
    })
    .unwrap();
    let display = rfb
        .add_stream("default", 64, 48, StreamOptions::default())
        .unwrap();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the app's own page" }))
        .nest("/rfb", rfb.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    display
        .publish(Frame::rgb(64, 48, test_card(1, 64, 48)).unwrap())
        .unwrap();
    assert_eq!(
        http_get(&format!("http://{addr}/")).await,
        "the app's own page"
    );
    assert_eq!(http_get(&format!("http://{addr}/rfb/health")).await, "ok");
    let url = format!("ws://{addr}/rfb");
    let mut anonymous = TestClient::connect(&url).await.unwrap();
    anonymous
        .send(&ClientMessage::Hello(hello(&["image/png"])))
        .await
        .unwrap();
    assert_eq!(anonymous.closed().await.0, Some(4401));
    let mut user =
        TestClient::connect_with_headers(&url, &[("Cookie", "theme=dark; session=valid")])
            .await
            .unwrap();
    user.send(&ClientMessage::Hello(hello(&["image/png"])))
        .await
        .unwrap();
    PixelChecker::new().check_card(&frame(&mut user).await);
    rfb.close().await;
    server_task.abort();
}
