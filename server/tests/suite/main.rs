//! The server's integration tests, in one test binary: each file below was its own binary
//! once, and linking sixteen copies of the encoders cost minutes of every CI run. Run one
//! part with `cargo test --release -p rfb --test suite -- access::`.
//!
//! | module | what it checks |
//! |---|---|
//! | `access` | the authentication hook, the origin check, named streams, the mountable router |
//! | `backpressure` | per-viewer in-flight window, drops before encoding, resync keyframes |
//! | `bad_input` | every kind of bad message closes only its session, with its code |
//! | `cli` | the `rfb` command line as a user runs it |
//! | `color` | Display P3 and sRGB signalled in every payload, pixels never converted |
//! | `dump_au` | `rfb dump-au` writes units that decode to the pattern, byte for byte what a lane sends |
//! | `fanout` | one encode for many viewers; slow viewers fall back and rejoin |
//! | `hardening` | hosts, side channel, roles, limits, heartbeats, keyframe fairness, sizing |
//! | `input_events` | input reaches the app: poll, next, recorded events, bounded queues |
//! | `layers` | temporal layers: a slow lane member skips layer 1 without keyframes; the content tuning reaches the encoder |
//! | `lifecycle` | publish validation, client count, side channel, clean close |
//! | `negotiation` | H.264 when both sides can, else the best image format, else a clear close |
//! | `readme` | the README's quick start is `examples/quickstart.rs` verbatim |
//! | `recording` | MP4 files checked by ffprobe and ffmpeg, API and CLI |
//! | `recording_signals` | SIGTERM, SIGINT, SIGHUP and SIGKILL against recording processes |
//! | `resilience` | reconnects, restarts, decoder resets |
//! | `resize` | frame size changes and match-client sizing |
//! | `stages` | per-stage timing in `/metrics` from timed ACKs, photon reports, each viewer's own `input_id` |
//! | `streaming` | frames arrive with correct pixels on every transport |
//!
//! `common` holds the shared helpers (a server on an ephemeral port, viewers, pixel
//! checks); `probe` reads MP4 files with ffprobe and ffmpeg.

#![allow(clippy::unwrap_used)] // integration tests: a panic is the failure report

mod common;
mod probe;

mod access;
mod backpressure;
mod bad_input;
mod cli;
mod color;
mod dump_au;
mod fanout;
mod hardening;
mod input_events;
mod layers;
mod lifecycle;
mod negotiation;
mod readme;
mod recording;
mod recording_signals;
mod resilience;
mod resize;
mod stages;
mod streaming;
