//! `rfb bench-viewers`: many native viewers on one display, to measure what the fan-out
//! costs. For each viewer count and transport it starts `rfb serve` as a child process
//! (so its CPU is measured alone, from `/proc/<pid>/stat`), connects that many native
//! viewers (this process) that ACK every frame at once, and reports server CPU, the
//! per-viewer frame rate, drops (gaps in the publish counter), keyframes per viewer and
//! the server's ACK round trip. With `--slow-viewers N`, N of the viewers spend
//! `--slow-ms` on each frame before acknowledging it (a slow decoder), and their frame
//! rate and keyframes are reported apart: what one slow viewer costs the others, in IDRs,
//! is the difference between the `idr/v` column with and without them. With
//! `--edges N`, the same through the NATS relay ([`relay`]).

#[cfg(feature = "relay")]
pub mod relay;

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::bench::parse_size;
use rfb::client::{hello, TestClient};

/// Flags of `rfb bench-viewers`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Viewer counts, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,32")]
    pub viewers: Vec<usize>,
    /// Transports: h264 and/or jpeg.
    #[arg(long, value_delimiter = ',', default_value = "h264,jpeg")]
    pub transports: Vec<String>,
    /// Frame size.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Publish rate.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f32,
    /// Seconds measured per configuration (after a 2 s warm-up).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Extra flags for `rfb serve` (e.g. `--no-shared-encoders`), one string.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    pub serve_flags: String,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Measure through the relay: one origin, NATS and this many `rfb edge`s, the viewers
    /// spread over the edges (H.264 only; see `load::relay`). 0: viewers of one server.
    #[arg(long, default_value_t = 0)]
    pub edges: usize,
    /// The `nats-server` binary `--edges` starts.
    #[arg(long, default_value = "nats-server")]
    pub nats_server: String,
    /// How many of the viewers are slow (see --slow-ms); at most all of them.
    #[arg(long, default_value_t = 0)]
    pub slow_viewers: usize,
    /// Milliseconds a slow viewer spends on each frame before it acknowledges it.
    #[arg(long, default_value_t = 50.0)]
    pub slow_ms: f64,
}

/// One configuration's result.
#[derive(Debug, Clone, Serialize)]
pub struct LoadRow {
    /// `h264` or `jpeg`.
    pub transport: String,
    /// Viewers connected.
    pub viewers: usize,
    /// Server CPU over the measurement, percent of one core.
    pub server_cpu_percent: f64,
    /// Mean frames per second per viewer.
    pub fps_mean: f64,
    /// The slowest viewer's frames per second.
    pub fps_min: f64,
    /// Published frames no viewer received, summed over viewers.
    pub drops: u64,
    /// Mean ACK round trip the server measured, ms.
    pub rtt_ms: f64,
    /// Keyframes per viewer that keeps up, mean over the measurement.
    pub keyframes_per_viewer: f64,
    /// Slow viewers (`--slow-viewers`).
    pub slow_viewers: usize,
    /// A slow viewer's frames per second, mean (NaN without slow viewers).
    pub slow_fps: f64,
    /// Keyframes per slow viewer, mean (NaN without slow viewers).
    pub slow_keyframes: f64,
}

impl LoadRow {
    /// The table header.
    pub fn header() -> String {
        format!(
            "{:<9} {:>7} {:>9} {:>9} {:>8} {:>6} {:>8} {:>6} {:>5} {:>8} {:>7}",
            "transport",
            "viewers",
            "cpu %",
            "fps mean",
            "fps min",
            "drops",
            "rtt ms",
            "idr/v",
            "slow",
            "slow fps",
            "slow idr"
        )
    }
}

impl std::fmt::Display for LoadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<9} {:>7} {:>9.1} {:>9.2} {:>8.2} {:>6} {:>8.2} {:>6.1} {:>5} {:>8.2} {:>7.1}",
            self.transport,
            self.viewers,
            self.server_cpu_percent,
            self.fps_mean,
            self.fps_min,
            self.drops,
            self.rtt_ms,
            self.keyframes_per_viewer,
            self.slow_viewers,
            self.slow_fps,
            self.slow_keyframes
        )
    }
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
pub(crate) fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) start after ") ".
    let rest = stat
        .rsplit_once(") ")
        .map(|(_, r)| r)
        .context("unexpected /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).context("utime")?.parse::<f64>()?
        + fields.get(12).context("stime")?.parse::<f64>()?;
    // Linux reports clock ticks; USER_HZ is 100 on every architecture Linux supports here.
    Ok(ticks / 100.0)
}

/// Per-viewer counters.
#[derive(Debug, Default, Clone, Copy)]
struct ViewerCount {
    frames: u64,
    keyframes: u64,
    drops: u64,
    slow: bool,
}

async fn run_viewer(
    url: String,
    caps: Vec<String>,
    measure_from: Instant,
    until: Instant,
    per_frame: Duration,
) -> anyhow::Result<ViewerCount> {
    let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
    let mut client = TestClient::connect_with(&url, hello(&caps)).await?;
    let (mut frames, mut keyframes) = (0, 0);
    let drops = receive_until(&mut client, measure_from, until, per_frame, |header, _| {
        frames += 1;
        keyframes += u64::from(header.keyframe);
    })
    .await?;
    Ok(ViewerCount {
        frames,
        keyframes,
        drops,
        slow: !per_frame.is_zero(),
    })
}

/// When a viewer had a frame: when its task got to it, and when its last bytes reached the
/// socket (the kernel's stamp, see `rfb::client::StampedTcp`; `None` off Linux).
#[derive(Debug, Clone, Copy)]
pub(super) struct Arrival {
    pub task: Instant,
    pub socket: Option<std::time::SystemTime>,
}

/// Receives and acknowledges frames until `until`, each `per_frame` after it arrived (zero:
/// at once). Each frame that arrives after `measure_from` goes to `counted` (its header
/// and arrival times); returns how many frames were skipped between them (drops).
pub(super) async fn receive_until(
    client: &mut TestClient,
    measure_from: Instant,
    until: Instant,
    per_frame: Duration,
    mut counted: impl FnMut(&rfb_protocol::FrameHeader, Arrival),
) -> anyhow::Result<u64> {
    let mut drops = 0;
    let mut last: Option<u64> = None;
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        let frame = match tokio::time::timeout(until - now, client.next_frame()).await {
            Ok(frame) => frame?,
            Err(_) => break,
        };
        let arrived = Instant::now();
        if !per_frame.is_zero() {
            tokio::time::sleep(per_frame).await;
        }
        client.ack(frame.header.seq, 0).await?;
        if arrived >= measure_from {
            let socket = client.last_arrival();
            counted(
                &frame.header,
                Arrival {
                    task: arrived,
                    socket,
                },
            );
            if let Some(prev) = last {
                drops += frame.header.frame_seq.saturating_sub(prev + 1);
            }
        }
        last = Some(frame.header.frame_seq);
    }
    Ok(drops)
}

async fn one(args: &LoadArgs, transport: &str, viewers: usize) -> anyhow::Result<LoadRow> {
    anyhow::ensure!(
        args.slow_viewers <= viewers,
        "--slow-viewers {} is more than {viewers} viewers",
        args.slow_viewers
    );
    let exe = std::env::current_exe()?;
    let (w, h) = args.size;
    let mut command = tokio::process::Command::new(exe);
    command
        .args(["serve", "--port", "0", "--pattern", "test_card"])
        .args([
            "--width",
            &w.to_string(),
            "--height",
            &h.to_string(),
            "--fps",
            &args.fps.to_string(),
        ])
        .args(args.serve_flags.split_whitespace())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if transport == "jpeg" {
        command.arg("--force-image");
    }
    let mut child = command.spawn().context("starting rfb serve")?;
    let pid = child.id().context("no pid")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next_line()
        .await?
        .context("rfb serve printed nothing")?;
    let http = first
        .strip_prefix("rfb listening on ")
        .context("unexpected first line")?
        .to_string();
    let ws = http.replacen("http://", "ws://", 1);
    let caps: Vec<String> = match transport {
        "h264" => vec![rfb_protocol::CAP_H264_ANNEXB.into(), "image/jpeg".into()],
        "jpeg" => vec!["image/jpeg".into()],
        other => bail!("unknown transport {other}"),
    };
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(2);
    let until = measure_from + Duration::from_secs_f64(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    let slow = Duration::try_from_secs_f64(args.slow_ms / 1e3).context("--slow-ms")?;
    for i in 0..viewers {
        let per_frame = if i < args.slow_viewers {
            slow
        } else {
            Duration::ZERO
        };
        tasks.spawn(run_viewer(
            ws.clone(),
            caps.clone(),
            measure_from,
            until,
            per_frame,
        ));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_start = cpu_seconds(pid)?;
    // Read the server's round trips while every viewer is still connected.
    tokio::time::sleep_until((until - Duration::from_millis(500)).into()).await;
    let metrics = fetch(&format!("{http}metrics")).await.unwrap_or_default();
    tokio::time::sleep_until(until.into()).await;
    let cpu_end = cpu_seconds(pid)?;
    let mut counts = Vec::new();
    while let Some(result) = tasks.join_next().await {
        counts.push(result??);
    }
    let _ = child.kill().await;
    let fps: Vec<f64> = counts
        .iter()
        .filter(|c| !c.slow)
        .map(|c| c.frames as f64 / args.seconds)
        .collect();
    let mean = |values: Vec<f64>| {
        if values.is_empty() {
            f64::NAN
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    let (slow, fast): (Vec<ViewerCount>, Vec<ViewerCount>) = counts.iter().partition(|c| c.slow);
    let rtts: Vec<f64> = serde_json::from_str::<Vec<serde_json::Value>>(&metrics)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["rtt_ms"].as_f64())
        .collect();
    Ok(LoadRow {
        transport: transport.to_string(),
        viewers,
        server_cpu_percent: (cpu_end - cpu_start) / args.seconds * 100.0,
        fps_mean: fps.iter().sum::<f64>() / fps.len().max(1) as f64,
        fps_min: fps.iter().copied().fold(f64::INFINITY, f64::min),
        drops: fast.iter().map(|c| c.drops).sum(),
        rtt_ms: mean(rtts),
        keyframes_per_viewer: mean(fast.iter().map(|c| c.keyframes as f64).collect()),
        slow_viewers: slow.len(),
        slow_fps: mean(
            slow.iter()
                .map(|c| c.frames as f64 / args.seconds)
                .collect(),
        ),
        slow_keyframes: mean(slow.iter().map(|c| c.keyframes as f64).collect()),
    })
}

/// A GET over a fresh connection (the side channel is plain HTTP/1.1).
pub(crate) async fn fetch(url: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").context("http only")?;
    let (host, path) = rest.split_at(rest.find('/').context("no path")?);
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string())
}

/// Runs every configuration, printing rows as they finish.
pub async fn run(args: &LoadArgs) -> anyhow::Result<Vec<LoadRow>> {
    let mut rows = Vec::new();
    if !args.json {
        println!("{}", LoadRow::header());
    }
    for transport in &args.transports {
        for &viewers in &args.viewers {
            let row = one(args, transport, viewers).await?;
            if args.json {
                println!("{}", serde_json::to_string(&row)?);
            } else {
                println!("{row}");
            }
            rows.push(row);
        }
    }
    Ok(rows)
}
