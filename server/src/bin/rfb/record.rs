//! `rfb record`: publish a pattern into a headless display (no server, no viewer) and
//! record it to an MP4 file; and the helpers behind `rfb serve --record`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bench::{parse_bitrate, parse_pattern};
use anyhow::Context as _;
use rfb::{
    Display, Frame, Mp4Layout, RateControl, RecordOptions, RecordSummary, Recorder, StreamOptions,
};
use rfb_protocol::Pattern;

/// Flags of `rfb record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Pattern to record: test_card, gradient, bouncing_box, counter, checkerboard, solid.
    #[arg(long, default_value = "test_card", value_parser = parse_pattern)]
    pattern: Pattern,
    /// Frames to publish and record (pattern seq 1..=N).
    #[arg(long, default_value_t = 90)]
    frames: u64,
    /// Frame width in pixels (even).
    #[arg(long, default_value_t = 1280)]
    width: u32,
    /// Frame height in pixels (even).
    #[arg(long, default_value_t = 720)]
    height: u32,
    /// Frames published per second, in real time: N frames take N / fps seconds.
    #[arg(long, default_value_t = 30.0)]
    fps: f32,
    /// Target bitrate (`8M`, `500k`, `2000000`) instead of constant quality.
    #[arg(long, value_parser = parse_bitrate, conflicts_with = "qp")]
    bitrate: Option<u32>,
    /// Constant quality: the lowest QP used, 20..=51 (lower is better); the QP stays
    /// within QP..=max(QP, 40).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(20..=51))]
    qp: u8,
    /// An IDR every N frames (0 = only the first).
    #[arg(long, default_value_t = 60)]
    keyframe_interval: u32,
    /// MP4 layout: fragmented (playable at every moment; a kill loses at most the last
    /// second) or classic (one `moov`, written when the recording stops).
    #[arg(long, default_value = "fragmented", value_parser = parse_layout)]
    layout: Mp4Layout,
    /// The MP4 file to write.
    output: PathBuf,
}

impl RecordArgs {
    fn options(&self) -> RecordOptions {
        let rate_control = match self.bitrate {
            Some(bps) => RateControl::Bitrate(bps),
            None => RateControl::Quality {
                min_qp: self.qp,
                max_qp: self.qp.max(40),
            },
        };
        RecordOptions {
            rate_control,
            fps: self.fps,
            keyframe_interval: self.keyframe_interval,
            layout: self.layout,
        }
    }
}

/// `--layout` / `--record-layout`: `fragmented` or `classic`.
pub fn parse_layout(name: &str) -> Result<Mp4Layout, String> {
    name.parse()
}

/// Runs `rfb record` on a runtime of its own (time for the pacing, I/O for the signals).
pub fn main(args: RecordArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

/// Records `--frames` frames, or fewer when SIGTERM, SIGINT or SIGHUP comes first: the
/// file is finalised either way.
async fn run(args: RecordArgs) -> anyhow::Result<()> {
    let mut shutdown = crate::shutdown::Shutdown::listen().context("listening for signals")?;
    anyhow::ensure!(
        args.fps > 0.0 && args.fps.is_finite(),
        "--fps must be positive"
    );
    anyhow::ensure!(args.frames > 0, "--frames must be at least 1");
    let (w, h) = (args.width, args.height);
    let display = Display::headless(w, h, StreamOptions::default())?;
    let recorder = display
        .record(&args.output, args.options())
        .context("starting the recording")?;
    println!(
        "recording {} ({} MP4); SIGTERM, SIGINT or SIGHUP stops and finalises it",
        args.output.display(),
        args.layout
    );
    std::io::stdout().flush().ok();
    let mut publish_cost = PublishCost::default();
    let publishing = async {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.fps)));
        // Burst: a late frame does not push back the ones after it, so the clip lasts N / fps.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for n in 1..=args.frames {
            ticker.tick().await;
            let frame = Frame::rgb(w, h, args.pattern.render(n, w, h))?;
            let started = Instant::now();
            let seq = display.publish(frame)?;
            publish_cost.add(started.elapsed());
            // A clip keeps every frame: wait for it (stop() reports why if the recording
            // ended).
            if !recorder.wait_recorded(seq).await {
                break;
            }
        }
        anyhow::Ok(())
    };
    tokio::select! {
        published = publishing => published?,
        signal = shutdown.recv() => eprintln!("{signal}: stopping the recording"),
    }
    let summary = recorder.stop().await?;
    println!("{}", describe(&summary));
    println!(
        "publish() with the recorder attached: mean {:.1} µs, max {:.1} µs over {} frames; \
         the recorder's thread: {:.2} ms per frame (scale + encode)",
        publish_cost.mean().as_secs_f64() * 1e6,
        publish_cost.max.as_secs_f64() * 1e6,
        publish_cost.count,
        summary.encode_mean.as_secs_f64() * 1e3
    );
    Ok(())
}

/// How long `Display::publish` took on the app's side.
#[derive(Debug, Default)]
struct PublishCost {
    count: u32,
    total: Duration,
    max: Duration,
}

impl PublishCost {
    fn add(&mut self, took: Duration) {
        self.count += 1;
        self.total += took;
        self.max = self.max.max(took);
    }

    fn mean(&self) -> Duration {
        self.total.checked_div(self.count).unwrap_or_default()
    }
}

/// `rfb serve --record`: starts recording `display` when a path is given.
pub fn start(
    display: &Display,
    path: Option<&Path>,
    fps: f32,
    layout: Mp4Layout,
) -> anyhow::Result<Option<Recorder>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let options = RecordOptions {
        fps,
        layout,
        ..RecordOptions::default()
    };
    let recorder = display
        .record(path, options)
        .with_context(|| format!("recording to {}", path.display()))?;
    Ok(Some(recorder))
}

/// `rfb serve --record`: stops and finalises the recording, printing its summary.
pub async fn finish(recorder: Option<Recorder>) -> anyhow::Result<()> {
    if let Some(recorder) = recorder {
        println!("{}", describe(&recorder.stop().await?));
    }
    Ok(())
}

/// One line about a finished recording.
fn describe(summary: &RecordSummary) -> String {
    format!(
        "recorded {}: {} frames ({} skipped, {} scaled), {}x{}, {:.3} s, {} bytes",
        summary.path.display(),
        summary.frames_written,
        summary.frames_skipped,
        summary.frames_scaled,
        summary.width,
        summary.height,
        summary.duration.as_secs_f64(),
        summary.bytes
    )
}
