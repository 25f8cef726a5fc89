//! `rfb soak`: leak and growth checks on an in-process server.
//!
//! 1. **Churn**: `--cycles` connections, `--concurrency` at a time, cycling through four
//!    ways of coming and going: `Hello` then a clean close, `Hello` then dropping the
//!    socket in the middle of a frame, never sending `Hello`, and a short watch on another
//!    transport; in two equal rounds. After each round sessions, WebSockets, lanes,
//!    encoders and runtime tasks must return to what they were before (checked within
//!    `--settle` seconds). The first round warms the allocator up (freed memory stays in
//!    the process's heap for reuse); RSS must then grow by at most `--rss-bound-mib` over
//!    the second round, which a leak of a few KiB per connection would exceed.
//! 2. **Stall**: one viewer that never acknowledges, at `--stall-size` and `--stall-fps`,
//!    for `--stall-seconds`; RSS is sampled every second and must stay flat after a
//!    warm-up (growth under `--rss-growth-mib`).
//!
//! Prints one table per phase and exits non-zero when a check fails or anything panicked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use futures_util::{SinkExt, StreamExt};
use rfb::client::{all_capabilities, hello, TestClient};
use rfb::{serve_server, Display, Frame, Resources, ServeOptions, Server, StreamOptions};
use rfb_protocol::{encode_client, ClientMessage, Pattern};
use tokio_tungstenite::tungstenite::Message;

/// Flags of `rfb soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Connect/disconnect cycles.
    #[arg(long, default_value_t = 1000)]
    cycles: usize,
    /// Cycles in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds allowed for everything to return to its starting count after the churn.
    #[arg(long, default_value_t = 10.0)]
    settle: f64,
    /// Largest RSS growth over the second half of the churn, MiB.
    #[arg(long, default_value_t = 32.0)]
    rss_bound_mib: f64,
    /// Seconds the never-acknowledging viewer stays (0 skips the phase).
    #[arg(long, default_value_t = 60.0)]
    stall_seconds: f64,
    /// Frame size of the stall phase.
    #[arg(long, default_value = "1920x1080", value_parser = crate::bench::parse_size)]
    stall_size: (u32, u32),
    /// Publish rate of the stall phase.
    #[arg(long, default_value_t = 60.0)]
    stall_fps: f64,
    /// Largest RSS growth after the warm-up (the first quarter) of the stall phase, MiB.
    #[arg(long, default_value_t = 16.0)]
    rss_growth_mib: f64,
}

/// Resident set size of this process, in MiB (0 where /proc is missing).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Publishes `pattern` at `fps` until aborted.
fn publisher(
    display: Display,
    pattern: Pattern,
    w: u32,
    h: u32,
    fps: f64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        for n in 1.. {
            ticker.tick().await;
            let Ok(pixels) = tokio::task::spawn_blocking(move || pattern.render(n, w, h)).await
            else {
                return;
            };
            let Ok(frame) = Frame::rgb(w, h, pixels) else {
                return;
            };
            if display.publish(frame).is_err() {
                return;
            }
        }
    })
}

/// One connection that comes and goes in the `kind`th way.
async fn cycle(url: String, kind: usize) -> anyhow::Result<()> {
    match kind % 4 {
        0 => {
            // Hello, a frame, a clean close.
            let mut client =
                TestClient::connect_with(&url, hello(&["webcodecs/h264-annexb"])).await?;
            let frame = client.next_frame().await?;
            client.ack(frame.header.seq, 0).await?;
            client.close().await?;
        }
        1 => {
            // Hello, then the socket dropped while the server is sending.
            let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
            let caps = all_capabilities();
            let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
            ws.send(Message::Binary(
                encode_client(&ClientMessage::Hello(hello(&caps))).into(),
            ))
            .await?;
            let _ = tokio::time::timeout(Duration::from_millis(20), ws.next()).await;
            drop(ws);
        }
        2 => {
            // Never a Hello: the socket opens and goes.
            let (ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
            tokio::time::sleep(Duration::from_millis(5)).await;
            drop(ws);
        }
        _ => {
            // Another transport, a few frames, then gone without a close.
            let mut client = TestClient::connect_with(&url, hello(&["image/jpeg"])).await?;
            for _ in 0..3 {
                let frame = client.next_frame().await?;
                client.ack(frame.header.seq, 0).await?;
            }
            drop(client);
        }
    }
    Ok(())
}

fn row(name: &str, r: &Resources, tasks: usize, rss: f64) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {tasks} | {rss:.1} |",
        r.sessions, r.websockets, r.lanes, r.encoders
    )
}

async fn wait_back(server: &Server, baseline_tasks: usize, limit: Duration) -> (Resources, usize) {
    let deadline = Instant::now() + limit;
    loop {
        let r = server.resources();
        let tasks = alive_tasks();
        let idle = r.sessions == 0 && r.websockets == 0 && r.lanes == 0 && r.encoders == 0;
        if (idle && tasks <= baseline_tasks) || Instant::now() > deadline {
            return (r, tasks);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `cycles` connections, `concurrency` at a time; returns how many misbehaved.
async fn round(url: &str, first: usize, cycles: usize, concurrency: usize) -> usize {
    let failures = Arc::new(AtomicUsize::new(0));
    let mut inflight = tokio::task::JoinSet::new();
    for n in first..first + cycles {
        while inflight.len() >= concurrency.max(1) {
            inflight.join_next().await;
        }
        let (url, failures) = (url.to_string(), failures.clone());
        inflight.spawn(async move {
            let outcome = tokio::time::timeout(Duration::from_secs(10), cycle(url, n)).await;
            if !matches!(outcome, Ok(Ok(()))) {
                failures.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while inflight.join_next().await.is_some() {}
    failures.load(Ordering::Relaxed)
}

async fn churn(args: &SoakArgs) -> anyhow::Result<()> {
    let server = serve_server(ServeOptions {
        port: 0,
        embedded_assets: false,
        ..ServeOptions::default()
    })
    .await?;
    let display = server.add_stream("default", 640, 360, StreamOptions::default())?;
    let publish = publisher(display.clone(), Pattern::TestCard, 640, 360, 30.0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (rss0, tasks0) = (rss_mib(), alive_tasks());
    let r0 = server.resources();
    let url = server.ws_url();
    let settle = Duration::from_secs_f64(args.settle);
    let half = args.cycles / 2;
    let started = Instant::now();
    let failed_warm = round(&url, 0, half, args.concurrency).await;
    let (r1, tasks1) = wait_back(&server, tasks0, settle).await;
    let rss1 = rss_mib();
    let failed = failed_warm + round(&url, half, args.cycles - half, args.concurrency).await;
    let churned = started.elapsed();
    let (r2, tasks2) = wait_back(&server, tasks0, settle).await;
    let rss2 = rss_mib();
    println!(
        "churn: {} cycles ({failed} failed) in {:.1} s, {} at a time",
        args.cycles,
        churned.as_secs_f64(),
        args.concurrency
    );
    println!("| when | sessions | websockets | lanes | encoders | tasks | RSS MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!("{}", row("before", &r0, tasks0, rss0));
    println!(
        "{}",
        row(&format!("after {half} (warm-up)"), &r1, tasks1, rss1)
    );
    println!(
        "{}",
        row(&format!("after {}", args.cycles), &r2, tasks2, rss2)
    );
    println!(
        "RSS growth over the second round: {:.1} MiB (bound {} MiB)",
        rss2 - rss1,
        args.rss_bound_mib
    );
    publish.abort();
    server.close().await;
    for (r, tasks) in [(r1, tasks1), (r2, tasks2)] {
        ensure!(
            r.sessions == 0 && r.websockets == 0 && r.lanes == 0 && r.encoders == 0,
            "resources left after a round: {r:?}"
        );
        ensure!(
            tasks <= tasks0,
            "{tasks} runtime tasks alive, {tasks0} before"
        );
    }
    let panics = PANICS.load(Ordering::SeqCst);
    ensure!(
        panics == 0,
        "{panics} panics in server tasks (printed above)"
    );
    ensure!(
        rss2 - rss1 <= args.rss_bound_mib,
        "RSS grew by {:.1} MiB over the second round (bound {} MiB)",
        rss2 - rss1,
        args.rss_bound_mib
    );
    ensure!(failed == 0, "{failed} cycles did not behave as planned");
    Ok(())
}

async fn stall(args: &SoakArgs) -> anyhow::Result<()> {
    let (w, h) = args.stall_size;
    let server = serve_server(ServeOptions {
        port: 0,
        embedded_assets: false,
        ..ServeOptions::default()
    })
    .await?;
    let display = server.add_stream("default", w, h, StreamOptions::default())?;
    let publish = publisher(display.clone(), Pattern::Gradient, w, h, args.stall_fps);
    // The viewer answers heartbeats (so it stays) but never acknowledges a frame.
    let mut viewer = TestClient::connect_with(&server.ws_url(), hello(&["webcodecs/h264-annexb"]))
        .await
        .context("connecting the stalled viewer")?;
    let seconds = args.stall_seconds.ceil() as usize;
    let mut samples = Vec::with_capacity(seconds);
    let started = Instant::now();
    let mut received = 0usize;
    let mut next_sample = started + Duration::from_secs(1);
    while started.elapsed().as_secs_f64() < args.stall_seconds {
        let wait = next_sample.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, viewer.recv()).await {
            Ok(Ok(_)) => received += 1,
            Ok(Err(err)) => anyhow::bail!("the stalled viewer was closed: {err}"),
            Err(_) => {}
        }
        if Instant::now() >= next_sample {
            samples.push(rss_mib());
            next_sample += Duration::from_secs(1);
        }
    }
    let warm = samples.len() / 4;
    let after_warmup = &samples[warm.min(samples.len().saturating_sub(1))..];
    let low = after_warmup.iter().copied().fold(f64::INFINITY, f64::min);
    let high = after_warmup.iter().copied().fold(0.0, f64::max);
    let metrics = display.metrics_snapshot();
    let m = metrics.first().context("the stalled viewer is gone")?;
    println!(
        "stall: a viewer that never acknowledges, {w}x{h} at {} fps for {:.0} s: {} messages received, {} frames sent, {} backstop resyncs",
        args.stall_fps, args.stall_seconds, received, m.frames_sent, m.inflight_timeouts
    );
    println!("| RSS MiB | first second | after warm-up (min) | after warm-up (max) | last |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| | {:.1} | {low:.1} | {high:.1} | {:.1} |",
        samples.first().copied().unwrap_or_default(),
        samples.last().copied().unwrap_or_default()
    );
    publish.abort();
    drop(viewer);
    server.close().await;
    ensure!(
        high - low <= args.rss_growth_mib,
        "RSS moved by {:.1} MiB after the warm-up (bound {} MiB)",
        high - low,
        args.rss_growth_mib
    );
    Ok(())
}

/// Panics anywhere in the process since [`count_panics`] ran.
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts every panic (and still prints it): a session task that panics on a network
/// event is a defect even when the runtime contains it.
fn count_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
}

/// Runs both phases.
pub fn main(args: SoakArgs) -> anyhow::Result<()> {
    count_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        churn(&args).await?;
        if args.stall_seconds > 0.0 {
            stall(&args).await?;
        }
        let panics = PANICS.load(Ordering::SeqCst);
        ensure!(
            panics == 0,
            "{panics} panics in server tasks (printed above)"
        );
        Ok(())
    })
}
