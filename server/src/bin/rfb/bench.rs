//! `rfb bench`: encoder speed, size and fidelity on a deterministic pattern.
//!
//! # What is measured
//! For every size and every configuration (one per `--h264-bitrate`, one per
//! `--jpeg-quality`, plus PNG and WebP when asked) a fresh encoder from the default
//! [`EncoderRegistry`] encodes `--frames` frames `seq = 0, 1, ...` of the pattern as RGB8,
//! forcing a keyframe on frame 0 only (H.264 then also gets its periodic IDR every
//! [`EncoderSpec::new`]'s `keyframe_interval` frames, as a session would).
//!
//! - **enc ms / p95 ms**: wall time of [`Encoder::encode`] per frame, mean and 95th
//!   percentile. It includes everything a session pays per frame (for H.264 the RGB -> I420
//!   conversion) and excludes rendering the pattern and the checking below.
//! - **KB/frame**: mean payload bytes per frame / 1000. **Mbps**: that mean x 8 x `--fps`.
//! - **PSNR**: every payload is decoded back as a viewer would (H.264 with openh264's
//!   decoder and [`i420_to_rgb8`] with the encoding the encoder reports; JPEG with
//!   libjpeg-turbo; PNG and WebP with the `image` crate) and compared with the source RGB
//!   over all R, G and B samples: `10 log10(255^2 / MSE)`. The column is the mean of the
//!   per-frame PSNRs; identical frames (MSE = 0) count as [`PSNR_CAP`] dB, so lossless
//!   formats read 99.
//! - Both lossy paths subsample chroma 4:2:0 by averaging 2x2 blocks, and both are decoded
//!   here by replicating each chroma sample over its block (the exact inverse of the
//!   averaging), so H.264 and JPEG rows compare. A browser interpolates chroma instead
//!   (bilinear on the GPU; libjpeg-turbo's default "fancy" upsampling), which blurs hard
//!   colour edges: on the gradient pattern, whose ramp wraps from 255 to 0 every 256
//!   pixels, interpolated chroma reads about 27 dB for H.264 at 8M and 34 dB for JPEG q80,
//!   whatever the bitrate. Those losses belong to 4:2:0, not to the encoder settings.
//!
//! H.264 configurations: one per `--h264-bitrate`, each once per `--content` (the
//! content's preset tuning, [`H264Tuning::for_content`]) or, with `--tuning`, once per
//! explicit `usage/effort/slices`, and once per `--layers` (temporal layers). The
//! **start ms** column is the encoder's build plus its first encode: with two temporal
//! layers or more than one slice the build primes openh264 with a flat picture first.
//!
//! Patterns: the protocol's deterministic patterns, plus `camera` (this crate's
//! [`crate::camera`]: a panning textured scene with sensor noise in every sample).
//!
//! The measurements that chose the encoder settings are in the docs of
//! `encode/h264.rs`' `config()` and `encode/image.rs`.

use std::fmt;
use std::time::Instant;

use anyhow::{bail, ensure, Context as _};
use rfb_protocol::{ImageFormat, Pattern, Transport, VideoCodec, YuvEncoding};
use serde::Serialize;

use rfb::decode::H264Decoder;
use rfb::encode::{Content, Encoder, EncoderRegistry, EncoderSpec, H264Tuning};
use rfb::frame::Frame;

/// The PSNR given to a frame that decodes to exactly its source.
pub const PSNR_CAP: f64 = 99.0;

/// Flags of `rfb bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Pattern to encode (test_card, gradient, bouncing_box, counter, checkerboard, solid,
    /// or camera: panning texture with sensor noise).
    #[arg(long, default_value = "gradient", value_parser = parse_bench_pattern)]
    pub pattern: BenchPattern,
    /// Frames per configuration.
    #[arg(long, default_value_t = 120)]
    pub frames: u32,
    /// Frame rate: H.264 rate control target and the Mbps column.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f32,
    /// Frame sizes, WIDTHxHEIGHT, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1280x720,1920x1080", value_parser = parse_size)]
    pub sizes: Vec<(u32, u32)>,
    /// H.264 bitrates (`8M`, `500k`, `2000000`), comma separated; one configuration each.
    #[arg(long = "h264-bitrate", value_delimiter = ',', default_value = "2M,8M", value_parser = parse_bitrate)]
    pub h264_bitrate: Vec<u32>,
    /// JPEG qualities 1..=100, comma separated; one configuration each.
    #[arg(long, value_delimiter = ',', default_value = "50,80", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub jpeg_quality: Vec<u8>,
    /// Also benchmark lossless PNG.
    #[arg(long)]
    pub png: bool,
    /// Also benchmark lossless WebP.
    #[arg(long)]
    pub webp: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// H.264 encoder threads (0 = let openh264 decide).
    #[arg(long, default_value_t = 1)]
    pub threads: u16,
    /// H.264 content presets (rendered, screen, camera), comma separated; one
    /// configuration each.
    #[arg(long, value_delimiter = ',', default_value = "rendered", value_parser = parse_content)]
    pub content: Vec<Content>,
    /// Explicit H.264 tunings USAGE/EFFORT/SLICES (e.g. `camera/low/1,screen/medium/2`),
    /// comma separated, instead of --content's presets; one configuration each.
    #[arg(long, value_delimiter = ',')]
    pub tuning: Vec<H264Tuning>,
    /// H.264 temporal layers (1 or 2), comma separated; one configuration each.
    #[arg(long, value_delimiter = ',', default_value = "1", value_parser = clap::value_parser!(u8).range(1..=2))]
    pub layers: Vec<u8>,
}

/// What `rfb bench` encodes: a protocol pattern, or the bench's own camera-like one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchPattern {
    /// One of [`Pattern::ALL`].
    Protocol(Pattern),
    /// [`crate::camera`].
    Camera,
}

impl BenchPattern {
    /// Renders frame `seq` as RGB8 rows.
    pub fn render(self, seq: u64, width: u32, height: u32) -> Vec<u8> {
        match self {
            BenchPattern::Protocol(p) => p.render(seq, width, height),
            BenchPattern::Camera => {
                let mut rgb = vec![0u8; width as usize * height as usize * 3];
                crate::camera::render_into(seq, width, height, &mut rgb);
                rgb
            }
        }
    }
}

/// Parses a bench pattern: a protocol pattern's name or `camera`.
pub fn parse_bench_pattern(name: &str) -> Result<BenchPattern, String> {
    if name == "camera" {
        return Ok(BenchPattern::Camera);
    }
    parse_pattern(name)
        .map(BenchPattern::Protocol)
        .map_err(|e| format!("{e}, camera"))
}

/// Parses a content kind (a clap `value_parser`, shared with `rfb serve`).
pub fn parse_content(name: &str) -> Result<Content, String> {
    Content::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Content::ALL.iter().map(|c| c.name()).collect();
        format!("unknown content {name:?}; one of {}", names.join(", "))
    })
}

/// Parses a pattern name (a clap `value_parser`, shared with `rfb serve`).
pub fn parse_pattern(name: &str) -> Result<Pattern, String> {
    Pattern::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Pattern::ALL.iter().map(|p| p.name()).collect();
        format!("unknown pattern {name:?}; one of {}", names.join(", "))
    })
}

/// Parses `WIDTHxHEIGHT` with non-zero sides (a clap `value_parser`, shared with `rfb serve`).
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected WIDTHxHEIGHT such as 1280x720, got {text:?}");
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h) = (
        w.parse::<u32>().map_err(|_| bad())?,
        h.parse::<u32>().map_err(|_| bad())?,
    );
    if w == 0 || h == 0 {
        return Err(bad());
    }
    Ok((w, h))
}

/// Parses a bitrate in bits per second: `8M`, `1.5M`, `500k` or plain digits (a clap
/// `value_parser`, shared with `rfb serve`).
pub fn parse_bitrate(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let (digits, scale) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1e3),
        Some((i, 'm' | 'M')) => (&text[..i], 1e6),
        _ => (text, 1.0),
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("expected a bitrate such as 8M, got {text:?}"))?;
    let bps = (value * scale).round();
    if !(1.0..=f64::from(u32::MAX)).contains(&bps) {
        return Err(format!("bitrate {text:?} is out of range"));
    }
    Ok(bps as u32)
}

/// One line of the bench's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchRow {
    /// The configuration, e.g. `h264 8M`, `jpeg q80`, `png`.
    pub config: String,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames encoded.
    pub frames: u32,
    /// Mean encode wall time per frame in milliseconds (RGB -> YUV included).
    pub enc_ms: f64,
    /// 95th percentile of the encode time in milliseconds.
    pub p95_ms: f64,
    /// Mean payload size per frame in kilobytes (1000 bytes).
    pub kb_per_frame: f64,
    /// Mean bitrate at the bench's fps in megabits (10^6 bits) per second.
    pub mbps: f64,
    /// Mean per-frame PSNR over RGB in dB, capped at [`PSNR_CAP`].
    pub psnr_db: f64,
    /// The encoder's codec string (`avc1.PPCCLL` or the image MIME type).
    pub codec: String,
    /// Milliseconds to build the encoder and encode the first frame.
    pub start_ms: f64,
}

impl BenchRow {
    /// The column titles, aligned with [`BenchRow`]'s `Display`.
    pub fn header() -> String {
        format!(
            "{:<28} {:>9} {:>7} {:>7} {:>9} {:>7} {:>7} {:>8}  {}",
            "config",
            "size",
            "enc ms",
            "p95 ms",
            "KB/frame",
            "Mbps",
            "PSNR dB",
            "start ms",
            "codec"
        )
    }
}

impl fmt::Display for BenchRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<28} {:>9} {:>7.2} {:>7.2} {:>9.1} {:>7.2} {:>7.2} {:>8.1}  {}",
            self.config,
            format!("{}x{}", self.width, self.height),
            self.enc_ms,
            self.p95_ms,
            self.kb_per_frame,
            self.mbps,
            self.psnr_db,
            self.start_ms,
            self.codec
        )
    }
}

/// The rows as a table with a header line.
pub fn format_table(rows: &[BenchRow]) -> String {
    let mut out = BenchRow::header();
    for row in rows {
        out.push('\n');
        out.push_str(&row.to_string());
    }
    out.push('\n');
    out
}

/// The rows as pretty JSON (an array of objects with [`BenchRow`]'s field names).
pub fn to_json(rows: &[BenchRow]) -> serde_json::Result<String> {
    serde_json::to_string_pretty(rows)
}

/// The output `rfb bench` prints: JSON with `--json`, else the table.
pub fn render(args: &BenchArgs, rows: &[BenchRow]) -> anyhow::Result<String> {
    Ok(if args.json {
        to_json(rows)? + "\n"
    } else {
        format_table(rows)
    })
}

/// PSNR in dB between two equally long sample buffers; [`PSNR_CAP`] when identical.
pub fn psnr(reference: &[u8], decoded: &[u8]) -> f64 {
    if reference.len() != decoded.len() || reference.is_empty() {
        return 0.0;
    }
    let sse: u64 = reference
        .iter()
        .zip(decoded)
        .map(|(&a, &b)| u64::from(a.abs_diff(b)).pow(2))
        .sum();
    if sse == 0 {
        return PSNR_CAP;
    }
    let mse = sse as f64 / reference.len() as f64;
    (10.0 * (255.0f64 * 255.0 / mse).log10()).min(PSNR_CAP)
}

/// Turns payloads back into RGB8 the way a viewer would.
enum Checker {
    /// The native viewer's decoder ([`H264Decoder`]: openh264 and the inverse of the
    /// encoder's YUV conversion; boxed: with `openh264-libloading` it is a large value).
    H264 {
        decoder: Box<H264Decoder>,
        yuv: YuvEncoding,
    },
    /// libjpeg-turbo with sample-replicating chroma upsampling (the `image` crate is built
    /// without a JPEG decoder).
    Jpeg {
        decompressor: turbojpeg::Decompressor,
        rgb: Vec<u8>,
    },
    /// The `image` crate (PNG, WebP).
    Image,
}

impl Checker {
    fn new(encoder: &dyn Encoder) -> anyhow::Result<Checker> {
        Ok(match (encoder.transport(), encoder.yuv_encoding()) {
            (Transport::Video(_), Some(yuv)) => {
                let decoder = Box::new(H264Decoder::new().context("creating the H.264 decoder")?);
                Checker::H264 { decoder, yuv }
            }
            (Transport::Video(_), None) => bail!("a video encoder must report its YUV encoding"),
            (Transport::Image(ImageFormat::Jpeg), _) => {
                let mut decompressor =
                    turbojpeg::Decompressor::new().context("creating the JPEG decoder")?;
                // Replicate chroma like `i420_to_rgb8` does, so JPEG and H.264 compare.
                decompressor.set_fast_upsample(true)?;
                Checker::Jpeg {
                    decompressor,
                    rgb: Vec::new(),
                }
            }
            (Transport::Image(_), _) => Checker::Image,
        })
    }

    /// PSNR of `payload` against `source` (RGB8).
    fn psnr(&mut self, payload: &[u8], source: &[u8]) -> anyhow::Result<f64> {
        match self {
            Checker::H264 { decoder, yuv } => {
                let Some(picture) = decoder.decode(payload, *yuv).context("decoding H.264")? else {
                    bail!("the decoder returned no picture for an access unit");
                };
                ensure!(
                    picture.rgb.len() == source.len(),
                    "decoded {}x{}, which is not the source size",
                    picture.width,
                    picture.height
                );
                Ok(psnr(source, &picture.rgb))
            }
            Checker::Jpeg { decompressor, rgb } => {
                let header = decompressor
                    .read_header(payload)
                    .context("reading the JPEG header")?;
                ensure!(
                    header.width * header.height * 3 == source.len(),
                    "decoded JPEG has the wrong size"
                );
                rgb.resize(source.len(), 0);
                let image = turbojpeg::Image {
                    pixels: rgb.as_mut_slice(),
                    width: header.width,
                    pitch: header.width * 3,
                    height: header.height,
                    format: turbojpeg::PixelFormat::RGB,
                };
                decompressor
                    .decompress(payload, image)
                    .context("decoding JPEG")?;
                Ok(psnr(source, rgb))
            }
            Checker::Image => {
                let decoded = image::load_from_memory(payload)
                    .context("decoding the image")?
                    .to_rgb8();
                ensure!(
                    decoded.as_raw().len() == source.len(),
                    "decoded image has the wrong size"
                );
                Ok(psnr(source, decoded.as_raw()))
            }
        }
    }
}

/// One configuration to measure.
#[derive(Debug, Clone)]
struct Config {
    label: String,
    transport: Transport,
    bitrate_bps: u32,
    jpeg_quality: u8,
    content: Content,
    tuning: Option<H264Tuning>,
    layers: u8,
}

impl Config {
    fn image(label: &str, format: ImageFormat, jpeg_quality: u8) -> Config {
        Config {
            label: label.to_string(),
            transport: Transport::Image(format),
            bitrate_bps: 0,
            jpeg_quality,
            content: Content::Rendered,
            tuning: None,
            layers: 1,
        }
    }
}

/// The configurations `args` asks for (see the module docs).
fn configs(args: &BenchArgs) -> Vec<Config> {
    let mut out = Vec::new();
    // Explicit tunings replace the content presets.
    let tunings: Vec<(String, Content, Option<H264Tuning>)> = if args.tuning.is_empty() {
        args.content
            .iter()
            .map(|&c| (c.name().to_string(), c, None))
            .collect()
    } else {
        args.tuning
            .iter()
            .map(|&t| (t.to_string(), Content::Rendered, Some(t)))
            .collect()
    };
    for &bps in &args.h264_bitrate {
        for (name, content, tuning) in &tunings {
            for &layers in &args.layers {
                out.push(Config {
                    label: format!("h264 {} {name} L{layers}", bitrate_label(bps)),
                    transport: Transport::Video(VideoCodec::H264AnnexB),
                    bitrate_bps: bps,
                    jpeg_quality: 80,
                    content: *content,
                    tuning: *tuning,
                    layers,
                });
            }
        }
    }
    for &q in &args.jpeg_quality {
        out.push(Config::image(&format!("jpeg q{q}"), ImageFormat::Jpeg, q));
    }
    if args.png {
        out.push(Config::image("png", ImageFormat::Png, 80));
    }
    if args.webp {
        out.push(Config::image("webp", ImageFormat::Webp, 80));
    }
    out
}

fn bitrate_label(bps: u32) -> String {
    match bps {
        b if b % 1_000_000 == 0 => format!("{}M", b / 1_000_000),
        b if b % 1_000 == 0 => format!("{}k", b / 1_000),
        b => b.to_string(),
    }
}

/// Runs every configuration at every size and returns one row each.
pub fn run(args: &BenchArgs) -> anyhow::Result<Vec<BenchRow>> {
    ensure!(args.frames > 0, "--frames must be at least 1");
    ensure!(
        args.fps.is_finite() && args.fps > 0.0,
        "--fps must be positive"
    );
    let registry = EncoderRegistry::default();
    let mut rows = Vec::new();
    for &(width, height) in &args.sizes {
        for config in configs(args) {
            let spec = EncoderSpec {
                fps: args.fps,
                bitrate_bps: config.bitrate_bps.max(1),
                jpeg_quality: config.jpeg_quality,
                threads: args.threads,
                content: config.content,
                tuning: config.tuning,
                temporal_layers: config.layers,
                ..EncoderSpec::new(config.transport, width, height)
            };
            let label = config.label;
            let row = run_one(&registry, &spec, args, label.clone())
                .with_context(|| format!("{label} at {width}x{height}"))?;
            rows.push(row);
        }
    }
    Ok(rows)
}

fn run_one(
    registry: &EncoderRegistry,
    spec: &EncoderSpec,
    args: &BenchArgs,
    config: String,
) -> anyhow::Result<BenchRow> {
    let (width, height) = (spec.width, spec.height);
    let first = Frame::rgb(width, height, args.pattern.render(0, width, height))?;
    let built_at = Instant::now();
    let mut encoder = registry.build(spec)?;
    let build_ms = built_at.elapsed().as_secs_f64() * 1e3;
    let mut checker = Checker::new(encoder.as_ref())?;
    let mut times_ms = Vec::with_capacity(args.frames as usize);
    let (mut bytes, mut psnr_sum) = (0u64, 0.0);
    for seq in 0..u64::from(args.frames) {
        let frame = if seq == 0 {
            first.clone()
        } else {
            Frame::rgb(width, height, args.pattern.render(seq, width, height))?
        };
        let start = Instant::now();
        let payloads = encoder.encode(&frame, seq == 0)?;
        times_ms.push(start.elapsed().as_secs_f64() * 1e3);
        let [payload] = payloads.as_slice() else {
            bail!(
                "frame {seq} gave {} payloads instead of one",
                payloads.len()
            );
        };
        bytes += payload.data.len() as u64;
        psnr_sum += checker.psnr(&payload.data, frame.data())?;
    }
    let n = f64::from(args.frames);
    let start_ms = build_ms + times_ms[0];
    times_ms.sort_by(f64::total_cmp);
    let p95_index = ((times_ms.len() as f64 * 0.95).ceil() as usize).clamp(1, times_ms.len()) - 1;
    let bytes_per_frame = bytes as f64 / n;
    Ok(BenchRow {
        config,
        width,
        height,
        frames: args.frames,
        enc_ms: times_ms.iter().sum::<f64>() / n,
        p95_ms: times_ms[p95_index],
        kb_per_frame: bytes_per_frame / 1e3,
        mbps: bytes_per_frame * 8.0 * f64::from(args.fps) / 1e6,
        psnr_db: psnr_sum / n,
        codec: encoder.codec_string(),
        start_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map(|c| c.bench)
    }

    #[test]
    fn flags_parse_with_defaults() {
        let a = parse(&[]).expect("defaults");
        assert_eq!(
            (a.pattern, a.frames, a.fps),
            (BenchPattern::Protocol(Pattern::Gradient), 120, 30.0)
        );
        assert_eq!((a.content, a.layers), (vec![Content::Rendered], vec![1]));
        assert!(a.tuning.is_empty());
        assert_eq!(a.sizes, vec![(1280, 720), (1920, 1080)]);
        assert_eq!(
            (a.h264_bitrate, a.jpeg_quality),
            (vec![2_000_000, 8_000_000], vec![50, 80])
        );
        let a = parse(&[
            "--pattern",
            "test_card",
            "--sizes",
            "64x48",
            "--h264-bitrate",
            "500k,1.5M",
            "--png",
            "--json",
        ])
        .expect("flags");
        assert_eq!(
            (a.pattern, a.sizes, a.h264_bitrate),
            (
                BenchPattern::Protocol(Pattern::TestCard),
                vec![(64, 48)],
                vec![500_000, 1_500_000]
            )
        );
        assert!(a.png && a.json && !a.webp);
        let a = parse(&[
            "--pattern",
            "camera",
            "--content",
            "screen,camera",
            "--tuning",
            "screen/medium/2",
            "--layers",
            "1,2",
        ])
        .expect("flags");
        assert_eq!(a.pattern, BenchPattern::Camera);
        assert_eq!(a.content, vec![Content::Screen, Content::Camera]);
        assert_eq!(a.tuning.len(), 1);
        assert_eq!(a.tuning[0].to_string(), "screen/medium/2");
        assert_eq!(a.layers, vec![1, 2]);
        for bad in [
            &["--sizes", "64"][..],
            &["--sizes", "0x4"],
            &["--pattern", "nope"],
            &["--h264-bitrate", "x"],
            &["--jpeg-quality", "0"],
            &["--content", "video"],
            &["--tuning", "camera/low"],
            &["--layers", "3"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn psnr_is_capped_and_follows_the_formula() {
        assert_eq!(psnr(&[1, 2, 3], &[1, 2, 3]), PSNR_CAP);
        // MSE = 1 -> 20 log10(255) = 48.13 dB.
        let p = psnr(&[10; 30], &[11; 30]);
        assert!((p - 48.13).abs() < 0.01, "{p}");
        assert_eq!(psnr(&[1], &[1, 2]), 0.0, "mismatched lengths");
    }

    #[test]
    fn small_run_measures_every_configuration() {
        let args = parse(&[
            "--pattern",
            "test_card",
            "--frames",
            "6",
            "--sizes",
            "96x64",
            "--h264-bitrate",
            "1M",
            "--jpeg-quality",
            "90",
            "--png",
            "--webp",
        ])
        .expect("flags");
        let rows = run(&args).expect("bench");
        let configs: Vec<_> = rows.iter().map(|r| r.config.as_str()).collect();
        assert_eq!(configs, ["h264 1M rendered L1", "jpeg q90", "png", "webp"]);
        for row in &rows {
            assert!(
                row.enc_ms > 0.0 && row.p95_ms > 0.0 && row.kb_per_frame > 0.0,
                "{row}"
            );
            assert!(row.psnr_db > 30.0, "{row}");
        }
        assert!(rows[0].codec.starts_with("avc1."), "{}", rows[0].codec);
        assert_eq!(
            (rows[2].psnr_db, rows[3].psnr_db),
            (PSNR_CAP, PSNR_CAP),
            "lossless"
        );
        let table = format_table(&rows);
        assert_eq!(table.lines().count(), 5);
        assert!(table.contains("h264 1M rendered L1") && table.contains("96x64"));
        let json: serde_json::Value =
            serde_json::from_str(&to_json(&rows).expect("json")).expect("valid json");
        assert_eq!(json[2]["config"], "png");
        assert_eq!(json[0]["width"], 96);
    }

    #[test]
    fn tunings_layers_and_the_camera_pattern_decode_back() {
        let args = parse(&[
            "--pattern",
            "camera",
            "--frames",
            "8",
            "--sizes",
            "128x96",
            "--h264-bitrate",
            "2M",
            "--tuning",
            "camera/low/1,screen/medium/2",
            "--layers",
            "1,2",
            "--jpeg-quality",
            "80",
        ])
        .expect("flags");
        let rows = run(&args).expect("bench");
        let configs: Vec<_> = rows.iter().map(|r| r.config.as_str()).collect();
        assert_eq!(
            configs,
            [
                "h264 2M camera/low/1 L1",
                "h264 2M camera/low/1 L2",
                "h264 2M screen/medium/2 L1",
                "h264 2M screen/medium/2 L2",
                "jpeg q80"
            ]
        );
        for row in &rows {
            // Every access unit decoded back (the bench fails otherwise) to a picture
            // close to its noisy source.
            assert!(row.psnr_db > 25.0 && row.start_ms > 0.0, "{row}");
        }
    }
}
