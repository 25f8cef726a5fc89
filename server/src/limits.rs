//! Every bound the server puts on what others can make it hold, in one table. Each is a
//! field of [`Limits`] (`ServeOptions::limits`) with a documented default and a CLI flag,
//! and each refusal has a status or close code and a test that hits it.
//!
//! | limit | default | when exceeded | flag |
//! |---|---|---|---|
//! | [`Limits::max_connections`] | 1024 | the TCP connection is closed at once | `--max-connections` |
//! | [`Limits::max_sessions`] | 256 | WebSocket accepted, then close 1013 before `Hello` | `--max-sessions` |
//! | [`Limits::header_read_timeout`] | 10 s | a request whose head has not fully arrived this long after its first byte: connection closed | `--header-read-timeout` |
//! | [`Limits::idle_timeout`] | 60 s | an HTTP connection with no request in progress and no bytes for this long: closed (not WebSockets: viewers have heartbeats) | `--idle-timeout` |
//! | [`Limits::input_rate`] | 2000/s, burst 1000 per viewer | over it, moves and wheels are dropped (counted as `input_dropped`); a viewer that also floods presses and keys past twice the burst is closed with 1008 | `--input-rate` |
//! | [`Limits::viewport_rate`] | 10/s, burst 10 per viewer | the newest viewport waits until the rate allows it (never lost) | `--viewport-rate` |
//! | [`Limits::event_queue_bytes`] | 8 MiB per stream | the oldest events are dropped (besides `EVENT_QUEUE_CAPACITY` events) | `--event-queue-bytes` |
//! | [`Limits::recorded_events_bytes`] | 16 MiB | `/recorded-events` forgets the oldest events (besides 10 000 events) | `--recorded-events-bytes` |
//! | [`Limits::event_log_backlog_bytes`] | 4 MiB | events waiting for the event-log writer are dropped and counted | `--event-log-backlog-bytes` |
//! | [`Limits::event_log_max_bytes`] | 64 MiB | the event log is rotated: `FILE` becomes `FILE.1` (the previous `.1` is deleted) | `--event-log-max-bytes` |
//!
//! Fixed bounds, not configurable: client messages of at most 64 KiB (1009), decoded
//! values within `rfb_protocol::limits` (1002), `Hello` within `hello_timeout` (4408), a
//! send stuck for 10 s ends the session, 64 decoded messages buffered per viewer.

use std::time::Duration;

/// A token-bucket rate: `per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained events per second.
    pub per_second: f64,
    /// Events allowed at once after a quiet spell.
    pub burst: f64,
}

impl Rate {
    /// `per_second` sustained with a burst of `burst`.
    pub const fn new(per_second: f64, burst: f64) -> Rate {
        Rate { per_second, burst }
    }
}

/// The server's resource limits (see the module table).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most open TCP connections (HTTP and WebSocket together).
    pub max_connections: usize,
    /// Most concurrent viewer sessions over all streams.
    pub max_sessions: usize,
    /// Longest time a request's head may take to arrive once it started.
    pub header_read_timeout: Duration,
    /// Longest silence on an HTTP connection with no request in progress.
    pub idle_timeout: Duration,
    /// Input events per viewer.
    pub input_rate: Rate,
    /// Viewport changes per viewer.
    pub viewport_rate: Rate,
    /// Bytes of undrained events a stream keeps for the app.
    pub event_queue_bytes: usize,
    /// Bytes of JSON `/recorded-events` keeps.
    pub recorded_events_bytes: usize,
    /// Bytes of JSON lines waiting for the event-log writer.
    pub event_log_backlog_bytes: usize,
    /// Size at which the event log is rotated.
    pub event_log_max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_sessions: 256,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            input_rate: Rate::new(2000.0, 1000.0),
            viewport_rate: Rate::new(10.0, 10.0),
            event_queue_bytes: 8 << 20,
            recorded_events_bytes: 16 << 20,
            event_log_backlog_bytes: 4 << 20,
            event_log_max_bytes: 64 << 20,
        }
    }
}
