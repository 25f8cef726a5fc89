//! Input from viewers reaches the app: `poll_events()`, `next_event()`, the recorded-events
//! side channel, the event log, match-client sizing and bounded queues.

use std::time::Duration;

use crate::common::*;
use rfb::{ResizePolicy, ServeOptions, StreamOptions, EVENT_QUEUE_CAPACITY};
use rfb_protocol::input::{Buttons, KeyInput, Modifiers, PointerInput, PointerKind, WheelInput};
use rfb_protocol::{ClientMessage, InputEvent, Viewport};

fn click(x: f32, y: f32) -> InputEvent {
    InputEvent::PointerDown(PointerInput {
        x,
        y,
        inside: true,
        pixel_ratio: 1.0,
        button: 1,
        buttons: Buttons(1),
        modifiers: Modifiers(Modifiers::SHIFT),
        pointer_type: PointerKind::Mouse,
        pointer_id: 1,
        timestamp: 3.0,
        pressure: 0.5,
        tilt_x: 0.0,
        tilt_y: 0.0,
        twist: 0.0,
    })
}

const VIEWPORT: Viewport = Viewport {
    width: 500.0,
    height: 300.0,
    pwidth: 1001,
    pheight: 601,
    ratio: 2.0,
};

async fn wait_for_events(display: &rfb::Display, n: usize) -> Vec<rfb::InputEvent> {
    let mut events = Vec::new();
    for _ in 0..200 {
        events.extend(
            display
                .poll_events()
                .into_iter()
                .filter_map(|e| e.input().cloned()),
        );
        if events.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_every_viewer_are_drained_in_order_with_their_client() {
    let display = start(64, 48).await;
    let mut a = viewer(&display).await;
    let mut b = viewer(&display).await;
    a.send_input(click(1.0, 2.0)).await.unwrap();
    b.send_input(InputEvent::Wheel(WheelInput {
        x: 5.0,
        y: 6.0,
        inside: true,
        pixel_ratio: 1.0,
        dx: 0.0,
        dy: 100.0,
        buttons: Buttons(0),
        modifiers: Modifiers(0),
        timestamp: 4.0,
    }))
    .await
    .unwrap();
    a.send(&ClientMessage::SetViewport(VIEWPORT)).await.unwrap();
    let events = wait_for_events(&display, 3).await;
    assert_eq!(events.len(), 3, "{events:?}");
    let a_id = events
        .iter()
        .find(|e| matches!(e.event, InputEvent::PointerDown(_)))
        .unwrap()
        .client_id;
    let from_a: Vec<_> = events.iter().filter(|e| e.client_id == a_id).collect();
    assert_eq!(
        from_a.len(),
        2,
        "the click and the resize came from the same viewer"
    );
    assert!(matches!(from_a[0].event, InputEvent::PointerDown(_)));
    assert!(matches!(from_a[1].event, InputEvent::Resize(v) if v == VIEWPORT));
    assert!(events
        .iter()
        .any(|e| matches!(e.event, InputEvent::Wheel(_)) && e.client_id != a_id));
    assert!(display.poll_events().is_empty(), "drained");
    // The async alternative.
    a.send_input(click(9.0, 9.0)).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(5), display.next_event())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(next.input().map(|e| &e.event), Some(InputEvent::PointerDown(p)) if p.x == 9.0)
    );
    display.close().await;
    assert!(
        display.next_event().await.is_none(),
        "a closed display ends the stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_events_and_the_event_log_keep_the_renderview_shape() {
    let log = std::env::temp_dir().join(format!("rfb-test-events-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let opts = ServeOptions {
        record_events: true,
        event_log: Some(log.clone()),
        ..options(StreamOptions::default())
    };
    let display = rfb::serve(64, 48, opts).await.unwrap();
    let mut client = viewer(&display).await;
    client.send_input(click(10.0, 20.0)).await.unwrap();
    client
        .send_input(InputEvent::KeyDown(KeyInput {
            key: "a".into(),
            code: "KeyA".into(),
            modifiers: Modifiers(Modifiers::CONTROL),
            repeat: false,
            timestamp: 5.0,
        }))
        .await
        .unwrap();
    wait_for_events(&display, 2).await;
    let base = format!("http://127.0.0.1:{}", display.port());
    let recorded: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{base}/recorded-events")).await).unwrap();
    let recorded = recorded.as_array().unwrap();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0]["event"]["type"], "pointer_down");
    assert_eq!(recorded[0]["event"]["x"], 10.0);
    assert_eq!(recorded[0]["event"]["buttons"], serde_json::json!([1]));
    assert_eq!(
        recorded[0]["event"]["modifiers"],
        serde_json::json!(["Shift"])
    );
    assert_eq!(recorded[1]["event"]["code"], "KeyA");
    let port = display.port();
    let (status, _, body) = raw_http(
        port,
        &format!("POST /recorded-events/reset HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert_eq!(http_get(&format!("{base}/recorded-events")).await, "[]");
    display.close().await;
    let mut lines = 0;
    for _ in 0..100 {
        lines = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count();
        if lines == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(lines, 2, "both events were appended to the log");
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_client_follows_the_latest_viewport_after_it_settles() {
    let stream = StreamOptions {
        resize_policy: ResizePolicy::MatchClient,
        max_render_dimension: 800,
        ..StreamOptions::default()
    };
    let display = start_with(64, 48, stream).await;
    assert_eq!(display.target_size(), None);
    let mut a = viewer(&display).await;
    a.send(&ClientMessage::SetViewport(VIEWPORT)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // 1001x601 physical, clamped to 800 on the long side, even.
    assert_eq!(display.target_size(), Some((800, 480)));
    assert_eq!(display.target_ratio(), 2.0);
    let mut b = viewer(&display).await;
    b.send(&ClientMessage::SetViewport(Viewport {
        width: 320.0,
        height: 240.0,
        pwidth: 320,
        pheight: 240,
        ratio: 1.0,
    }))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        display.target_size(),
        Some((320, 240)),
        "the last viewer to resize wins"
    );
    display.close().await;
    // The publisher-owned default ignores viewports.
    let display = start(64, 48).await;
    let mut c = viewer(&display).await;
    c.send(&ClientMessage::SetViewport(VIEWPORT)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(display.target_size(), None);
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_never_drains_keeps_a_bounded_queue() {
    // A rate limit this viewer cannot reach: the queue's own bound is under test.
    let mut opts = ServeOptions {
        ..options(StreamOptions::default())
    };
    opts.limits.input_rate = rfb::limits::Rate::new(1e9, 1e9);
    let display = rfb::serve(64, 48, opts).await.unwrap();
    let mut client = viewer(&display).await;
    publish_card(&display, 64, 48);
    let first = frame(&mut client).await;
    client.ack(first.header.seq, 0).await.unwrap();
    let total = EVENT_QUEUE_CAPACITY + 500;
    for i in 0..total {
        let InputEvent::PointerDown(p) = click(1.0, 0.0) else {
            unreachable!("click is a pointer down")
        };
        let numbered = rfb_protocol::input::PointerInput {
            timestamp: i as f64,
            ..p
        };
        client
            .send_input(InputEvent::PointerDown(numbered))
            .await
            .unwrap();
    }
    // The session handles messages in order: once the keyframe it was asked for after the
    // clicks arrives, every click has been queued.
    client.send(&ClientMessage::RequestKeyframe).await.unwrap();
    assert!(frame(&mut client).await.header.keyframe);
    let events = display.poll_events();
    assert_eq!(
        events.len(),
        EVENT_QUEUE_CAPACITY,
        "the oldest were dropped"
    );
    let Some(InputEvent::PointerDown(last)) = events.last().unwrap().input().map(|e| &e.event)
    else {
        panic!("a click")
    };
    assert_eq!(last.timestamp as usize, total - 1, "the newest were kept");
    display.close().await;
}
