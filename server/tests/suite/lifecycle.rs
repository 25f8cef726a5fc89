//! Display and server lifecycle: publish validation, client count, the HTTP side channel
//! and a clean close.

use std::time::Duration;

use crate::common::*;
use rfb::{Frame, FrameError, StreamOptions};
use rfb_protocol::CloseCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_refuses_bad_frames_without_panicking() {
    let display = start(64, 48).await;
    assert!(matches!(
        Frame::rgb(4, 4, vec![0u8; 47]),
        Err(FrameError::WrongLength { .. })
    ));
    assert!(matches!(
        Frame::rgb(0, 4, vec![]),
        Err(FrameError::ZeroSize { .. })
    ));
    let odd = Frame::rgb(63, 48, vec![0u8; 63 * 48 * 3]).unwrap();
    assert!(matches!(
        display.publish(odd.clone()),
        Err(FrameError::OddSize { .. })
    ));
    let huge = Frame::rgb(4096, 2, vec![0u8; 4096 * 2 * 3]).unwrap();
    assert!(matches!(
        display.publish(huge),
        Err(FrameError::TooLarge { .. })
    ));
    assert_eq!(display.frames_published(), 0);
    display.close().await;
    // An image-only display accepts odd sizes.
    let image_only = start_with(
        63,
        47,
        StreamOptions {
            force_image: true,
            ..StreamOptions::default()
        },
    )
    .await;
    assert_eq!(image_only.publish(odd), Ok(1));
    image_only.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_side_channel_answers() {
    let display = start(320, 240).await;
    let publisher = publish_forever(&display, 320, 240, Duration::from_millis(20));
    let mut client = viewer(&display).await;
    for _ in 0..10 {
        let f = frame(&mut client).await;
        client.ack(f.header.seq, 0).await.unwrap();
    }
    let base = format!("http://127.0.0.1:{}", display.port());
    let health = http_get(&format!("{base}/health")).await;
    assert_eq!(health, "ok");
    let metrics: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{base}/metrics")).await).unwrap();
    let session = &metrics.as_array().expect("an array")[0];
    for field in [
        "fps_sent",
        "frames_dropped",
        "encode_ms",
        "bitrate_bps",
        "inflight",
        "transport",
        "rtt_ms",
        "latency_ms",
        "latency_p95_ms",
    ] {
        assert!(
            session.get(field).is_some(),
            "/metrics lacks {field}: {session}"
        );
    }
    assert_eq!(session["transport"], "h264");
    assert!(session["frames_sent"].as_u64().unwrap() >= 10);
    assert!(session["fps_sent"].as_f64().unwrap() > 5.0, "{session}");
    // Publish comes before send: the publish -> ACK latency contains the round trip.
    let (rtt, latency) = (
        session["rtt_ms"].as_f64().unwrap(),
        session["latency_ms"].as_f64().unwrap(),
    );
    assert!(
        latency > 0.0 && latency >= rtt,
        "latency {latency} ms, rtt {rtt} ms"
    );
    let streams: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{base}/streams")).await).unwrap();
    assert_eq!(streams[0]["name"], "default");
    assert_eq!(streams[0]["viewers"], 1);
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_disconnects_viewers_with_going_away_and_stops_listening() {
    let display = start(64, 48).await;
    publish_card(&display, 64, 48);
    let mut a = viewer(&display).await;
    let mut b = viewer(&display).await;
    frame(&mut a).await;
    frame(&mut b).await;
    assert_eq!(display.client_count(), 2);
    let port = display.port();
    display.close().await;
    assert_eq!(a.closed().await.0, Some(CloseCode::GoingAway.code()));
    assert_eq!(b.closed().await.0, Some(CloseCode::GoingAway.code()));
    assert_eq!(display.client_count(), 0);
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "still listening"
    );
    assert_eq!(
        display.publish(Frame::rgb(64, 48, vec![0u8; 64 * 48 * 3]).unwrap()),
        Err(FrameError::Closed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_speak_prometheus_when_asked() {
    let display = start(320, 240).await;
    let publisher = publish_forever(&display, 320, 240, Duration::from_millis(20));
    let mut client = viewer(&display).await;
    for _ in 0..5 {
        let f = frame(&mut client).await;
        client.ack(f.header.seq, 0).await.unwrap();
    }
    let port = display.port();
    let host = format!("127.0.0.1:{port}");
    let parse = |body: &str| {
        prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
            .expect("the body parses as the text exposition format")
    };
    for (path, headers) in [
        ("/metrics?format=prometheus", vec![]),
        (
            "/metrics",
            vec!["Accept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1"],
        ),
        ("/streams/default/metrics?format=prometheus", vec![]),
    ] {
        let (status, head, body) = get_with_host(port, path, &host, &headers).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        let scrape = parse(&body);
        let sent = scrape
            .samples
            .iter()
            .find(|s| s.metric == "rfb_frames_sent_total")
            .unwrap_or_else(|| panic!("{path}: no rfb_frames_sent_total in\n{body}"));
        assert_eq!(sent.labels.get("stream"), Some("default"));
        assert_eq!(sent.labels.get("transport"), Some("h264"));
        assert!(matches!(sent.value, prometheus_parse::Value::Counter(v) if v >= 5.0));
    }
    // JSON stays the default.
    let (_, head, body) = get_with_host(port, "/metrics", &host, &[]).await;
    assert!(
        head.to_ascii_lowercase().contains("application/json"),
        "{head}"
    );
    assert!(serde_json::from_str::<serde_json::Value>(&body)
        .unwrap()
        .is_array());
    publisher.abort();
    display.close().await;
}
