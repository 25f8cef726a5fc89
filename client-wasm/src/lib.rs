#![doc = include_str!("../README.md")]

pub mod codec;
pub mod held;
pub mod input;
pub mod liveness;
pub mod policy;
pub mod reconnect;
pub mod server_report;
pub mod timing;
pub mod watchdog;

#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(target_arch = "wasm32")]
pub use web::*;
