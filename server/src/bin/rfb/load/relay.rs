//! `rfb bench-viewers --edges N`: the relay's benchmark. For each viewer count it starts
//! `nats-server`, one origin (`rfb serve --relay`) and N edges (`rfb edge`) as child
//! processes, spreads the viewers over the edges (native H.264 viewers that ACK every
//! frame at once) and adds one direct viewer of the origin. It reports the origin's CPU
//! (compare the rows: 200 viewers against 1), each edge's CPU, the edge viewers' frame
//! rate and drops, and the relay hop: for every frame, how much later an edge viewer
//! received it than the direct viewer did (same process, same clock; the native viewer
//! ACKs on receipt, so this is also the added publish -> ACK latency), p50 and p95.
//!
//! "Received" is when the frame's last bytes reached the viewer's socket (the kernel's
//! receive stamp, `rfb::client::StampedTcp`): all the viewers share this one process and
//! its few threads, so the time a viewer's task got to a frame also holds its turn behind
//! up to 200 others, which viewers in their own browsers do not wait for. That task-side
//! hop is reported too (`task p50`, `task p95`).

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{cpu_seconds, LoadArgs};
use rfb::client::{hello, TestClient};

/// One relay configuration's result.
#[derive(Debug, Clone, Serialize)]
pub struct RelayRow {
    /// Viewers on the edges (plus one direct viewer of the origin).
    pub viewers: usize,
    /// Edges.
    pub edges: usize,
    /// Origin CPU over the measurement, percent of one core.
    pub origin_cpu_percent: f64,
    /// Each edge's CPU, percent of one core.
    pub edge_cpu_percent: Vec<f64>,
    /// Mean frames per second per edge viewer.
    pub fps_mean: f64,
    /// The slowest edge viewer's frames per second.
    pub fps_min: f64,
    /// Published frames edge viewers did not receive, summed.
    pub drops: u64,
    /// Relay hop (edge viewer's receipt minus the direct viewer's, both at the socket),
    /// median, ms.
    pub hop_p50_ms: f64,
    /// Relay hop at the socket, 95th percentile, ms.
    pub hop_p95_ms: f64,
    /// Relay hop as the viewers' tasks saw it (when each got to the frame), median, ms.
    pub task_hop_p50_ms: f64,
    /// Relay hop as the tasks saw it, 95th percentile, ms.
    pub task_hop_p95_ms: f64,
}

impl RelayRow {
    /// The table header.
    pub fn header() -> String {
        format!(
            "{:>7} {:>5} {:>12} {:>22} {:>9} {:>8} {:>6} {:>8} {:>8} {:>9} {:>9}",
            "viewers",
            "edges",
            "origin cpu %",
            "edge cpu % (each)",
            "fps mean",
            "fps min",
            "drops",
            "hop p50",
            "hop p95",
            "task p50",
            "task p95"
        )
    }
}

impl std::fmt::Display for RelayRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let edges: Vec<String> = self
            .edge_cpu_percent
            .iter()
            .map(|c| format!("{c:.0}"))
            .collect();
        write!(
            f,
            "{:>7} {:>5} {:>12.1} {:>22} {:>9.2} {:>8.2} {:>6} {:>8.2} {:>8.2} {:>9.2} {:>9.2}",
            self.viewers,
            self.edges,
            self.origin_cpu_percent,
            edges.join("/"),
            self.fps_mean,
            self.fps_min,
            self.drops,
            self.hop_p50_ms,
            self.hop_p95_ms,
            self.task_hop_p50_ms,
            self.task_hop_p95_ms
        )
    }
}

/// A child process and the URL it printed first.
struct Proc {
    child: Child,
    pid: u32,
    http: String,
}

/// Starts `rfb ARGS` and reads its `... listening on URL` line.
async fn start_rfb(args: &[String]) -> anyhow::Result<Proc> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting rfb")?;
    let pid = child.id().context("no pid")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next_line().await?.context("rfb printed nothing")?;
    let http = first
        .split_once("listening on ")
        .map(|(_, url)| url.to_string())
        .context("unexpected first line")?;
    // Keep reading so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Proc { child, pid, http })
}

/// Starts `nats-server` on a free loopback port; returns it and its URL.
async fn start_nats(binary: &str) -> anyhow::Result<(Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {binary}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < deadline, "nats-server did not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((child, format!("nats://127.0.0.1:{port}")))
}

/// What one viewer saw: when each frame arrived (in the measurement window), and drops.
#[derive(Default)]
struct Arrivals {
    /// When the viewer's task got to each frame.
    at: HashMap<u64, Instant>,
    /// When each frame's last bytes reached the socket (kernel stamps, where there are).
    socket_at: HashMap<u64, SystemTime>,
    frames: u64,
    drops: u64,
}

async fn timed_viewer(
    url: String,
    measure_from: Instant,
    until: Instant,
) -> anyhow::Result<Arrivals> {
    let caps = [rfb_protocol::CAP_H264_ANNEXB];
    let mut client = TestClient::connect_with(&url, hello(&caps)).await?;
    let mut seen = Arrivals::default();
    seen.drops = super::receive_until(
        &mut client,
        measure_from,
        until,
        Duration::ZERO,
        |header, arrived| {
            seen.frames += 1;
            seen.at.entry(header.frame_seq).or_insert(arrived.task);
            if let Some(socket) = arrived.socket {
                seen.socket_at.entry(header.frame_seq).or_insert(socket);
            }
        },
    )
    .await?;
    Ok(seen)
}

/// `a - b` in milliseconds, negative when `a` came first.
fn signed_ms(a: Instant, b: Instant) -> f64 {
    a.saturating_duration_since(b).as_secs_f64() * 1e3
        - b.saturating_duration_since(a).as_secs_f64() * 1e3
}

/// `a - b` in milliseconds for wall-clock stamps, negative when `a` came first.
fn signed_wall_ms(a: SystemTime, b: SystemTime) -> f64 {
    match a.duration_since(b) {
        Ok(later) => later.as_secs_f64() * 1e3,
        Err(earlier) => -earlier.duration().as_secs_f64() * 1e3,
    }
}

/// Every frame's hop from the direct viewer's arrival to each edge viewer's, sorted.
fn hops<T: Copy>(
    direct: &HashMap<u64, T>,
    edge_viewers: impl Iterator<Item = (u64, T)>,
    minus: impl Fn(T, T) -> f64,
) -> Vec<f64> {
    let mut hops: Vec<f64> = edge_viewers
        .filter_map(|(seq, at)| Some(minus(at, *direct.get(&seq)?)))
        .collect();
    hops.sort_by(f64::total_cmp);
    hops
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

async fn one(args: &LoadArgs, viewers: usize) -> anyhow::Result<RelayRow> {
    let (_nats, url) = start_nats(&args.nats_server).await?;
    let (w, h) = args.size;
    let mut origin_args: Vec<String> = [
        "serve",
        "--port",
        "0",
        "--pattern",
        "test_card",
        "--relay",
        &url,
        "--relay-name",
        "origin",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    origin_args.extend([
        "--width".into(),
        w.to_string(),
        "--height".into(),
        h.to_string(),
    ]);
    origin_args.extend(["--fps".into(), args.fps.to_string()]);
    origin_args.extend(args.serve_flags.split_whitespace().map(str::to_string));
    let origin = start_rfb(&origin_args).await?;
    let mut edges = Vec::new();
    for i in 0..args.edges {
        let edge_args: Vec<String> = [
            "edge",
            "--port",
            "0",
            "--relay",
            &url,
            "--relay-name",
            &format!("edge-{i}"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        edges.push(start_rfb(&edge_args).await?);
    }
    // Each edge lists the stream once it heard the origin's catalogue.
    for edge in &edges {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !super::fetch(&format!("{}streams", edge.http))
            .await
            .unwrap_or_default()
            .contains("\"default\"")
        {
            anyhow::ensure!(Instant::now() < deadline, "an edge never listed the stream");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let ws = |http: &str| http.replacen("http://", "ws://", 1);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(3);
    let until = measure_from + Duration::from_secs_f64(args.seconds);
    let direct = tokio::spawn(timed_viewer(ws(&origin.http), measure_from, until));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..viewers {
        let edge = &edges[i % edges.len()];
        tasks.spawn(timed_viewer(ws(&edge.http), measure_from, until));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let origin_cpu = cpu_seconds(origin.pid)?;
    let edge_cpu: Vec<f64> = edges
        .iter()
        .map(|e| cpu_seconds(e.pid))
        .collect::<Result<_, _>>()?;
    tokio::time::sleep_until(until.into()).await;
    let origin_cpu = cpu_seconds(origin.pid)? - origin_cpu;
    let edge_cpu: Vec<f64> = edges
        .iter()
        .zip(edge_cpu)
        .map(|(e, before)| cpu_seconds(e.pid).map(|c| (c - before) / args.seconds * 100.0))
        .collect::<Result<_, _>>()?;
    let direct = direct.await??;
    let mut seen = Vec::new();
    while let Some(result) = tasks.join_next().await {
        seen.push(result??);
    }
    let task_hops = hops(
        &direct.at,
        seen.iter().flat_map(|v| v.at.iter().map(|(s, a)| (*s, *a))),
        signed_ms,
    );
    let socket_hops = hops(
        &direct.socket_at,
        seen.iter()
            .flat_map(|v| v.socket_at.iter().map(|(s, a)| (*s, *a))),
        signed_wall_ms,
    );
    // Without kernel stamps (not Linux), the socket hop is the task hop.
    let socket_hops = if socket_hops.is_empty() {
        task_hops.clone()
    } else {
        socket_hops
    };
    let fps: Vec<f64> = seen
        .iter()
        .map(|c| c.frames as f64 / args.seconds)
        .collect();
    for mut p in [origin].into_iter().chain(edges) {
        let _ = p.child.kill().await;
    }
    Ok(RelayRow {
        viewers,
        edges: args.edges,
        origin_cpu_percent: origin_cpu / args.seconds * 100.0,
        edge_cpu_percent: edge_cpu,
        fps_mean: fps.iter().sum::<f64>() / fps.len().max(1) as f64,
        fps_min: fps.iter().copied().fold(f64::INFINITY, f64::min),
        drops: seen.iter().map(|c| c.drops).sum(),
        hop_p50_ms: quantile(&socket_hops, 0.5),
        hop_p95_ms: quantile(&socket_hops, 0.95),
        task_hop_p50_ms: quantile(&task_hops, 0.5),
        task_hop_p95_ms: quantile(&task_hops, 0.95),
    })
}

/// Runs every viewer count through the relay, printing rows as they finish.
pub async fn run(args: &LoadArgs) -> anyhow::Result<Vec<RelayRow>> {
    let mut rows = Vec::new();
    if !args.json {
        println!("{}", RelayRow::header());
    }
    for &viewers in &args.viewers {
        let row = one(args, viewers).await?;
        if args.json {
            println!("{}", serde_json::to_string(&row)?);
        } else {
            println!("{row}");
        }
        rows.push(row);
    }
    Ok(rows)
}
