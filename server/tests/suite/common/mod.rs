//! Helpers shared by the integration tests: a server on an ephemeral port, a publisher
//! task, native viewers and pixel checks.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses a subset; tests may unwrap

pub mod paced;

use std::time::Duration;

use rfb::client::{all_capabilities, hello, ReceivedFrame, TestClient};
use rfb::decode::{decode_image, DecodedFrame, H264Decoder};
use rfb::{serve, Display, Frame, ServeOptions, StreamOptions};
use rfb_protocol::{expected_quadrant_color, test_card, Transport};

/// Largest per-channel error accepted between a decoded quadrant centre and the pattern.
pub const TOLERANCE: u8 = 6;

/// Options for a test server: ephemeral port, no web assets.
pub fn options(stream: StreamOptions) -> ServeOptions {
    ServeOptions {
        port: 0,
        stream,
        web_dir: None,
        pkg_dir: None,
        embedded_assets: false,
        ..ServeOptions::default()
    }
}

/// A server with default stream options on an ephemeral port.
pub async fn start(width: u32, height: u32) -> Display {
    start_with(width, height, StreamOptions::default()).await
}

/// A server with these stream options.
pub async fn start_with(width: u32, height: u32, stream: StreamOptions) -> Display {
    serve(width, height, options(stream)).await.unwrap()
}

/// Publishes the next test card (pattern seq = the frame's publish counter).
pub fn publish_card(display: &Display, width: u32, height: u32) -> u64 {
    let seq = display.frames_published() + 1;
    let published = display
        .publish(Frame::rgb(width, height, test_card(seq, width, height)).unwrap())
        .unwrap();
    assert_eq!(published, seq);
    seq
}

/// Publishes test cards every `period` until the returned handle is aborted.
pub fn publish_forever(
    display: &Display,
    width: u32,
    height: u32,
    period: Duration,
) -> tokio::task::JoinHandle<()> {
    let display = display.clone();
    tokio::spawn(async move {
        loop {
            publish_card(&display, width, height);
            tokio::time::sleep(period).await;
        }
    })
}

/// A viewer that decodes everything, connected and past `Hello`.
pub async fn viewer(display: &Display) -> TestClient {
    let caps = all_capabilities();
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    viewer_with(display, &caps).await
}

/// A viewer with these capabilities.
pub async fn viewer_with(display: &Display, caps: &[&str]) -> TestClient {
    TestClient::connect_with(&display.ws_url(), hello(caps))
        .await
        .unwrap()
}

/// Waits for a frame, failing the test after 10 s.
pub async fn frame(client: &mut TestClient) -> ReceivedFrame {
    tokio::time::timeout(Duration::from_secs(10), client.next_frame())
        .await
        .expect("a frame within 10 s")
        .unwrap()
}

/// Decodes received frames (keeps H.264 decoder state across frames).
pub struct PixelChecker {
    h264: Option<H264Decoder>,
}

impl PixelChecker {
    pub fn new() -> PixelChecker {
        PixelChecker { h264: None }
    }

    /// Decodes a frame to RGB (`None` if the H.264 decoder produced no picture yet).
    pub fn decode(&mut self, frame: &ReceivedFrame) -> Option<DecodedFrame> {
        match frame.config.transport {
            Transport::Video(_) => {
                let decoder = self.h264.get_or_insert_with(|| H264Decoder::new().unwrap());
                let yuv = frame
                    .config
                    .yuv
                    .expect("video Config carries the YUV encoding");
                decoder.decode(&frame.payload, yuv).unwrap()
            }
            Transport::Image(_) => Some(decode_image(&frame.payload).unwrap()),
        }
    }

    /// Decodes and checks the four quadrant colours against the frame's `frame_seq`.
    pub fn check_card(&mut self, frame: &ReceivedFrame) {
        let decoded = self.decode(frame).expect("a picture");
        assert_eq!(
            (decoded.width, decoded.height),
            (frame.header.width, frame.header.height)
        );
        for q in 0..4 {
            let expected = expected_quadrant_color(frame.header.frame_seq, q);
            let err = decoded.quadrant_error(q, expected);
            assert!(
                err <= TOLERANCE,
                "frame_seq {} quadrant {q}: got {:?}, expected {expected:?} (error {err})",
                frame.header.frame_seq,
                decoded.quadrant_centre(q)
            );
        }
    }
}

/// A minimal HTTP/1.1 GET (the tests need no HTTP client dependency for three requests).
/// `GET url` with extra header lines; returns the status code and the body.
pub async fn http_request(url: &str, headers: &[&str]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, body.to_string())
}

pub async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// A raw HTTP/1.1 exchange on `127.0.0.1:port`: sends `request` as written (it must ask
/// for `Connection: close`) and returns the status, the header block and the body.
pub async fn raw_http(port: u16, request: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_string(), body.to_string())
}

/// `GET path` with this `Host` header and any extra header lines.
pub async fn get_with_host(
    port: u16,
    path: &str,
    host: &str,
    extra: &[&str],
) -> (u16, String, String) {
    let extra: String = extra.iter().map(|h| format!("{h}\r\n")).collect();
    raw_http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"),
    )
    .await
}

/// Polls `done` every 20 ms for up to `limit`; false if it never held.
pub async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}
