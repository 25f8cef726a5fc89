//! `rfb doctor`: what this build and this machine can do, and what a browser needs.
//! Prints the build (version, protocol, profile, whether the encoders' assembly was
//! available), each encoder with its measured time per 720p frame, where the demo page and
//! the viewer package are served from, the default limits, and the browser requirements.

use std::time::Instant;

use crate::bench::{run, BenchArgs};
use clap::Parser as _;
use rfb::limits::Limits;
use rfb::AssetFolder;

/// Flags of `rfb doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Frames encoded per encoder for the timing (a 1280x720 test card).
    #[arg(long, default_value_t = 60)]
    frames: u32,
}

/// The `rfb bench` flags for one 720p run of every encoder.
fn bench_args(frames: u32) -> anyhow::Result<BenchArgs> {
    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        bench: BenchArgs,
    }
    let frames = frames.max(2).to_string();
    let args = [
        "doctor",
        "--pattern",
        "test_card",
        "--frames",
        &frames,
        "--sizes",
        "1280x720",
        "--h264-bitrate",
        "8M",
        "--jpeg-quality",
        "80",
        "--png",
        "--webp",
    ];
    Ok(Wrapper::try_parse_from(args)?.bench)
}

fn line(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<22} {value}");
}

/// Prints the report.
pub fn main(args: DoctorArgs) -> anyhow::Result<()> {
    println!("rfb doctor");
    println!("build");
    line("rfb", env!("CARGO_PKG_VERSION"));
    line("protocol", rfb_protocol::PROTOCOL_VERSION);
    line("profile", env!("RFB_BUILD_PROFILE"));
    let nasm = env!("RFB_BUILD_NASM");
    line(
        "assembly (nasm)",
        if nasm.is_empty() {
            "NOT found at build time: openh264 and libjpeg-turbo run their C fallbacks (about 2x slower); install nasm and rebuild".to_string()
        } else {
            format!("yes ({nasm})")
        },
    );
    line(
        "openh264",
        match std::env::var_os(rfb::encode::library::LIBRARY_ENV) {
            None => "compiled from source".to_string(),
            Some(path) => match rfb::encode::library::openh264_api() {
                Ok(_) => format!("Cisco's library, {}", path.to_string_lossy()),
                Err(e) => format!("UNUSABLE: {e}"),
            },
        },
    );
    println!("machine");
    line(
        "cores",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    println!("encoders (1280x720 test card, one thread, mean per frame)");
    let started = Instant::now();
    let rows = run(&bench_args(args.frames)?)?;
    for row in &rows {
        let name = match row.config.split(' ').next().unwrap_or_default() {
            "h264" => "H.264 (openh264)",
            "jpeg" => "JPEG (libjpeg-turbo)",
            "png" => "PNG (image)",
            "webp" => "WebP lossless (image)",
            other => other,
        };
        line(
            name,
            format!(
                "{:.2} ms, p95 {:.2} ms, {:.1} KB/frame{}",
                row.enc_ms,
                row.p95_ms,
                row.kb_per_frame,
                if row.codec.is_empty() {
                    String::new()
                } else {
                    format!(", {}", row.codec)
                }
            ),
        );
    }
    line(
        "measured in",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    );
    println!("assets (rfb serve without --web-dir / --pkg-dir)");
    let shown = |folder: AssetFolder, entry: &str| {
        let files = folder.files();
        let bytes: usize = files.iter().map(|f| f.bytes.len()).sum();
        match folder.get(entry) {
            Some(_) => format!("embedded: {} files, {:.1} KiB", files.len(), bytes as f64 / 1024.0),
            None => format!("not embedded ({entry} missing at build time): pass the folder, or build the viewer and rebuild rfb"),
        }
    };
    line(
        "demo page (--web-dir)",
        shown(AssetFolder::Web, "index.html"),
    );
    line(
        "viewer package (--pkg-dir)",
        shown(AssetFolder::Pkg, "rfb_viewer.js"),
    );
    println!("limits (defaults; rfb serve --help for the flags)");
    let l = Limits::default();
    line("connections", l.max_connections);
    line("viewers", l.max_sessions);
    line(
        "request head / idle",
        format!("{:?} / {:?}", l.header_read_timeout, l.idle_timeout),
    );
    line(
        "input per viewer",
        format!(
            "{}/s, burst {}",
            l.input_rate.per_second, l.input_rate.burst
        ),
    );
    line(
        "event queue / record",
        format!(
            "{} MiB / {} MiB",
            l.event_queue_bytes >> 20,
            l.recorded_events_bytes >> 20
        ),
    );
    println!("a browser needs");
    line(
        "always",
        "WebSocket and ES modules; WebAssembly (the viewer is Rust)",
    );
    line(
        "for H.264",
        "WebCodecs VideoDecoder with avc1 (Chromium 94+, Firefox 130+, Safari 16.4+); otherwise the viewer asks for JPEG/PNG/WebP",
    );
    line(
        "worker mode",
        "OffscreenCanvas and module workers (else the viewer runs on the page's thread)",
    );
    line(
        "page origin",
        "served by this server, or allowed with --origin (else close 4403 with the flag named)",
    );
    Ok(())
}
