//! Per-stage timing and input -> photon (protocol 3.0): ACK timings become stages in
//! `/metrics` (per session, per stream, Prometheus), nonsense timings are dropped, photon
//! reports are shown, and a frame answering input carries each viewer its own input id.

use std::time::{Duration, Instant};

use crate::common::*;
use rfb::{DisplayEvent, Frame, FrameMeta};
use rfb_protocol::input::{Buttons, Modifiers, PointerInput, PointerKind};
use rfb_protocol::{test_card, ClientMessage, FrameTimings, InputEvent, PhotonReport};
use serde_json::Value;

fn click(x: f32) -> InputEvent {
    InputEvent::PointerDown(PointerInput {
        x,
        y: 1.0,
        inside: true,
        pixel_ratio: 1.0,
        button: 1,
        buttons: Buttons(1),
        modifiers: Modifiers(0),
        pointer_type: PointerKind::Mouse,
        pointer_id: 1,
        timestamp: 1.0,
        pressure: 0.5,
        tilt_x: 0.0,
        tilt_y: 0.0,
        twist: 0.0,
    })
}

/// Receives a frame, holds it 3 ms (its "decode and draw") and ACKs it with timings that
/// are true on this client's clock: decode 1 ms, draw 0.5 ms, receive -> ACK as measured.
async fn receive_and_ack_timed(client: &mut rfb::client::TestClient) -> u64 {
    let f = frame(client).await;
    let received = Instant::now();
    tokio::time::sleep(Duration::from_millis(3)).await;
    let held = u32::try_from(received.elapsed().as_micros()).unwrap();
    let timings = FrameTimings {
        receive_to_decoded_us: 1000,
        decoded_to_drawn_us: 500,
        receive_to_ack_us: held,
    };
    client.ack_timed(f.header.seq, 0, timings).await.unwrap();
    f.header.seq
}

async fn metrics(display: &rfb::Display) -> Value {
    serde_json::from_str(&http_get(&format!("{}metrics", display.url())).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_acks_fill_every_stage_in_metrics_and_nonsense_is_dropped() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let publisher = publish_forever(&display, w, h, Duration::from_millis(20));
    let mut client = viewer(&display).await;
    for _ in 0..20 {
        receive_and_ack_timed(&mut client).await;
    }
    // The ACK is read by the session's task: wait until all 20 are in.
    assert!(
        eventually(Duration::from_secs(5), || {
            display.metrics_snapshot()[0].stages.decode.samples >= 20
        })
        .await
    );

    let m = &metrics(&display).await[0];
    let stages = &m["stages"];
    for stage in [
        "queue", "encode", "send", "network", "decode", "draw", "ack",
    ] {
        let s = &stages[stage];
        assert!(s["samples"].as_u64().unwrap() >= 20, "{stage}: {s}");
        assert!(s["mean_ms"].as_f64().unwrap() >= 0.0, "{stage}: {s}");
        // (No relation between p95 and mean is certain: one slow frame among 20 puts
        // the mean above the p95.)
        let p95 = s["p95_ms"].as_f64().unwrap();
        assert!(p95.is_finite() && p95 >= 0.0, "{stage}: {s}");
    }
    // The viewer's own numbers come through exactly; the server's are its own.
    assert_eq!(stages["decode"]["mean_ms"], 1.0);
    assert_eq!(stages["draw"]["p95_ms"], 0.5);
    let ack = stages["ack"]["mean_ms"].as_f64().unwrap();
    assert!(ack >= 1.5, "held 3 ms, 1.5 of it decode and draw: {ack}");
    assert!(stages["encode"]["mean_ms"].as_f64().unwrap() > 0.0);
    // Every stage of a frame together never exceeds publish -> ACK.
    let sum: f64 = [
        "queue", "encode", "send", "network", "decode", "draw", "ack",
    ]
    .iter()
    .map(|s| stages[s]["mean_ms"].as_f64().unwrap())
    .sum();
    let latency = m["latency_ms"].as_f64().unwrap();
    assert!(
        sum <= latency * 1.05 + 0.1,
        "stages {sum} ms, latency {latency} ms"
    );
    assert_eq!(m["viewer_timings_rejected"], 0);
    assert_eq!(m["input_to_photon"], Value::Null);

    // A viewer claiming it held a frame for 10^9 us: counted, not averaged.
    let f = frame(&mut client).await;
    let bogus = FrameTimings {
        receive_to_decoded_us: 0,
        decoded_to_drawn_us: 0,
        receive_to_ack_us: 1_000_000_000,
    };
    client.ack_timed(f.header.seq, 0, bogus).await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || {
            display.metrics_snapshot()[0].viewer_timings_rejected == 1
        })
        .await
    );
    let after = display.metrics_snapshot()[0].stages;
    assert_eq!(
        after.decode.mean_ms, 1.0,
        "the bogus ACK left the means alone"
    );
    assert!(after.ack.p95_ms < 1000.0, "{:?}", after.ack);

    // The stream's stages: its viewers' samples together.
    let streams: Value =
        serde_json::from_str(&http_get(&format!("{}streams", display.url())).await).unwrap();
    assert_eq!(streams[0]["stages"]["decode"]["mean_ms"], 1.0);
    assert!(streams[0]["stages"]["send"]["samples"].as_u64().unwrap() >= 20);

    // And Prometheus, in seconds.
    let text = http_get(&format!("{}metrics?format=prometheus", display.url())).await;
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("rfb_stage_seconds{")
                && l.contains("stage=\"decode\"")
                && l.contains("stat=\"mean\"")
        })
        .unwrap_or_else(|| panic!("no decode stage in\n{text}"));
    assert!(line.ends_with(" 0.001"), "{line}");
    assert!(text
        .contains("rfb_stream_stage_seconds{stage=\"network\",stat=\"p95\",stream=\"default\"}"));
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photon_reports_reach_metrics_and_bad_ones_close_the_viewer() {
    let (w, h) = (64, 48);
    let display = start(w, h).await;
    publish_card(&display, w, h);
    let mut client = viewer(&display).await;
    frame(&mut client).await;
    let report = PhotonReport {
        samples: 12,
        p50_us: 41_500,
        p95_us: 70_000,
    };
    client
        .send(&ClientMessage::PhotonReport(report))
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || {
            display.metrics_snapshot()[0].input_to_photon.is_some()
        })
        .await
    );
    let m = &metrics(&display).await[0];
    assert_eq!(m["input_to_photon"]["p50_ms"], 41.5);
    assert_eq!(m["input_to_photon"]["p95_ms"], 70.0);
    assert_eq!(m["input_to_photon"]["samples"], 12);
    let text = http_get(&format!("{}metrics?format=prometheus", display.url())).await;
    assert!(
        text.lines()
            .any(|l| l.starts_with("rfb_input_to_photon_seconds{")
                && l.contains("stat=\"p95\"")
                && l.ends_with(" 0.07")),
        "{text}"
    );

    // p50 above p95 breaks the protocol's bounds: 1002, and only this viewer goes.
    let mut other = viewer(&display).await;
    frame(&mut other).await;
    client
        .send(&ClientMessage::PhotonReport(PhotonReport {
            samples: 3,
            p50_us: 9_000,
            p95_us: 8_000,
        }))
        .await
        .unwrap();
    let (code, reason) = tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .unwrap();
    assert_eq!(code, Some(1002), "{reason}");
    assert!(reason.contains("photon"), "{reason}");
    publish_card(&display, w, h);
    frame(&mut other).await;
    display.close().await;
}

/// Drains the display until both viewers' input arrived; returns the events.
async fn drain_inputs(display: &rfb::Display, n: usize) -> Vec<DisplayEvent> {
    let mut events = Vec::new();
    for _ in 0..250 {
        events.extend(display.poll_events());
        if events.iter().filter(|e| e.input().is_some()).count() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    events
}

/// The client id of the viewer whose pointer went down at `x`.
fn client_of(events: &[DisplayEvent], x: f32) -> u64 {
    events
        .iter()
        .filter_map(DisplayEvent::input)
        .find(|e| matches!(&e.event, InputEvent::PointerDown(p) if p.x == x))
        .unwrap()
        .client_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_answering_input_tells_each_viewer_its_own_id() {
    let (w, h) = (64, 48);
    let display = start(w, h).await;
    publish_card(&display, w, h);
    let mut a = viewer(&display).await;
    let mut b = viewer(&display).await;
    let mut c = viewer(&display).await;
    for v in [&mut a, &mut b, &mut c] {
        let f = frame(v).await;
        assert_eq!(f.header.input_id, None, "nothing answered yet");
        v.ack(f.header.seq, 0).await.unwrap();
    }
    // A sends three events (ids 1..=3), B one (id 1), C none.
    let sent_at = Instant::now();
    for x in [1.0, 2.0, 3.0] {
        a.send_input(click(x)).await.unwrap();
    }
    let b_id = b.send_input(click(9.0)).await.unwrap();
    assert_eq!(b_id, 1);
    let events = drain_inputs(&display, 4).await;
    let answers = FrameMeta::answering(&events);
    let a_client = client_of(&events, 3.0);
    assert_eq!(answers.answers.for_client(a_client), Some(3));
    let seq = display.frames_published() + 1;
    display
        .publish_with(Frame::rgb(w, h, test_card(seq, w, h)).unwrap(), answers)
        .unwrap();
    let fa = frame(&mut a).await;
    let fb = frame(&mut b).await;
    let fc = frame(&mut c).await;
    assert_eq!(fa.header.frame_seq, seq);
    assert_eq!(fa.header.input_id, Some(3), "A's newest input");
    assert_eq!(fb.header.input_id, Some(1), "B's own id, not A's");
    assert_eq!(fc.header.input_id, None, "C sent nothing");
    for (v, f) in [(&mut a, fa), (&mut b, fb), (&mut c, fc)] {
        v.ack(f.header.seq, 0).await.unwrap();
    }
    // The server timed each answered input from its arrival to that publish: A's three,
    // B's one, none for C; no wait longer than the whole exchange.
    let b_client = client_of(&events, 9.0);
    let whole_ms = sent_at.elapsed().as_secs_f64() * 1e3;
    let metrics = display.metrics_snapshot();
    for m in &metrics {
        let wait = m.input_to_publish;
        let expected = match m.client_id {
            id if id == a_client => 3,
            id if id == b_client => 1,
            _ => 0,
        };
        assert_eq!(wait.samples, expected, "{m:?}");
        assert!(
            wait.mean_ms >= 0.0 && wait.p95_ms <= whole_ms,
            "{wait:?} within {whole_ms} ms"
        );
    }
    // The next frame answers nothing new: no ids.
    publish_card(&display, w, h);
    assert_eq!(frame(&mut a).await.header.input_id, None);
    display.close().await;
}
