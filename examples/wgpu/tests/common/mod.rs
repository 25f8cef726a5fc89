//! Helpers shared by the lavapipe tests: a display with the scene loop publishing into
//! it, a viewer, decoding what it receives, and pixel statistics.
//!
//! The tests need a Vulkan adapter. With no GPU that is Mesa's lavapipe
//! (`mesa-vulkan-drivers`, installed by `scripts/setup.sh`). When none is found: in CI
//! (`CI` set, as every CI service does, and not `false`/`0`) the test fails with the
//! adapter error; elsewhere (a laptop running `cargo test --workspace` without a Vulkan
//! driver) it returns early after a banner on stderr saying it did not run and why.

#![allow(dead_code)] // each test binary uses part of this module
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::io::Write as _;
use std::time::Duration;

use rfb::client::{hello, ReceivedFrame, TestClient};
use rfb::decode::{decode_image, DecodedFrame, H264Decoder};
use rfb::{Display, ServeOptions, StreamOptions};
use rfb_example_wgpu::{Renderer, RunOptions, SceneError, SceneLoop, SceneView};
use rfb_protocol::Transport;

/// 360 pixels of RGBA8 are 1440 bytes, which wgpu pads to 1536 per row in the readback
/// buffer: every test goes through the unpadding.
pub const WIDTH: u32 = 360;
/// Frame height.
pub const HEIGHT: u32 = 240;

/// Whether `CI` (its value, if set) asks for a missing adapter to fail the test.
pub fn ci_requires_adapter(ci: Option<&str>) -> bool {
    match ci {
        None => false,
        Some(value) => !matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false"
        ),
    }
}

/// A display on a free port with the scene loop publishing into it, or `None` when there
/// is no Vulkan adapter and this is not CI (see the module doc): the caller returns.
pub async fn start(options: RunOptions) -> Option<(Display, SceneLoop)> {
    let display = rfb::serve(
        WIDTH,
        HEIGHT,
        ServeOptions {
            port: 0,
            web_dir: None,
            pkg_dir: None,
            stream: StreamOptions {
                fps: options.fps,
                ..StreamOptions::default()
            },
            ..ServeOptions::default()
        },
    )
    .await
    .unwrap();
    let scene = match SceneLoop::start(display.clone(), options).await {
        Ok(scene) => scene,
        Err(e @ SceneError::NoAdapter { .. })
            if !ci_requires_adapter(std::env::var("CI").ok().as_deref()) =>
        {
            // Straight to the process's stderr: the test harness captures `eprintln!` of
            // passing tests, and this must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n**** NOT RUN: this wgpu test needs a Vulkan adapter and found none ****\n\
                 {e}\n\
                 **** (with CI=true this fails instead) ****\n"
            );
            return None;
        }
        Err(e) => panic!("the scene cannot render: {e}"),
    };
    eprintln!("adapter: {}", scene.adapter());
    Some((display, scene))
}

/// A viewer with these capabilities, past `Hello`.
pub async fn viewer(display: &Display, caps: &[&str]) -> TestClient {
    TestClient::connect_with(&display.ws_url(), hello(caps))
        .await
        .unwrap()
}

/// Receives, acknowledges and decodes frames (H.264 state kept across frames).
pub struct Receiver {
    client: TestClient,
    h264: Option<H264Decoder>,
}

impl Receiver {
    /// Wraps a connected viewer.
    pub fn new(client: TestClient) -> Receiver {
        Receiver { client, h264: None }
    }

    /// The viewer, to send input with.
    pub fn client(&mut self) -> &mut TestClient {
        &mut self.client
    }

    /// The next decoded picture and the frame it came from (frames that produce no picture
    /// yet are acknowledged and skipped). Fails the test after 20 s.
    pub async fn next(&mut self) -> (ReceivedFrame, DecodedFrame) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let frame = tokio::time::timeout_at(deadline, self.client.next_frame())
                .await
                .expect("a decodable frame within 20 s")
                .unwrap();
            self.client.ack(frame.header.seq, 0).await.unwrap();
            let decoded = match frame.config.transport {
                Transport::Video(_) => {
                    let yuv = frame
                        .config
                        .yuv
                        .expect("a video Config has its YUV encoding");
                    self.h264
                        .get_or_insert_with(|| H264Decoder::new().unwrap())
                        .decode(&frame.payload, yuv)
                        .unwrap()
                }
                Transport::Image(_) => Some(decode_image(&frame.payload).unwrap()),
            };
            if let Some(decoded) = decoded {
                assert_eq!((decoded.width, decoded.height), (WIDTH, HEIGHT));
                return (frame, decoded);
            }
        }
    }
}

/// Renders `view` on a second device, as RGB8: what frame `view.frame` must look like.
pub async fn reference(view: SceneView) -> Vec<u8> {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Handle::current();
        let mut renderer = runtime.block_on(Renderer::new(WIDTH, HEIGHT)).unwrap();
        rgb(&renderer.render(&view).unwrap())
    })
    .await
    .unwrap()
}

/// RGBA8 -> RGB8.
pub fn rgb(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect()
}

/// A linear channel to an sRGB byte (the standard curve; independent of the crate's own
/// conversion, which goes the other way).
pub fn linear_to_srgb(linear: f64) -> u8 {
    let encoded = if linear <= 0.003_130_8 {
        linear * 12.92
    } else {
        1.055 * linear.powf(1.0 / 2.4) - 0.055
    };
    (encoded * 255.0).round().clamp(0.0, 255.0) as u8
}

/// Variance of the per-pixel luma (0..255 scale): near 0 for a blank frame.
pub fn luma_variance(rgb: &[u8]) -> f64 {
    let luma: Vec<f64> = rgb
        .chunks_exact(3)
        .map(|p| 0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2]))
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64
}

/// Mean absolute difference per sample of two RGB8 pictures of one size.
pub fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}
