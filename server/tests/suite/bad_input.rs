//! Untrusted input: every kind of bad message closes only the offending session, with the
//! documented close code and a readable reason, while other viewers keep streaming.

use std::time::Duration;

use crate::common::*;
use rfb::client::TestClient;
use rfb::{serve, Display, StreamOptions};
use rfb_protocol::input::{Buttons, KeyInput, Modifiers, WheelInput};
use rfb_protocol::{
    encode_client, ClientMessage, CloseCode, Hello, InputEvent, ProtocolVersion,
    MAX_CLIENT_MESSAGE_BYTES,
};
use tokio_tungstenite::tungstenite::Message;

/// A server with a short hello timeout, a publisher and one well-behaved viewer that ACKs.
struct Scene {
    display: Display,
    publisher: tokio::task::JoinHandle<()>,
    good: TestClient,
}

impl Scene {
    async fn new() -> Scene {
        let mut opts = options(StreamOptions::default());
        opts.hello_timeout = Duration::from_millis(300);
        let display = serve(320, 240, opts).await.unwrap();
        let publisher = publish_forever(&display, 320, 240, Duration::from_millis(10));
        let good = viewer(&display).await;
        Scene {
            display,
            publisher,
            good,
        }
    }

    /// Sends `messages` on a fresh connection and returns the close code and reason.
    async fn offend(&self, messages: Vec<Message>) -> (Option<u16>, String) {
        let mut bad = TestClient::connect(&self.display.ws_url()).await.unwrap();
        for m in messages {
            // The server may close before every message is written.
            if bad.send_raw(m).await.is_err() {
                break;
            }
        }
        tokio::time::timeout(Duration::from_secs(5), bad.closed())
            .await
            .expect("closed within 5 s")
    }

    /// The good viewer still receives correct frames (checked from its next keyframe on:
    /// it stopped ACKing while the offender ran, so a resync keyframe follows), and the
    /// display still counts only it.
    async fn still_fine(&mut self) {
        let mut checker: Option<PixelChecker> = None;
        let mut checked = 0;
        while checked < 3 {
            let f = frame(&mut self.good).await;
            if f.header.keyframe {
                checker = Some(PixelChecker::new());
            }
            if let Some(checker) = checker.as_mut() {
                checker.check_card(&f);
                checked += 1;
            }
            self.good.ack(f.header.seq, 0).await.unwrap();
        }
        assert_eq!(
            self.display.client_count(),
            1,
            "only the good viewer remains"
        );
    }

    async fn end(self) {
        self.publisher.abort();
        self.display.close().await;
    }
}

fn hello_bytes(version: ProtocolVersion) -> Vec<u8> {
    encode_client(&ClientMessage::Hello(Hello {
        version,
        ..rfb::client::hello(&["image/png"])
    }))
}

fn expect(close: (Option<u16>, String), code: CloseCode, needle: &str) {
    assert_eq!(close.0, Some(code.code()), "reason: {}", close.1);
    assert!(
        close.1.contains(needle),
        "reason {:?} should mention {needle:?}",
        close.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_first_messages_close_with_their_codes() {
    let mut scene = Scene::new().await;
    let v1 = rfb_protocol::PROTOCOL_VERSION;
    let cases: Vec<(Vec<Message>, CloseCode, &str)> = vec![
        (
            vec![Message::Binary(vec![0xff, 0x13, 0x37].into())],
            CloseCode::ProtocolError,
            "bad Hello",
        ),
        (
            vec![Message::Binary(hello_bytes(v1)[..5].to_vec().into())],
            CloseCode::ProtocolError,
            "bad Hello",
        ),
        (
            vec![Message::Text("{\"type\":\"hello\"}".into())],
            CloseCode::UnsupportedData,
            "binary only",
        ),
        (
            vec![Message::Binary(
                hello_bytes(ProtocolVersion {
                    major: v1.major + 1,
                    minor: 0,
                })
                .into(),
            )],
            CloseCode::VersionMismatch,
            "not supported",
        ),
        (
            vec![Message::Binary(
                encode_client(&ClientMessage::Ack(rfb_protocol::Ack {
                    seq: 1,
                    decode_queue_size: 0,
                    timings: None,
                }))
                .into(),
            )],
            CloseCode::ProtocolError,
            "expected Hello",
        ),
        (
            vec![Message::Binary(
                vec![0u8; MAX_CLIENT_MESSAGE_BYTES + 1].into(),
            )],
            CloseCode::MessageTooBig,
            "limit",
        ),
        (
            vec![Message::Binary(vec![0u8; 2 << 20].into())],
            CloseCode::MessageTooBig,
            "limit",
        ),
    ];
    for (messages, code, needle) in cases {
        let close = scene.offend(messages).await;
        expect(close, code, needle);
        scene.still_fine().await;
    }
    scene.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_hello_timeout() {
    let mut scene = Scene::new().await;
    let started = std::time::Instant::now();
    let close = scene.offend(vec![]).await;
    expect(close, CloseCode::HelloTimeout, "no Hello");
    assert!(started.elapsed() >= Duration::from_millis(250));
    scene.still_fine().await;
    scene.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_after_the_handshake_close_only_that_session() {
    let mut scene = Scene::new().await;
    let hello = Message::Binary(hello_bytes(rfb_protocol::PROTOCOL_VERSION).into());
    let cases: Vec<(Message, CloseCode, &str)> = vec![
        (
            Message::Binary(vec![0xee].into()),
            CloseCode::ProtocolError,
            "malformed",
        ),
        (hello.clone(), CloseCode::ProtocolError, "Hello sent twice"),
        (
            Message::Text("ack".into()),
            CloseCode::UnsupportedData,
            "binary only",
        ),
        (
            Message::Binary(vec![1u8; MAX_CLIENT_MESSAGE_BYTES + 10].into()),
            CloseCode::MessageTooBig,
            "limit",
        ),
    ];
    for (message, code, needle) in cases {
        let close = scene.offend(vec![hello.clone(), message]).await;
        expect(close, code, needle);
        scene.still_fine().await;
    }
    scene.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_streams_are_refused_with_4404() {
    let display = start(64, 48).await;
    let mut client = TestClient::connect_with(
        &format!("{}nope", display.ws_url()),
        rfb::client::hello(&["image/png"]),
    )
    .await
    .unwrap();
    let close = client.closed().await;
    expect(close, CloseCode::UnknownStream, "nope");
    display.close().await;
}

fn input(event: InputEvent) -> Message {
    Message::Binary(
        encode_client(&ClientMessage::Input(rfb_protocol::InputMessage::new(
            1, event,
        )))
        .into(),
    )
}

fn wheel(x: f32, dy: f32) -> InputEvent {
    InputEvent::Wheel(WheelInput {
        x,
        y: 10.0,
        inside: true,
        pixel_ratio: 1.0,
        dx: 0.0,
        dy,
        buttons: Buttons(0),
        modifiers: Modifiers(0),
        timestamp: 1.0,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_outside_the_protocol_bounds_close_and_never_reach_the_app() {
    let mut scene = Scene::new().await;
    let hello = Message::Binary(hello_bytes(rfb_protocol::PROTOCOL_VERSION).into());
    let long_key = InputEvent::KeyDown(KeyInput {
        key: "k".repeat(60_000),
        code: "KeyK".into(),
        modifiers: Modifiers(0),
        repeat: false,
        timestamp: 1.0,
    });
    let never_sent = Message::Binary(
        encode_client(&ClientMessage::Ack(rfb_protocol::Ack {
            seq: 1_000_000,
            decode_queue_size: 0,
            timings: None,
        }))
        .into(),
    );
    let cases: Vec<(Message, CloseCode, &str)> = vec![
        (
            input(wheel(10.0, f32::NAN)),
            CloseCode::ProtocolError,
            "dy is not a finite number",
        ),
        (
            input(wheel(f32::INFINITY, 1.0)),
            CloseCode::ProtocolError,
            "x is not a finite number",
        ),
        (
            input(wheel(3e7, 1.0)),
            CloseCode::ProtocolError,
            "x 30000000 is outside",
        ),
        (
            input(long_key),
            CloseCode::ProtocolError,
            "key of 60000 bytes exceeds 64",
        ),
        (never_sent, CloseCode::ProtocolError, "never sent"),
    ];
    scene.display.poll_events();
    for (message, code, needle) in cases {
        let close = scene.offend(vec![hello.clone(), message]).await;
        expect(close, code, needle);
        scene.still_fine().await;
    }
    let leaked: Vec<_> = scene
        .display
        .poll_events()
        .into_iter()
        .filter_map(|e| e.input().map(|i| i.event.type_name()))
        .filter(|t| *t != "resize")
        .collect();
    assert!(leaked.is_empty(), "the app saw {leaked:?}");
    scene.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinates_off_the_frame_are_clamped_and_marked_outside() {
    let display = start(64, 48).await;
    publish_card(&display, 64, 48);
    let mut client = viewer(&display).await;
    frame(&mut client).await;
    display.poll_events();
    for event in [wheel(5000.0, 1.0), wheel(-20.0, 1.0), wheel(10.0, 1.0)] {
        client.send_input(event).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(5), display.next_event())
            .await
            .unwrap()
            .unwrap();
        if let Some(InputEvent::Wheel(w)) = event.input().map(|i| i.event.clone()) {
            seen.push((w.x, w.inside));
        }
    }
    assert_eq!(seen, vec![(63.0, false), (0.0, false), (10.0, true)]);
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_flood_drops_moves_and_closes_a_key_flood_with_1008() {
    let mut opts = options(StreamOptions::default());
    opts.limits.input_rate = rfb::limits::Rate::new(50.0, 20.0);
    let display = serve(64, 48, opts).await.unwrap();
    publish_card(&display, 64, 48);
    let mut good = viewer(&display).await;
    frame(&mut good).await;
    // Moves and wheels beyond the rate are dropped and counted; the viewer stays.
    for _ in 0..200 {
        good.send_input(wheel(1.0, 1.0)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = display.metrics_snapshot();
    assert!(
        metrics[0].input_dropped >= 150,
        "{}",
        metrics[0].input_dropped
    );
    let delivered = display
        .poll_events()
        .iter()
        .filter(|e| e.input().is_some())
        .count();
    assert!(delivered < 60, "{delivered} delivered");
    // Keys are never dropped; a viewer that floods them past twice the burst is closed.
    let key = ClientMessage::Input(rfb_protocol::InputMessage::new(
        4,
        InputEvent::KeyDown(KeyInput {
            key: "a".into(),
            code: "KeyA".into(),
            modifiers: Modifiers(0),
            repeat: true,
            timestamp: 1.0,
        }),
    ));
    let mut flood = viewer(&display).await;
    frame(&mut flood).await;
    for _ in 0..500 {
        if flood.send(&key).await.is_err() {
            break;
        }
    }
    let (code, reason) = tokio::time::timeout(Duration::from_secs(5), flood.closed())
        .await
        .unwrap();
    assert_eq!(code, Some(CloseCode::PolicyViolation.code()), "{reason}");
    assert_eq!(display.client_count(), 1, "the well-behaved viewer stays");
    display.close().await;
}

/// An H.264 encoder that fails every encode.
struct Broken;

impl rfb::encode::Encoder for Broken {
    fn encode(
        &mut self,
        _frame: &rfb::Frame,
        _force_keyframe: bool,
    ) -> Result<Vec<rfb::encode::EncodedPayload>, rfb::EncodeError> {
        Err(rfb::EncodeError::Encode {
            encoder: "broken",
            message: "this encoder always fails".to_string(),
        })
    }
    fn codec_string(&self) -> String {
        "avc1.42C01F".to_string()
    }
    fn transport(&self) -> rfb_protocol::Transport {
        rfb_protocol::Transport::Video(rfb_protocol::VideoCodec::H264AnnexB)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_encoder_closes_only_its_viewer_with_1011() {
    let mut encoders = rfb::encode::EncoderRegistry::default();
    encoders.register_video(
        "broken",
        std::sync::Arc::new(|_spec: &rfb::encode::EncoderSpec| {
            Ok(Box::new(Broken) as Box<dyn rfb::encode::Encoder>)
        }),
    );
    for share_encoders in [false, true] {
        let display = start_with(
            64,
            48,
            StreamOptions {
                encoders: encoders.clone(),
                share_encoders,
                ..StreamOptions::default()
            },
        )
        .await;
        let publisher = publish_forever(&display, 64, 48, Duration::from_millis(20));
        let mut images = viewer_with(&display, &["image/png"]).await;
        let first = frame(&mut images).await;
        images.ack(first.header.seq, 0).await.unwrap();
        let mut video = viewer_with(&display, &[rfb_protocol::CAP_H264_ANNEXB]).await;
        let (code, reason) = tokio::time::timeout(Duration::from_secs(10), video.closed())
            .await
            .unwrap();
        assert_eq!(
            code,
            Some(CloseCode::InternalError.code()),
            "shared={share_encoders}: {reason}"
        );
        assert!(reason.contains("always fails"), "{reason}");
        // The image viewer keeps receiving correct frames.
        let mut checker = PixelChecker::new();
        for _ in 0..5 {
            let f = frame(&mut images).await;
            checker.check_card(&f);
            images.ack(f.header.seq, 0).await.unwrap();
        }
        assert_eq!(display.client_count(), 1, "shared={share_encoders}");
        publisher.abort();
        display.close().await;
    }
}
