//! An animated, lit torus rendered offscreen with wgpu every frame and streamed with rfb.
//! Drag in the viewer to orbit the camera, turn the wheel to zoom, press `r` to reset.
//!
//! Run (needs a Vulkan driver; with no GPU, Mesa's lavapipe: `apt-get install
//! mesa-vulkan-drivers`, which `./scripts/setup.sh` does):
//!
//! ```sh
//! cargo run --release -p rfb-example-wgpu
//! ```
//!
//! then open http://127.0.0.1:8765/ (the demo page; build the viewer package once with
//! `./scripts/setup.sh` or `npm run build:viewer`). `--width`/`--height`/`--fps` set the
//! stream, `--spin` the rotation speed (0 = still), `--frames N` stops after N frames and
//! prints the rate reached, `--port 0` picks a free port.

use anyhow::Context;
use clap::Parser;
use rfb::{serve, ServeOptions, StreamOptions};
use rfb_example_wgpu::{RunOptions, SceneLoop};

/// Streams a wgpu scene to web browsers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 = any free port; the URL printed says which).
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// Frame width in pixels (even, for H.264).
    #[arg(long, default_value_t = 960)]
    width: u32,
    /// Frame height in pixels (even, for H.264).
    #[arg(long, default_value_t = 540)]
    height: u32,
    /// Frames per second to publish at (at most).
    #[arg(long, default_value_t = 30.0)]
    fps: f32,
    /// Degrees per second the torus spins (0 = still).
    #[arg(long, default_value_t = 45.0)]
    spin: f32,
    /// Stop after this many frames and print the rate reached (default: until Ctrl-C).
    #[arg(long)]
    frames: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.fps > 0.0 && args.fps <= 240.0) {
        anyhow::bail!("--fps must be in (0, 240], got {}", args.fps);
    }
    let options = ServeOptions {
        host: args.host.clone(),
        port: args.port,
        stream: StreamOptions {
            fps: args.fps,
            ..StreamOptions::default()
        },
        ..ServeOptions::default()
    };
    let display = serve(args.width, args.height, options)
        .await
        .context("starting the server")?;
    let scene = SceneLoop::start(
        display.clone(),
        RunOptions {
            fps: args.fps,
            frames: args.frames,
            spin_deg_per_sec: args.spin,
        },
    )
    .await?;
    println!("rendering on {}", scene.adapter());
    println!("open {}", display.url());
    let stopper = scene.stopper();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stopper.stop();
        }
    });
    let summary = scene.finish().await?;
    println!(
        "{} frames of {}x{} in {:.1} s: {:.1} fps, render + readback {:.1} ms/frame, {} late",
        summary.frames,
        args.width,
        args.height,
        summary.elapsed.as_secs_f64(),
        summary.fps(),
        summary.mean_render_ms(),
        summary.late
    );
    display.close().await;
    Ok(())
}
