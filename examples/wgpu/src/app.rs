//! The render loop: drain the viewers' input, render frame `n`, publish it, wait for the
//! next tick; on its own thread, because rendering and readback block.
//!
//! The pace is a fixed deadline per frame (`1 / fps` apart): a frame that took longer
//! than its slot is published at once and the schedule restarts from now, so a slow
//! renderer lowers the rate instead of building a backlog (rfb itself drops frames a
//! viewer cannot take: latest wins).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rfb::{Display, DisplayEvent, Frame};
use tokio::sync::oneshot;

use crate::controls::OrbitControls;
use crate::gpu::AdapterSummary;
use crate::renderer::Renderer;
use crate::scene::SceneView;
use crate::SceneError;

/// How the loop runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOptions {
    /// Frames per second to publish at (at most; a slow adapter publishes fewer).
    pub fps: f32,
    /// Stop after this many frames (`None`: until [`SceneLoop::stop`]).
    pub frames: Option<u64>,
    /// How fast the torus spins, degrees per second of the nominal rate (0 = still; the
    /// pose advances per frame, see [`crate::scene`]).
    pub spin_deg_per_sec: f32,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            fps: 30.0,
            frames: None,
            spin_deg_per_sec: 45.0,
        }
    }
}

impl RunOptions {
    /// The rotation per frame, radians.
    pub fn spin_per_frame(&self) -> f32 {
        self.spin_deg_per_sec.to_radians() / self.fps.max(0.001)
    }
}

/// What a finished loop did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The adapter that rendered.
    pub adapter: AdapterSummary,
    /// Frames rendered and published.
    pub frames: u64,
    /// From the first frame's publish to the last one's.
    pub elapsed: Duration,
    /// Time spent in [`Renderer::render`] (draw, copy, wait, unpad), summed.
    pub render_time: Duration,
    /// Frames that overran their slot.
    pub late: u64,
}

impl RunSummary {
    /// Frames published per second (frame intervals over the time they span; 0 for
    /// fewer than two frames).
    pub fn fps(&self) -> f64 {
        if self.frames < 2 || self.elapsed.is_zero() {
            return 0.0;
        }
        (self.frames - 1) as f64 / self.elapsed.as_secs_f64()
    }

    /// Mean render + readback time per frame, milliseconds.
    pub fn mean_render_ms(&self) -> f64 {
        self.render_time.as_secs_f64() * 1000.0 / self.frames.max(1) as f64
    }
}

/// A running render loop.
#[derive(Debug)]
pub struct SceneLoop {
    adapter: AdapterSummary,
    stop: Arc<AtomicBool>,
    thread: tokio::task::JoinHandle<Result<RunSummary, SceneError>>,
}

impl SceneLoop {
    /// Opens the GPU and starts publishing into `display` at its size. Returns once the
    /// renderer is ready, so a missing adapter is an `Err` here rather than later.
    pub async fn start(display: Display, options: RunOptions) -> Result<SceneLoop, SceneError> {
        let (width, height) = display.size();
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = oneshot::channel();
        let runtime = tokio::runtime::Handle::current();
        let stop_flag = stop.clone();
        let thread = tokio::task::spawn_blocking(move || {
            let renderer = match runtime.block_on(Renderer::new(width, height)) {
                Ok(renderer) => {
                    let _ = ready_tx.send(Ok(renderer.adapter().clone()));
                    renderer
                }
                Err(e) => {
                    let report = SceneError::Thread(e.to_string());
                    let _ = ready_tx.send(Err(e));
                    return Err(report);
                }
            };
            run(renderer, &display, options, &stop_flag)
        });
        let adapter = ready_rx
            .await
            .map_err(|_| SceneError::Thread("the render thread died while starting".into()))??;
        Ok(SceneLoop {
            adapter,
            stop,
            thread,
        })
    }

    /// The adapter rendering the frames.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// Asks the loop to stop after the frame it is on.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// A handle that stops the loop from elsewhere (a signal handler, another task).
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Waits for the loop to end (its frame limit or [`Self::stop`]) and returns what it did.
    pub async fn finish(self) -> Result<RunSummary, SceneError> {
        self.thread
            .await
            .map_err(|e| SceneError::Thread(e.to_string()))?
    }
}

/// Stops a [`SceneLoop`] after the frame it is on.
#[derive(Debug, Clone)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// Asks the loop to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The loop itself (blocking).
fn run(
    mut renderer: Renderer,
    display: &Display,
    options: RunOptions,
    stop: &AtomicBool,
) -> Result<RunSummary, SceneError> {
    let (width, height) = renderer.size();
    let period = Duration::from_secs_f64(1.0 / f64::from(options.fps.max(0.001)));
    let mut controls = OrbitControls::default();
    let mut summary = RunSummary {
        adapter: renderer.adapter().clone(),
        frames: 0,
        elapsed: Duration::ZERO,
        render_time: Duration::ZERO,
        late: 0,
    };
    let mut first_publish = None;
    let mut deadline = Instant::now();
    for n in 1.. {
        if stop.load(Ordering::Relaxed) || options.frames.is_some_and(|limit| n > limit) {
            break;
        }
        for event in display.poll_events() {
            if let DisplayEvent::Input(input) = event {
                controls.apply(&input.event);
            }
        }
        let view = SceneView {
            frame: n,
            spin_per_frame: options.spin_per_frame(),
            orbit: controls.orbit(),
        };
        let began = Instant::now();
        let rgba = renderer.render(&view)?;
        summary.render_time += began.elapsed();
        display.publish(Frame::rgba(width, height, rgba)?)?;
        summary.frames = n;
        summary.elapsed = first_publish.get_or_insert_with(Instant::now).elapsed();
        deadline += period;
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        } else {
            summary.late += 1;
            deadline = now;
        }
    }
    Ok(summary)
}
