//! `rfb edge`: serve the streams origins publish over NATS (see `rfb::relay::edge`).

use std::path::PathBuf;

use anyhow::Context as _;
use rfb::ServeOptions;

use crate::limits::{AccessArgs, LimitArgs};
use crate::relay::RelayArgs;

/// Flags of `rfb edge`.
#[derive(Debug, clap::Args)]
pub struct EdgeArgs {
    #[command(flatten)]
    relay: RelayArgs,
    /// Interface to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 = any free port; the URL printed at start tells which).
    #[arg(long, default_value_t = 8766)]
    port: u16,
    #[command(flatten)]
    access: AccessArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// Keep the input this edge's viewers send for `GET /recorded-events`.
    #[arg(long)]
    record_events: bool,
    /// Folder of the demo page (default: the checkout's `web/`).
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// Folder of the built viewer package served at /pkg/ (default: `client-wasm/pkg`).
    #[arg(long)]
    pkg_dir: Option<PathBuf>,
}

/// Runs the edge until Ctrl-C.
pub async fn run(args: EdgeArgs) -> anyhow::Result<()> {
    let relay = args
        .relay
        .options(format!("edge-{}", args.port))?
        .context("rfb edge needs --relay nats://HOST:PORT")?;
    let defaults = ServeOptions::default();
    let mut options = ServeOptions {
        host: args.host.clone(),
        port: args.port,
        web_dir: args.web_dir.clone().or(defaults.web_dir.clone()),
        pkg_dir: args.pkg_dir.clone().or(defaults.pkg_dir.clone()),
        record_events: args.record_events,
        ..defaults
    };
    args.access.apply(&mut options);
    args.limits.apply(&mut options)?;
    if let Some(warning) = args.access.warning(&options) {
        eprintln!("{warning}");
    }
    let edge = rfb::relay::edge::serve_edge(options, relay.clone())
        .await
        .context("starting the edge")?;
    // Tests parse this first line for the port.
    println!("rfb edge listening on {}", edge.server().url());
    println!(
        "relay {} prefix {} name {}",
        relay
            .urls
            .iter()
            .map(|u| rfb::relay::redact_url(u))
            .collect::<Vec<_>>()
            .join(","),
        relay.prefix,
        relay.name
    );
    tokio::signal::ctrl_c().await.ok();
    edge.close().await;
    Ok(())
}
