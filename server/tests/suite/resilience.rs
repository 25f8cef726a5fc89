//! Streaming that holds up: the in-flight backstop, stats pushed to viewers, stills after
//! settle, the adaptive controller's levers, and bounded queues with a stuck viewer.

use std::time::Duration;

use crate::common::*;
use rfb::adaptive::AdaptiveConfig;
use rfb::client::TestClient;
use rfb::{DisplayEvent, StreamOptions};
use rfb_protocol::{ServerMessage, Transport};

/// Collects every message for `wait`, ACKing frames when `ack`.
async fn messages_for(
    client: &mut TestClient,
    wait: Duration,
    ack: bool,
) -> Vec<rfb::client::Received> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = Vec::new();
    while let Ok(Ok(received)) = tokio::time::timeout_at(deadline, client.recv()).await {
        if ack {
            if let Some(h) = received.message().unwrap().frame_header() {
                client.ack(h.seq, 0).await.unwrap();
            }
        }
        out.push(received);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backstop_resyncs_a_stalled_viewer_even_on_an_idle_stream() {
    let stream = StreamOptions {
        inflight_timeout: Duration::from_millis(300),
        ..StreamOptions::default()
    };
    let display = start_with(320, 240, stream).await;
    let mut client = viewer(&display).await;
    publish_card(&display, 320, 240);
    let a = frame(&mut client).await;
    publish_card(&display, 320, 240);
    let b = frame(&mut client).await;
    assert!(a.header.keyframe && !b.header.keyframe);
    // Never ACK, never publish again: the timer alone must fire.
    let c = frame(&mut client).await;
    assert!(c.header.keyframe, "the backstop resends a keyframe");
    assert_eq!(
        c.header.frame_seq, b.header.frame_seq,
        "of the latest frame"
    );
    PixelChecker::new().check_card(&c);
    assert!(display.metrics_snapshot()[0].inflight_timeouts >= 1);
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_are_pushed_at_the_interval() {
    let stream = StreamOptions {
        stats_interval: Some(Duration::from_millis(200)),
        ..StreamOptions::default()
    };
    let display = start_with(320, 240, stream).await;
    let publisher = publish_forever(&display, 320, 240, Duration::from_millis(20));
    let mut client = viewer(&display).await;
    let messages = messages_for(&mut client, Duration::from_millis(1100), true).await;
    let stats: Vec<_> = messages
        .iter()
        .filter_map(|m| match m.message().unwrap() {
            ServerMessage::Stats(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(
        (4..=6).contains(&stats.len()),
        "{} stats in 1.1 s",
        stats.len()
    );
    let last = stats.last().unwrap();
    assert!(
        last.fps_sent > 20.0 && last.rtt_ms > 0.0 && last.bitrate_bps > 0.0,
        "{last:?}"
    );
    assert_eq!(last.target_fps, 30.0);
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_image_stream_settles_to_an_exact_still() {
    let stream = StreamOptions {
        still_after: Some(Duration::from_millis(200)),
        ..StreamOptions::default()
    };
    let display = start_with(320, 240, stream).await;
    let mut client = viewer_with(&display, &["image/jpeg", "image/png"]).await;
    let mut last = 0;
    for _ in 0..5 {
        last = publish_card(&display, 320, 240);
        let f = frame(&mut client).await;
        assert_eq!(
            f.config.transport,
            Transport::Image(rfb_protocol::ImageFormat::Jpeg)
        );
        client.ack(f.header.seq, 0).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let started = tokio::time::Instant::now();
    let still = frame(&mut client).await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(still.header.frame_seq, last);
    assert!(still.payload.starts_with(b"\x89PNG"), "the still is a PNG");
    let decoded = rfb::decode::decode_image(&still.payload).unwrap();
    assert_eq!(
        decoded.rgb,
        rfb_protocol::test_card(last, 320, 240),
        "pixel-exact"
    );
    // Exactly one still per resting frame.
    client.ack(still.header.seq, 0).await.unwrap();
    assert!(messages_for(&mut client, Duration::from_millis(500), true)
        .await
        .is_empty());
    display.close().await;
}

/// A controller that reacts within a test's patience.
fn fast_adaptive() -> AdaptiveConfig {
    AdaptiveConfig {
        cooldown: Duration::from_millis(150),
        recover_after: Duration::from_millis(300),
        bitrate_factor: 0.5,
        min_bitrate_bps: 2_000_000,
        fps_step: 10.0,
        min_fps: 10.0,
        scale_factor: 0.5,
        min_scale: 0.5,
        rtt_smoothing: 1.0,
        ..AdaptiveConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_steps_down_in_order_hints_a_downscale_and_recovers() {
    let stream = StreamOptions {
        adaptive: Some(fast_adaptive()),
        ..StreamOptions::default()
    };
    let display = start_with(640, 480, stream).await;
    let publisher = publish_forever(&display, 640, 480, Duration::from_millis(33));
    let mut client = viewer(&display).await;
    // A viewer reporting a deep decode queue on every ACK.
    let mut targets = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while targets.len() < 6 {
        assert!(tokio::time::Instant::now() < deadline, "only {targets:?}");
        let received = client.recv().await.unwrap();
        match received.message().unwrap() {
            ServerMessage::SetQuality(q) => targets.push(q),
            ServerMessage::VideoChunk(c) => client.ack(c.header.seq, 8).await.unwrap(),
            _ => {}
        }
    }
    let bitrates: Vec<u64> = targets.iter().map(|t| t.bitrate_bps).collect();
    assert_eq!(
        bitrates,
        vec![4_000_000, 2_000_000, 2_000_000, 2_000_000, 2_000_000, 2_000_000]
    );
    let fps: Vec<f32> = targets.iter().map(|t| t.fps).collect();
    assert_eq!(
        fps,
        vec![30.0, 30.0, 20.0, 10.0, 10.0, 10.0],
        "fps after bitrate"
    );
    assert_eq!(targets[4].max_inflight, 1, "then the window");
    assert_eq!(display.metrics_snapshot()[0].target_bitrate_bps, 2_000_000);
    // The sixth step is the resolution: a hint for the app.
    let hint = display
        .poll_events()
        .into_iter()
        .find_map(|e| match e {
            DisplayEvent::DownscaleHint(h) => Some(h),
            _ => None,
        })
        .expect("a downscale hint");
    assert_eq!((hint.scale, hint.width, hint.height), (0.5, 320, 240));
    // The fps lever really paces sends: about 10 per second now.
    let messages = messages_for(&mut client, Duration::from_millis(1000), false).await;
    let frames = messages
        .iter()
        .filter(|m| m.message().unwrap().frame_header().is_some())
        .count();
    assert!(frames <= 2, "window of 1 and no ACKs: {frames}");
    // Healthy again: the hint climbs back to 1.0.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "never recovered");
        if let Ok(Ok(received)) =
            tokio::time::timeout(Duration::from_millis(100), client.recv()).await
        {
            if let Some(h) = received.message().unwrap().frame_header() {
                client.ack(h.seq, 0).await.unwrap();
            }
        }
        if display.suggested_scale() == 1.0 {
            break;
        }
    }
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_viewer_gets_about_its_frame_rate() {
    let config = AdaptiveConfig {
        min_bitrate_bps: 8_000_000,
        ..fast_adaptive()
    };
    let stream = StreamOptions {
        adaptive: Some(config),
        ..StreamOptions::default()
    };
    let display = start_with(320, 240, stream).await;
    let publisher = publish_forever(&display, 320, 240, Duration::from_millis(10));
    let mut client = viewer(&display).await;
    // Report congestion until the frame rate reaches its 10 fps floor.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(tokio::time::Instant::now() < deadline);
        match client.recv().await.unwrap().message().unwrap() {
            ServerMessage::SetQuality(q) if q.fps <= 10.0 => break,
            ServerMessage::VideoChunk(c) => client.ack(c.header.seq, 8).await.unwrap(),
            _ => {}
        }
    }
    // Now ACK promptly with an empty queue for one second (recovery needs longer).
    let messages = messages_for(&mut client, Duration::from_millis(1000), true).await;
    let frames = messages
        .iter()
        .filter(|m| m.message().unwrap().frame_header().is_some())
        .count();
    assert!(
        (7..=13).contains(&frames),
        "{frames} frames in 1 s at a 10 fps target (publishing at 100)"
    );
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_viewer_costs_at_most_its_window() {
    let display = start(640, 480).await;
    let publisher = publish_forever(&display, 640, 480, Duration::from_millis(10));
    // A viewer that says hello and then never reads its socket nor ACKs.
    let _stuck = viewer(&display).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let m = &display.metrics_snapshot()[0];
    assert!(display.frames_published() > 100);
    assert_eq!(
        m.frames_sent, 2,
        "nothing beyond the window was queued: {m:?}"
    );
    publisher.abort();
    display.close().await;
}

/// A video stream settles to a high-quality IDR of the resting frame, then resumes with an
/// IDR; for a shared lane and for a private encoder alike.
async fn video_settles_to_a_high_quality_still(share_encoders: bool) {
    let (w, h) = (640, 480);
    let stream = StreamOptions {
        still_after: Some(Duration::from_millis(200)),
        bitrate_bps: 300_000,
        share_encoders,
        ..StreamOptions::default()
    };
    let display = start_with(w, h, stream).await;
    let mut client = viewer_with(&display, &[rfb_protocol::CAP_H264_ANNEXB]).await;
    let mut decoder = rfb::decode::H264Decoder::new().unwrap();
    let mut last_psnr = 0.0;
    let mut source = Vec::new();
    for seq in 1..=8u64 {
        source = rfb_protocol::checkerboard(seq * 7, w, h);
        display
            .publish(rfb::Frame::rgb(w, h, source.clone()).unwrap())
            .unwrap();
        let f = frame(&mut client).await;
        let yuv = f.config.yuv.unwrap();
        let picture = decoder.decode(&f.payload, yuv).unwrap().unwrap();
        last_psnr = rfb::decode::psnr(&source, &picture.rgb);
        client.ack(f.header.seq, 0).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let still = frame(&mut client).await;
    assert!(still.header.keyframe, "the still is an IDR");
    assert_eq!(still.header.frame_seq, 8, "of the resting frame");
    let picture = decoder
        .decode(&still.payload, still.config.yuv.unwrap())
        .unwrap()
        .unwrap();
    let still_psnr = rfb::decode::psnr(&source, &picture.rgb);
    assert!(
        still_psnr > last_psnr + 3.0,
        "still {still_psnr:.1} dB vs stream {last_psnr:.1} dB"
    );
    client.ack(still.header.seq, 0).await.unwrap();
    // Motion resumes with an IDR (the decoder's reference is the still now).
    display
        .publish(rfb::Frame::rgb(w, h, rfb_protocol::checkerboard(99, w, h)).unwrap())
        .unwrap();
    let next = frame(&mut client).await;
    assert!(next.header.keyframe);
    assert!(decoder
        .decode(&next.payload, next.config.yuv.unwrap())
        .unwrap()
        .is_some());
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_video_stream_settles_to_a_high_quality_still() {
    video_settles_to_a_high_quality_still(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_video_stream_settles_to_a_high_quality_still() {
    video_settles_to_a_high_quality_still(false).await;
}

/// Panics seen on threads named [`PROBED_THREAD`] since the hook was installed.
static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
const PROBED_THREAD: &str = "rfb-vanishing-viewers";

/// Viewers that send `Hello` and drop the socket while frames are on their way, many at
/// once: each session ends (its resources return) and no server task panics (a panicking
/// session task would vanish without its close and its cleanup order).
#[test]
fn viewers_vanishing_mid_send_end_their_sessions_without_a_panic() {
    use std::sync::atomic::Ordering;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(PROBED_THREAD) {
            PANICS.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(PROBED_THREAD)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let display = start(1280, 720).await;
        let publisher = publish_forever(&display, 1280, 720, Duration::from_millis(10));
        let caps = rfb::client::all_capabilities();
        let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
        let hello = rfb_protocol::encode_client(&rfb_protocol::ClientMessage::Hello(
            rfb::client::hello(&caps),
        ));
        let mut vanishing = tokio::task::JoinSet::new();
        for n in 0..200u64 {
            while vanishing.len() >= 16 {
                vanishing.join_next().await;
            }
            let (url, hello) = (display.ws_url(), hello.clone());
            vanishing.spawn(async move {
                use futures_util::{SinkExt, StreamExt};
                use tokio_tungstenite::tungstenite::Message;
                let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .unwrap();
                ws.send(Message::Binary(hello.into())).await.unwrap();
                let linger = Duration::from_millis(5 + n % 20);
                let _ = tokio::time::timeout(linger, ws.next()).await;
                drop(ws);
            });
        }
        while vanishing.join_next().await.is_some() {}
        let server = display.server().unwrap();
        let idle = eventually(Duration::from_secs(10), || {
            let r = server.resources();
            r.sessions == 0 && r.websockets == 0
        })
        .await;
        publisher.abort();
        assert!(idle, "sessions left: {:?}", server.resources());
    });
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "server tasks panicked");
}
