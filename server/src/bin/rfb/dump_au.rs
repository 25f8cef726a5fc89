//! `rfb dump-au`: record the exact H.264 access units rfb sends for a configuration, for
//! the floor benchmark (`npm run bench:floor`), which plays them on a bare page with no rfb
//! code.
//!
//! # What is recorded
//! A stream with `rfb serve`'s defaults (the [`StreamOptions`] defaults: 8 Mbit/s, an IDR
//! every 240 frames, one encoder thread), `--bitrate` and `--keyframe-interval` overriding
//! them, publishes `--frames` frames of `--pattern`: publish number `n` (from 1) shows
//! pattern seq `n`, as in `rfb serve`. Each frame is encoded the way a shared lane encodes
//! it: an [`EncoderSlot`] from the stream's registry, reconfigured before each frame with
//! [`spec_for_frame`] (the lane's own spec, keyed by the stream's bitrate and frame rate,
//! what every viewer without `--adaptive` shares), frames paced at `--fps` so the encoder
//! runs at the rate it would behind a server. The first access unit is an IDR (the lane's
//! encoder is built for it), then periodic IDRs.
//!
//! # What is written into `--out`
//! - `au.h264`: the access units, concatenated (Annex B: also a raw H.264 file `ffprobe`
//!   and `ffplay` read).
//! - `manifest.json`: the configuration, the encoder's codec string (`avc1.PPCCLL`), the
//!   colour information a viewer configures its decoder and canvas with (WebCodecs names:
//!   `color_space` for `VideoDecoderConfig.colorSpace`, `canvas_color_space` for the 2D
//!   context), and per access unit its publish number `seq`, byte `offset` and length in
//!   `au.h264`, whether it is a keyframe and `encode_us`, the wall time of the encode call
//!   (RGB -> I420 included: the server's `encode` stage), so the encoder-alone time comes
//!   from the same run as the bytes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _};
use rfb::encode::slot::EncoderSlot;
use rfb::fanout::lane::{spec_for_frame, LaneKey};
use rfb::{Answers, Frame, PublishedFrame, StreamOptions};
use rfb_protocol::{ColorSpace, Pattern};
use serde::Serialize;

use crate::bench::{parse_bitrate, parse_pattern};
use crate::serve::parse_color;

/// Name of the access-unit file inside `--out`.
pub const AU_FILE: &str = "au.h264";
/// Name of the manifest inside `--out`.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Flags of `rfb dump-au`.
#[derive(Debug, Clone, clap::Args)]
pub struct DumpArgs {
    /// Pattern to publish (test_card, gradient, bouncing_box, counter, checkerboard, solid).
    #[arg(long, default_value = "test_card", value_parser = parse_pattern)]
    pub pattern: Pattern,
    /// Frame width in pixels (even).
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    /// Frame height in pixels (even).
    #[arg(long, default_value_t = 720)]
    pub height: u32,
    /// Frames published per second (the stream's and the lane's rate; frames are paced
    /// at it).
    #[arg(long, default_value_t = 30.0)]
    pub fps: f32,
    /// Frames to record.
    #[arg(long, default_value_t = 300)]
    pub frames: u32,
    /// H.264 target bitrate (`8M`, `500k`, `2000000`; default: `rfb serve`'s).
    #[arg(long, value_parser = parse_bitrate)]
    pub bitrate: Option<u32>,
    /// Periodic IDR interval in frames (0 = only the first; default: `rfb serve`'s).
    #[arg(long)]
    pub keyframe_interval: Option<u32>,
    /// Colour space every frame is tagged with: srgb or display-p3.
    #[arg(long, default_value = "srgb", value_parser = parse_color)]
    pub color: ColorSpace,
    /// Folder to write `au.h264` and `manifest.json` into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// `manifest.json`.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// The pattern's name.
    pub pattern: &'static str,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// The stream's frame rate.
    pub fps: f32,
    /// The lane's target bitrate.
    pub bitrate_bps: u32,
    /// The stream's periodic IDR interval in frames.
    pub keyframe_interval: u32,
    /// The encoder's name in the registry.
    pub encoder: String,
    /// The codec string of the SPS (`avc1.PPCCLL`), what `Config.codec` says.
    pub codec: String,
    /// `VideoDecoderConfig.colorSpace`, as rfb's viewer configures it.
    pub color_space: DecoderColorSpace,
    /// The 2D context's `colorSpace` the viewer draws this stream on.
    pub canvas_color_space: &'static str,
    /// The access-unit file, relative to the manifest.
    pub file: &'static str,
    /// The access units in order.
    pub units: Vec<UnitEntry>,
}

/// A `VideoColorSpaceInit` in WebCodecs' names.
#[derive(Debug, Serialize)]
pub struct DecoderColorSpace {
    /// `primaries`.
    pub primaries: &'static str,
    /// `transfer`.
    pub transfer: &'static str,
    /// `matrix`.
    pub matrix: &'static str,
    /// `fullRange`.
    pub full_range: bool,
}

/// One access unit in `au.h264`.
#[derive(Debug, Serialize)]
pub struct UnitEntry {
    /// The publish number of the frame it shows (pattern seq).
    pub seq: u64,
    /// Byte offset in the file.
    pub offset: u64,
    /// Length in bytes.
    pub bytes: u64,
    /// An IDR.
    pub keyframe: bool,
    /// Wall time of the encode call, in microseconds.
    pub encode_us: u64,
}

/// Records the access units and writes both files; returns the manifest.
pub fn run(args: &DumpArgs) -> anyhow::Result<Manifest> {
    ensure!(args.frames > 0, "--frames must be at least 1");
    ensure!(
        args.width.is_multiple_of(2) && args.height.is_multiple_of(2),
        "--width and --height must be even for H.264"
    );
    ensure!(
        args.fps.is_finite() && args.fps > 0.0,
        "--fps must be a positive number"
    );
    let defaults = StreamOptions::default();
    let options = StreamOptions {
        fps: args.fps,
        bitrate_bps: args.bitrate.unwrap_or(defaults.bitrate_bps),
        keyframe_interval: args.keyframe_interval.unwrap_or(defaults.keyframe_interval),
        ..defaults
    };
    let key = LaneKey::new(options.bitrate_bps, options.fps);
    let encoder = options
        .encoders
        .video_name()
        .context("no video encoder registered")?
        .to_string();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let period = Duration::from_secs_f64(1.0 / f64::from(args.fps));
    let start = Instant::now();
    let mut slot: Option<EncoderSlot> = None;
    let mut bytes = Vec::new();
    let mut units = Vec::with_capacity(args.frames as usize);
    let mut codec = String::new();
    let mut yuv = None;
    for n in 1..=u64::from(args.frames) {
        let due = start + period.mul_f64((n - 1) as f64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let pixels = args.pattern.render(n, args.width, args.height);
        let frame = Arc::new(PublishedFrame {
            frame: Frame::rgb(args.width, args.height, pixels)?,
            seq: n,
            timestamp_us: start.elapsed().as_micros() as u64,
            pixel_ratio: 1.0,
            color: args.color,
            answers: Answers::default(),
        });
        let spec = spec_for_frame(&options, key, &frame);
        let mut s = slot
            .take()
            .unwrap_or_else(|| EncoderSlot::new(options.encoders.clone(), spec.clone()));
        s.reconfigure(spec);
        let output = s.encode_blocking(frame, false);
        let payloads = output
            .result
            .with_context(|| format!("encoding frame {n}"))?;
        let [payload] = <[_; 1]>::try_from(payloads)
            .map_err(|p| anyhow::anyhow!("frame {n}: {} access units, expected 1", p.len()))?;
        let this_codec = output.slot.codec_string();
        if codec.is_empty() {
            codec = this_codec;
        } else if this_codec != codec {
            bail!("frame {n}: the codec string changed from {codec} to {this_codec}");
        }
        yuv = yuv.or(output.slot.yuv_encoding());
        units.push(UnitEntry {
            seq: n,
            offset: bytes.len() as u64,
            bytes: payload.data.len() as u64,
            keyframe: payload.keyframe,
            encode_us: output.encode_time.as_micros() as u64,
        });
        bytes.extend_from_slice(&payload.data);
        slot = Some(output.slot);
    }
    ensure!(
        units.first().is_some_and(|u| u.keyframe),
        "the first access unit is not an IDR"
    );
    let yuv = yuv.context("the video encoder reports no YUV encoding")?;
    let manifest = Manifest {
        pattern: args.pattern.name(),
        width: args.width,
        height: args.height,
        fps: args.fps,
        bitrate_bps: options.bitrate_bps,
        keyframe_interval: options.keyframe_interval,
        encoder,
        codec,
        color_space: DecoderColorSpace {
            primaries: args.color.primaries.webcodecs_name(),
            transfer: args.color.transfer.webcodecs_name(),
            matrix: yuv.matrix.webcodecs_name(),
            full_range: yuv.full_range,
        },
        canvas_color_space: args.color.canvas_color_space(),
        file: AU_FILE,
        units,
    };
    let au_path = args.out.join(AU_FILE);
    std::fs::write(&au_path, &bytes)
        .with_context(|| format!("cannot write {}", au_path.display()))?;
    let manifest_path = args.out.join(MANIFEST_FILE);
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    Ok(manifest)
}

/// One summary line: where the files are, how many units, keyframes, bytes and the
/// encode time's median.
pub fn summary(args: &DumpArgs, manifest: &Manifest) -> String {
    let mut encode: Vec<u64> = manifest.units.iter().map(|u| u.encode_us).collect();
    encode.sort_unstable();
    let median = encode.get(encode.len() / 2).copied().unwrap_or(0);
    let keyframes = manifest.units.iter().filter(|u| u.keyframe).count();
    let total: u64 = manifest.units.iter().map(|u| u.bytes).sum();
    format!(
        "dumped {} access units ({keyframes} keyframes, {total} bytes, {}) of {} {}x{}@{} into {}: encode p50 {:.2} ms\n",
        manifest.units.len(),
        manifest.codec,
        manifest.pattern,
        manifest.width,
        manifest.height,
        manifest.fps,
        args.out.display(),
        median as f64 / 1000.0,
    )
}
