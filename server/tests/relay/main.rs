//! The NATS relay: an origin (`ServeOptions::relay`), a `nats-server` of the test's own on
//! a free loopback port, edges (`rfb::relay::edge::serve_edge`) and native viewers of the
//! edges, checked on decoded pixels and on the events the origin app receives.

#![allow(clippy::unwrap_used)] // integration tests: a panic is the failure report

mod answers;
mod clipboard;
#[path = "../suite/common/mod.rs"]
mod common;
mod failures;
mod layers;
mod nats;
mod parts;
mod permissions;
mod replay_window;
mod serving;
mod setup;
