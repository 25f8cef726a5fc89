//! `rfb serve`: publish patterns at a fixed rate and serve them with the viewer page.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::bench::{parse_bitrate, parse_content, parse_pattern, parse_size};
use anyhow::Context as _;
use rfb::adaptive::AdaptiveConfig;
use rfb::{
    serve, Content, Display, Frame, FrameMeta, Mp4Layout, ResizePolicy, ServeOptions, StreamOptions,
};
use rfb_protocol::{ColorSpace, ImageFormat, Pattern, DISPLAY_P3, SRGB};

use crate::limits::{AccessArgs, LimitArgs};
use crate::relay::RelayArgs;

/// Flags of `rfb serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Pattern of the `default` stream: test_card, gradient, bouncing_box, counter,
    /// checkerboard, solid.
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
    /// Colour space every published frame is tagged with: srgb or display-p3 (a tag: the
    /// pattern's RGB values are sent as they are, declared as that space).
    #[arg(long, default_value = "srgb", value_parser = parse_color)]
    color: ColorSpace,
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
    /// What the frames show, which tunes the H.264 encoder: rendered (synthetic or 3D
    /// frames), screen (desktops, text, UI) or camera (natural video with noise).
    #[arg(long, default_value = "rendered", value_parser = parse_content)]
    content: Content,
    /// H.264 temporal layers of shared encodes: 2 lets a viewer that falls behind skip
    /// every other frame without a keyframe; 1 turns that off.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    temporal_layers: u8,
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
    /// Seconds without an ACK after which a viewer is resynced with a keyframe.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    inflight_timeout: f64,
    /// Push server stats to every viewer this often (seconds).
    #[arg(long, value_name = "SECONDS")]
    stats_interval: Option<f64>,
    /// After this many seconds without a new frame, send each viewer a still of it: a
    /// lossless PNG on the image path, a high-bitrate IDR on the video path.
    #[arg(long, value_name = "SECONDS")]
    still_after: Option<f64>,
    /// Adapt each viewer's bitrate / JPEG quality, frame rate and window to congestion.
    #[arg(long)]
    adaptive: bool,
    /// Give every viewer its own encoder instead of sharing encodes between viewers.
    #[arg(long)]
    no_shared_encoders: bool,
    /// Stop after publishing this many frames (per stream) and exit.
    #[arg(long)]
    max_frames: Option<u64>,
    /// Also record the `default` stream to this MP4 file, finalised on exit (Ctrl-C,
    /// SIGTERM, SIGHUP, --max-frames).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// MP4 layout of --record: fragmented (playable at every moment; a kill loses at most
    /// the last second) or classic (one `moov`, written on exit).
    #[arg(long, value_name = "LAYOUT", default_value = "fragmented",
          value_parser = crate::record::parse_layout)]
    record_layout: Mp4Layout,
    /// A second frame size, WIDTHxHEIGHT, to alternate with (see --resize-every).
    #[arg(long, value_parser = parse_size, requires = "resize_every")]
    alt_size: Option<(u32, u32)>,
    /// Switch between --width x --height and --alt-size every N published frames.
    #[arg(long, requires = "alt_size")]
    resize_every: Option<u64>,
    /// Also serve NAME=PATTERN:WIDTHxHEIGHT at ws://HOST:PORT/NAME (repeatable).
    #[arg(long = "stream", value_name = "NAME=PATTERN:WxH", value_parser = parse_stream)]
    streams: Vec<ExtraStream>,
    #[command(flatten)]
    access: AccessArgs,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    relay: RelayArgs,
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
    /// Answer every paste a viewer sends by offering the same text back for the viewers'
    /// clipboards (`Display::set_clipboard`): a round trip for trying and testing both
    /// directions of the clipboard.
    #[arg(long, conflicts_with = "answer_input")]
    clipboard_echo: bool,
    /// Answer input like an interactive app: before each publish the `default` stream's
    /// loop drains its events, draws a marker at the newest pointer position and marks
    /// the frame as answering them (`FrameMeta::answering`), so viewers measure input ->
    /// photon (`npm run bench:latency`, the Playwright stage test).
    #[arg(long)]
    answer_input: bool,
    /// Serve the demo page from this folder (default: the copy embedded in the binary).
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// Serve the viewer package at /pkg/ from this folder (default: the embedded copy).
    #[arg(long)]
    pkg_dir: Option<PathBuf>,
}

/// A `--stream NAME=PATTERN:WxH`.
#[derive(Debug, Clone)]
struct ExtraStream {
    name: String,
    pattern: Pattern,
    size: (u32, u32),
}

fn parse_stream(text: &str) -> Result<ExtraStream, String> {
    let (name, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected NAME=PATTERN:WxH"))?;
    let (pattern, size) = rest
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected NAME=PATTERN:WxH"))?;
    Ok(ExtraStream {
        name: name.to_string(),
        pattern: parse_pattern(pattern)?,
        size: parse_size(size)?,
    })
}

fn parse_image_format(name: &str) -> Result<ImageFormat, String> {
    ImageFormat::from_name(name)
        .ok_or_else(|| format!("unknown image format {name:?}; one of jpeg, png, webp"))
}

pub(crate) fn parse_color(name: &str) -> Result<ColorSpace, String> {
    [SRGB, DISPLAY_P3]
        .into_iter()
        .find(|c| c.canvas_color_space() == name)
        .ok_or_else(|| format!("unknown colour space {name:?}; one of srgb, display-p3"))
}

pub(crate) fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("{flag} must be a non-negative number of seconds"))
}

impl ServeArgs {
    fn stream_options(&self) -> anyhow::Result<StreamOptions> {
        let mut image_formats = vec![self.image_format];
        image_formats.extend(
            ImageFormat::ALL
                .into_iter()
                .filter(|f| *f != self.image_format),
        );
        Ok(StreamOptions {
            fps: self.fps,
            bitrate_bps: self.bitrate,
            keyframe_interval: self.keyframe_interval,
            content: self.content,
            temporal_layers: self.temporal_layers,
            max_inflight: self.max_inflight,
            inflight_timeout: seconds(self.inflight_timeout, "--inflight-timeout")?,
            stats_interval: self
                .stats_interval
                .map(|s| seconds(s, "--stats-interval"))
                .transpose()?,
            still_after: self
                .still_after
                .map(|s| seconds(s, "--still-after"))
                .transpose()?,
            adaptive: self.adaptive.then(AdaptiveConfig::default),
            share_encoders: !self.no_shared_encoders,
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
        })
    }

    fn options(&self) -> anyhow::Result<ServeOptions> {
        let defaults = ServeOptions::default();
        let mut options = ServeOptions {
            host: self.host.clone(),
            port: self.port,
            web_dir: self.web_dir.clone(),
            pkg_dir: self.pkg_dir.clone(),
            record_events: self.record_events,
            event_log: self.event_log.clone(),
            stream: self.stream_options()?,
            ..defaults
        };
        self.access.apply(&mut options);
        self.limits.apply(&mut options)?;
        options.relay = self.relay.options(format!("origin-{}", self.port))?;
        Ok(options)
    }

    /// The default stream's frame size for publish number `n` (from 1).
    fn size_at(&self, n: u64) -> (u32, u32) {
        match (self.alt_size, self.resize_every) {
            (Some(alt), Some(every)) if every > 0 && ((n - 1) / every) % 2 == 1 => alt,
            _ => (self.width, self.height),
        }
    }
}

/// Runs the server until Ctrl-C, SIGTERM, SIGHUP or `--max-frames`.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut shutdown = crate::shutdown::Shutdown::listen().context("listening for signals")?;
    anyhow::ensure!(
        args.fps > 0.0 && args.fps.is_finite(),
        "--fps must be positive"
    );
    let options = args.options()?;
    if let Some(warning) = args.access.warning(&options) {
        eprintln!("{warning}");
    }
    let video = options.stream.video_enabled();
    let display = serve(args.width, args.height, options.clone())
        .await
        .context("starting the server")?;
    let server = display.server().context("the server stopped at once")?;
    let mut extras = Vec::new();
    for extra in &args.streams {
        let (w, h) = extra.size;
        let stream = server
            .add_stream(&extra.name, w, h, options.stream.clone())
            .with_context(|| format!("adding stream {}", extra.name))?;
        extras.push((stream, extra.clone()));
    }
    // Tests parse this first line for the port.
    say(format_args!("rfb listening on {}", display.url()));
    say(format_args!(
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
    ));
    for (stream, extra) in &extras {
        say(format_args!(
            "stream {} ({} {}x{}) at {}",
            extra.name,
            extra.pattern.name(),
            extra.size.0,
            extra.size.1,
            stream.ws_url()
        ));
    }
    std::io::stdout().flush().ok();
    let recorder = crate::record::start(
        &display,
        args.record.as_deref(),
        args.fps,
        args.record_layout,
    )?;

    let (fps, max, color) = (args.fps, args.max_frames, args.color);
    let mut loops = tokio::task::JoinSet::new();
    for (stream, extra) in extras {
        loops.spawn(async move {
            publish_loop(&stream, extra.pattern, fps, color, max, false, move |_| {
                extra.size
            })
            .await
        });
    }
    if args.clipboard_echo {
        let display = display.clone();
        loops.spawn(async move {
            while let Some(event) = display.next_event().await {
                if let rfb::DisplayEvent::Input(input) = event {
                    if let rfb_protocol::InputEvent::Paste(paste) = &input.event {
                        display.set_clipboard(&paste.text);
                    }
                }
            }
            Ok(())
        });
    }
    {
        let display = display.clone();
        let (pattern, answer) = (args.pattern, args.answer_input);
        loops.spawn(async move {
            publish_loop(&display, pattern, fps, color, max, answer, move |n| {
                args.size_at(n)
            })
            .await
        });
    }
    tokio::select! {
        Some(result) = loops.join_next() => result.context("a publish loop panicked")??,
        signal = shutdown.recv() => eprintln!("{signal}: stopping"),
    }
    loops.abort_all();
    crate::record::finish(recorder).await?;
    display.close().await;
    Ok(())
}

/// Publishes `pattern` at `fps`, tagged `color`. Publish number `n` (from 1) gets publish
/// counter `n` because this loop is the display's only publisher, and shows pattern seq
/// `n`, so a viewer can compute the expected pixels from the `frame_seq` it received. Under
/// match-client the viewers' target size (and pixel ratio) wins over `size_at`. Patterns
/// are rendered on the blocking pool; a frame `publish` refuses is logged and skipped
/// (nothing a viewer sends can stop the loop), and only a closed display ends it. With
/// `answer_input`, each frame reflects the input drained before it (a marker at the
/// newest pointer position) and says so (`FrameMeta::answering`).
#[allow(clippy::too_many_arguments)] // one call per stream; a struct would only rename them
async fn publish_loop(
    display: &Display,
    pattern: Pattern,
    fps: f32,
    color: ColorSpace,
    max_frames: Option<u64>,
    answer_input: bool,
    size_at: impl Fn(u64) -> (u32, u32),
) -> anyhow::Result<()> {
    let mut pointer: Option<(f32, f32)> = None;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(fps)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    for n in 1.. {
        if max_frames.is_some_and(|max| n > max) {
            return Ok(());
        }
        ticker.tick().await;
        let ((w, h), pixel_ratio) = match display.target() {
            Some(target) => ((target.width, target.height), target.ratio),
            None => (size_at(n), 1.0),
        };
        let events = if answer_input {
            display.poll_events()
        } else {
            Vec::new()
        };
        pointer = newest_pointer(&events).or(pointer);
        let marker = pointer;
        let pixels = tokio::task::spawn_blocking(move || {
            let mut pixels = pattern.render(n, w, h);
            if let Some((x, y)) = marker {
                draw_marker(&mut pixels, w, h, x, y);
            }
            pixels
        })
        .await
        .context("rendering the pattern")?;
        let meta = FrameMeta {
            pixel_ratio,
            color,
            ..FrameMeta::answering(&events)
        };
        let published =
            Frame::rgb(w, h, pixels).and_then(|frame| display.publish_with(frame, meta));
        match published {
            Ok(_) => {}
            Err(rfb::FrameError::Closed) => return Ok(()),
            Err(err) => tracing::warn!("frame {n} ({w}x{h}) not published: {err}"),
        }
    }
    Ok(())
}

/// The position of the newest pointer event among `events`, in frame pixels.
fn newest_pointer(events: &[rfb::DisplayEvent]) -> Option<(f32, f32)> {
    use rfb_protocol::InputEvent as E;
    events.iter().rev().find_map(|e| match &e.input()?.event {
        E::PointerMove(p) | E::PointerDown(p) | E::PointerUp(p) => Some((p.x, p.y)),
        E::Wheel(w) => Some((w.x, w.y)),
        _ => None,
    })
}

/// Side of the `--answer-input` marker, in pixels.
const MARKER: u32 = 12;

/// Paints a magenta square of [`MARKER`] pixels centred on `(x, y)` into RGB8 `pixels`
/// (`width` x `height`), clipped to the frame.
fn draw_marker(pixels: &mut [u8], width: u32, height: u32, x: f32, y: f32) {
    let half = (MARKER / 2) as f32;
    let x0 = (x - half).max(0.0) as u32;
    let y0 = (y - half).max(0.0) as u32;
    for py in y0..(y0 + MARKER).min(height) {
        for px in x0..(x0 + MARKER).min(width) {
            let i = (py as usize * width as usize + px as usize) * 3;
            if let Some(rgb) = pixels.get_mut(i..i + 3) {
                rgb.copy_from_slice(&[255, 0, 255]);
            }
        }
    }
}

/// Prints a status line. A closed stdout (a reader that took the first line and left,
/// `rfb serve | head -1`) must not stop a server: `println!` would panic on the broken pipe.
fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied())).map(|c| c.serve)
    }

    #[test]
    fn content_and_temporal_layers_reach_the_stream_options() {
        let defaults = parse(&[])
            .expect("defaults")
            .stream_options()
            .expect("options");
        assert_eq!(defaults.content, Content::Rendered);
        assert_eq!(defaults.temporal_layers, 2);
        for (flag, content) in [
            ("rendered", Content::Rendered),
            ("screen", Content::Screen),
            ("camera", Content::Camera),
        ] {
            let options = parse(&["--content", flag, "--temporal-layers", "1"])
                .expect(flag)
                .stream_options()
                .expect("options");
            assert_eq!((options.content, options.temporal_layers), (content, 1));
        }
        for bad in [
            &["--content", "video"][..],
            &["--content", "Screen"],
            &["--temporal-layers", "0"],
            &["--temporal-layers", "3"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_marker_is_centred_and_clipped_to_the_frame() {
        let (w, h) = (20u32, 10u32);
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        // Centred on the bottom-right pixel: x 13..20, y 3..10 remain, 7 x 7 pixels.
        draw_marker(&mut pixels, w, h, 19.0, 9.0);
        let magenta = pixels
            .chunks_exact(3)
            .filter(|p| *p == [255, 0, 255])
            .count();
        assert_eq!(magenta, 49);
        let at = |x: u32, y: u32| &pixels[((y * w + x) * 3) as usize..][..3];
        assert_eq!(at(19, 9), [255, 0, 255]);
        assert_eq!(at(13, 3), [255, 0, 255]);
        assert_eq!(at(12, 3), [0, 0, 0]);
        assert_eq!(at(0, 0), [0, 0, 0]);
    }

    #[test]
    fn the_newest_pointer_position_wins() {
        use rfb_protocol::input::{Buttons, Modifiers, PointerInput, PointerKind};
        let moved = |x: f32| {
            rfb::DisplayEvent::Input(rfb::InputEvent {
                client_id: 1,
                principal: None,
                event: rfb_protocol::InputEvent::PointerMove(PointerInput {
                    x,
                    y: 2.0,
                    inside: true,
                    pixel_ratio: 1.0,
                    button: 0,
                    buttons: Buttons(0),
                    modifiers: Modifiers(0),
                    pointer_type: PointerKind::Mouse,
                    pointer_id: 1,
                    timestamp: 0.0,
                    pressure: 0.0,
                    tilt_x: 0.0,
                    tilt_y: 0.0,
                    twist: 0.0,
                }),
                received_us: 0,
                input_id: Some(1),
            })
        };
        assert_eq!(newest_pointer(&[moved(1.0), moved(5.0)]), Some((5.0, 2.0)));
        assert_eq!(newest_pointer(&[]), None);
    }
}
