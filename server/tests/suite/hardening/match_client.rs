//! Match-client sizing that never fails: any viewport gives a size the encoder accepts,
//! each viewer is debounced on its own, only controllers steer, and `rfb serve
//! --match-client` survives every viewport a viewer may send.

use std::time::Duration;

use crate::common::*;
use rfb::auth::role_tokens;
use rfb::client::{hello, TestClient};
use rfb::{serve, Frame, ResizePolicy, ServeOptions, StreamOptions};
use rfb_protocol::{test_card, ClientMessage, Hello, Viewport};

fn match_client() -> StreamOptions {
    StreamOptions {
        resize_policy: ResizePolicy::MatchClient,
        ..StreamOptions::default()
    }
}

fn viewport(pwidth: u32, pheight: u32, ratio: f32) -> Viewport {
    Viewport {
        width: pwidth as f32 / ratio,
        height: pheight as f32 / ratio,
        pwidth,
        pheight,
        ratio,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_viewport_gets_a_size_the_encoder_accepts() {
    let display = start_with(640, 360, match_client()).await;
    publish_card(&display, 640, 360);
    let mut client = viewer(&display).await;
    frame(&mut client).await;
    // 2560x1600 CSS pixels at DPR 2.
    client
        .send(&ClientMessage::SetViewport(viewport(5120, 3200, 2.0)))
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || display.target_size()
            == Some((3456, 2160)))
        .await,
        "target {:?}",
        display.target_size()
    );
    assert_eq!(display.target_ratio(), 2.0);
    let (w, h) = display.target_size().unwrap();
    display
        .publish(Frame::rgb(w, h, test_card(2, w, h)).unwrap())
        .unwrap();
    let f = frame(&mut client).await;
    assert_eq!((f.header.width, f.header.height), (3456, 2160));
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_repeating_its_size_still_settles() {
    let display = start_with(640, 360, match_client()).await;
    publish_card(&display, 640, 360);
    let mut client = viewer(&display).await;
    frame(&mut client).await;
    for _ in 0..8 {
        client
            .send(&ClientMessage::SetViewport(viewport(800, 600, 1.0)))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        display.target_size(),
        Some((800, 600)),
        "settled while repeated"
    );
    display.close().await;
}

fn with_token(token: &str, viewport: Viewport) -> Hello {
    Hello {
        token: Some(token.to_string()),
        viewport: Some(viewport),
        ..hello(&["image/png"])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_controllers_steer_the_size() {
    let display = serve(
        640,
        360,
        ServeOptions {
            authenticate: Some(role_tokens(Some("pilot".into()), Some("audience".into()))),
            stream: match_client(),
            ..options(match_client())
        },
    )
    .await
    .unwrap();
    publish_card(&display, 640, 360);
    let mut pilot = TestClient::connect_with(
        &display.ws_url(),
        with_token("pilot", viewport(800, 600, 1.0)),
    )
    .await
    .unwrap();
    frame(&mut pilot).await;
    assert!(
        eventually(Duration::from_secs(5), || display.target_size()
            == Some((800, 600)))
        .await
    );
    let mut audience = TestClient::connect_with(
        &display.ws_url(),
        with_token("audience", viewport(400, 300, 1.0)),
    )
    .await
    .unwrap();
    frame(&mut audience).await;
    audience
        .send(&ClientMessage::SetViewport(viewport(320, 200, 1.0)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        display.target_size(),
        Some((800, 600)),
        "a watcher never resizes"
    );
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfb_serve_match_client_survives_any_viewport() {
    use std::io::{BufRead, BufReader};
    /// Kills the server however the test ends (a panic included), so no `rfb serve`
    /// outlives it.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rfb"))
        .args([
            "serve",
            "--port",
            "0",
            "--match-client",
            "--width",
            "640",
            "--height",
            "360",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(KillOnDrop)
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    // Keep reading what the server prints (its stdout stays open for it).
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let port: u16 = first
        .trim()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let url = format!("ws://127.0.0.1:{port}/");
    let mut client = TestClient::connect_with(&url, hello(&["webcodecs/h264-annexb"]))
        .await
        .unwrap();
    let f = frame(&mut client).await;
    client.ack(f.header.seq, 0).await.unwrap();
    for v in [
        viewport(5120, 3200, 2.0),
        viewport(65536, 2, 1.0),
        viewport(2, 65536, 3.0),
        viewport(7680, 4320, 2.0),
    ] {
        client.send(&ClientMessage::SetViewport(v)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "rfb serve exited after {v:?}"
        );
    }
    // Still streaming, at a size that fits the encoder.
    let mut last = frame(&mut client).await;
    for _ in 0..10 {
        client.ack(last.header.seq, 0).await.unwrap();
        last = frame(&mut client).await;
    }
    let (w, h) = (last.header.width, last.header.height);
    assert!(w.max(h) <= 3840 && w.min(h) <= 2160, "{w}x{h}");
}
