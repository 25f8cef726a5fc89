#![doc = include_str!("../README.md")]

pub mod input;
pub mod policy;

#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(target_arch = "wasm32")]
pub use web::*;
