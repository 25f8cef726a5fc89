//! `rfb serve`: publish a pattern at a fixed rate and serve it with the viewer page.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use rfb::bench::{parse_bitrate, parse_pattern, parse_size};
use rfb::{serve, Display, Frame, FrameMeta, ResizePolicy, ServeOptions, StreamOptions};
use rfb_protocol::{ImageFormat, Pattern};

/// Flags of `rfb serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Pattern to publish: test_card, gradient, bouncing_box, counter, checkerboard, solid.
    #[arg(long, default_value = "test_card", value_parser = parse_pattern)]
    pattern: Pattern,
    /// Frame width in pixels (even for H.264).
    #[arg(long, default_value_t = 1280)]
    width: u32,
    /// Frame height in pixels (even for H.264).
    #[arg(long, default_value_t = 720)]
    height: u32,
    /// Frames published per second.
    #[arg(long, default_value_t = 30.0)]
    fps: f32,
    /// Interface to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 = any free port; the URL printed at start tells which).
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// H.264 target bitrate (`8M`, `500k`, `2000000`).
    #[arg(long, default_value = "8M", value_parser = parse_bitrate)]
    bitrate: u32,
    /// Periodic H.264 IDR interval in frames (0 = only when needed).
    #[arg(long, default_value_t = 240)]
    keyframe_interval: u32,
    /// Never stream H.264; every viewer gets images.
    #[arg(long)]
    force_image: bool,
    /// Preferred image format: jpeg, png or webp (the others remain fallbacks).
    #[arg(long, default_value = "jpeg", value_parser = parse_image_format)]
    image_format: ImageFormat,
    /// JPEG quality, 1..=100.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    jpeg_quality: u8,
    /// Most un-acknowledged frames per viewer.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=64))]
    max_inflight: u8,
    /// Stop after publishing this many frames and exit.
    #[arg(long)]
    max_frames: Option<u64>,
    /// A second frame size, WIDTHxHEIGHT, to alternate with (see --resize-every).
    #[arg(long, value_parser = parse_size, requires = "resize_every")]
    alt_size: Option<(u32, u32)>,
    /// Switch between --width x --height and --alt-size every N published frames.
    #[arg(long, requires = "alt_size")]
    resize_every: Option<u64>,
    /// Keep received input events for `GET /recorded-events` (and `/recorded-events/reset`).
    #[arg(long)]
    record_events: bool,
    /// Append every received input event to FILE as a JSON line.
    #[arg(long, value_name = "FILE")]
    event_log: Option<PathBuf>,
    /// Follow the viewer's size: render the pattern at the latest viewport's physical size
    /// (debounced, even, at most --max-render-dimension).
    #[arg(long)]
    match_client: bool,
    /// Largest side --match-client renders.
    #[arg(long, default_value_t = 3840)]
    max_render_dimension: u32,
    /// Folder of the demo page (default: the checkout's `web/`).
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// Folder of the built viewer package served at /pkg/ (default: `client-wasm/pkg`).
    #[arg(long)]
    pkg_dir: Option<PathBuf>,
}

fn parse_image_format(name: &str) -> Result<ImageFormat, String> {
    ImageFormat::from_name(name)
        .ok_or_else(|| format!("unknown image format {name:?}; one of jpeg, png, webp"))
}

impl ServeArgs {
    fn options(&self) -> ServeOptions {
        let mut image_formats = vec![self.image_format];
        image_formats.extend(
            ImageFormat::ALL
                .into_iter()
                .filter(|f| *f != self.image_format),
        );
        let defaults = ServeOptions::default();
        ServeOptions {
            host: self.host.clone(),
            port: self.port,
            web_dir: self.web_dir.clone().or(defaults.web_dir.clone()),
            pkg_dir: self.pkg_dir.clone().or(defaults.pkg_dir.clone()),
            record_events: self.record_events,
            event_log: self.event_log.clone(),
            stream: StreamOptions {
                fps: self.fps,
                bitrate_bps: self.bitrate,
                keyframe_interval: self.keyframe_interval,
                max_inflight: self.max_inflight,
                force_image: self.force_image,
                image_formats,
                jpeg_quality: self.jpeg_quality,
                resize_policy: if self.match_client {
                    ResizePolicy::MatchClient
                } else {
                    ResizePolicy::Publisher
                },
                max_render_dimension: self.max_render_dimension,
                ..StreamOptions::default()
            },
            ..defaults
        }
    }

    /// The frame size for publish number `seq` (0-based).
    fn size_at(&self, seq: u64) -> (u32, u32) {
        match (self.alt_size, self.resize_every) {
            (Some(alt), Some(every)) if every > 0 && (seq / every) % 2 == 1 => alt,
            _ => (self.width, self.height),
        }
    }
}

/// Runs the server until Ctrl-C or `--max-frames`.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.fps > 0.0 && args.fps.is_finite(),
        "--fps must be positive"
    );
    let options = args.options();
    let video = options.stream.video_enabled();
    let display = serve(args.width, args.height, options.clone())
        .await
        .context("starting the server")?;
    // Tests parse this first line for the port.
    println!("rfb listening on {}", display.url());
    println!(
        "pattern {} {}x{} at {} fps; encoders: video={} image={} (preferred {})",
        args.pattern.name(),
        args.width,
        args.height,
        args.fps,
        if video {
            options.stream.encoders.video_name().unwrap_or("none")
        } else {
            "off"
        },
        options.stream.encoders.image_name().unwrap_or("none"),
        args.image_format.mime(),
    );
    std::io::stdout().flush().ok();

    let publishing = publish_loop(&display, &args);
    tokio::select! {
        result = publishing => result?,
        signal = tokio::signal::ctrl_c() => signal.context("waiting for Ctrl-C")?,
    }
    display.close().await;
    Ok(())
}

async fn publish_loop(display: &Display, args: &ServeArgs) -> anyhow::Result<()> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.fps)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // This loop is the display's only publisher, so publish number `n` (counting from 1)
    // gets the publish counter `n`, and the frame shows pattern seq `n`: a viewer can
    // compute the expected pixels from the `frame_seq` it received.
    for n in 1.. {
        if args.max_frames.is_some_and(|max| n > max) {
            return Ok(());
        }
        ticker.tick().await;
        let ((w, h), pixel_ratio) = match display.target() {
            Some(target) => ((target.width, target.height), target.ratio),
            None => (args.size_at(n - 1), 1.0),
        };
        let pixels = args.pattern.render(n, w, h);
        let meta = FrameMeta {
            pixel_ratio,
            ..FrameMeta::default()
        };
        let published = display.publish_with(Frame::rgb(w, h, pixels)?, meta)?;
        debug_assert_eq!(published, n);
    }
    Ok(())
}
