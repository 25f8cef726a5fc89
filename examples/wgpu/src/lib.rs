#![doc = include_str!("../README.md")]

pub mod app;
pub mod controls;
mod error;
pub mod gpu;
pub mod mesh;
pub mod readback;
pub mod renderer;
pub mod scene;

pub use app::{RunOptions, RunSummary, SceneLoop, Stopper};
pub use controls::{Orbit, OrbitControls};
pub use error::SceneError;
pub use gpu::AdapterSummary;
pub use renderer::Renderer;
pub use scene::SceneView;
