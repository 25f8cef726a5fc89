//! The `rfb` command line: `rfb serve` streams a test pattern to browsers, `rfb bench`
//! measures the encoders, `rfb record` writes a pattern to MP4, `rfb dump-au` records the
//! access units a stream sends. Run `rfb <command> --help` for every flag.

mod bench;
mod camera;
mod doctor;
mod dump_au;
mod edge;
mod limits;
mod load;
mod record;
mod relay;
mod serve;
mod shutdown;
mod soak;

use clap::{Parser, Subcommand};

/// Stream frames to web browsers over WebSocket (H.264 via WebCodecs, or images).
#[derive(Debug, Parser)]
#[command(name = "rfb", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a deterministic pattern (and the viewer page) until Ctrl-C, SIGTERM or SIGHUP.
    Serve(Box<serve::ServeArgs>), // boxed: by far the largest variant
    /// Serve the streams origins (`rfb serve --relay`) publish over NATS, until Ctrl-C.
    Edge(Box<edge::EdgeArgs>),
    /// Measure encode time, size and PSNR per encoder configuration (no network).
    Bench(crate::bench::BenchArgs),
    /// Record the H.264 access units a shared lane sends for a pattern, with their encode
    /// times (for the floor benchmark).
    DumpAu(dump_au::DumpArgs),
    /// Record a pattern to an MP4 file, headless (no server, no viewer).
    Record(record::RecordArgs),
    /// Measure many native viewers on one display: server CPU, fps and drops per viewer.
    BenchViewers(crate::load::LoadArgs),
    /// Leak checks: connection churn back to zero, flat memory under a stalled viewer.
    Soak(soak::SoakArgs),
    /// What this build and machine can do (encoders, assembly, timings, assets, limits)
    /// and what a browser needs.
    Doctor(doctor::DoctorArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(serve::run(*args))
        }
        Command::Edge(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(edge::run(*args))
        }
        Command::Record(args) => record::main(args),
        Command::DumpAu(args) => {
            let manifest = dump_au::run(&args)?;
            print!("{}", dump_au::summary(&args, &manifest));
            Ok(())
        }
        Command::BenchViewers(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            if args.edges > 0 {
                runtime.block_on(crate::load::relay::run(&args)).map(|_| ())
            } else {
                runtime.block_on(crate::load::run(&args)).map(|_| ())
            }
        }
        Command::Soak(args) => soak::main(args),
        Command::Doctor(args) => doctor::main(args),
        Command::Bench(args) => {
            let rows = crate::bench::run(&args)?;
            print!("{}", crate::bench::render(&args, &rows)?);
            Ok(())
        }
    }
}
