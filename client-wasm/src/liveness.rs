//! When a connection is dead although the socket says nothing: no browser types, so native
//! unit tests cover it; `web/session.rs` only feeds it the clock.
//!
//! A socket can hang in `CONNECTING` (a firewall that drops packets, a proxy that never
//! answers) or stay "open" after the far end vanished (a laptop that slept, a NAT that
//! forgot the flow): the browser reports no close for minutes. So the viewer watches:
//!
//! - **until `Config`**: the socket must open, the server answer the `Hello` and send its
//!   `Config` within `connect_timeout_ms` of the attempt (default
//!   [`DEFAULT_CONNECT_TIMEOUT_MS`]);
//! - **after `Config`**: when the server announced heartbeats (`StreamConfig.heartbeat_ms`,
//!   sent whenever nothing else was for that long, so a still screen is not silence), some
//!   message must arrive at least every [`MISSED_HEARTBEATS`] intervals (but never less
//!   than [`MIN_SILENCE_MS`]). A server that announces 0 is not watched.
//!
//! A late check (the page was frozen, the tab throttled, the main thread busy) proves
//! nothing about the link, so a check more than [`MAX_CHECK_GAP_MS`] after the previous
//! one only restarts the silence clock.

/// Default time allowed from opening the socket to the server's `Config` (ms).
pub const DEFAULT_CONNECT_TIMEOUT_MS: f64 = 10_000.0;
/// Heartbeat intervals of silence after which the link is dead.
pub const MISSED_HEARTBEATS: f64 = 3.0;
/// The shortest silence ever treated as a dead link (ms), whatever the interval.
pub const MIN_SILENCE_MS: f64 = 2_000.0;
/// A check this long after the previous one (ms) means the viewer itself was not running.
pub const MAX_CHECK_GAP_MS: f64 = 2_000.0;
/// How long a connection must have been negotiated for the reconnect backoff to start over
/// after it ends (ms): a server that crashes right after `Config` is not retried at the
/// first delay for ever.
pub const STABLE_AFTER_MS: f64 = 5_000.0;

/// Why a connection is declared dead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dead {
    /// No `Config` within the connect timeout; `opened` says whether the socket opened.
    NoConfig {
        /// The socket opened (the server accepted but never answered the `Hello`).
        opened: bool,
        /// The allowance, ms.
        after_ms: f64,
    },
    /// Nothing heard for `silent_ms` although heartbeats every `heartbeat_ms` were promised.
    Silent {
        /// Time since the last message, ms.
        silent_ms: f64,
        /// The announced interval, ms.
        heartbeat_ms: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Connecting { since: f64, opened: bool },
    Negotiated { since: f64, heartbeat_ms: u32 },
}

/// The liveness of one connection attempt.
#[derive(Debug, Clone)]
pub struct Liveness {
    connect_timeout_ms: f64,
    phase: Phase,
    last_heard: f64,
    last_check: f64,
}

impl Liveness {
    /// A connection attempt started at `now` (ms).
    pub fn new(connect_timeout_ms: f64, now: f64) -> Liveness {
        Liveness {
            connect_timeout_ms,
            phase: Phase::Connecting {
                since: now,
                opened: false,
            },
            last_heard: now,
            last_check: now,
        }
    }

    /// The socket opened.
    pub fn opened(&mut self) {
        if let Phase::Connecting { opened, .. } = &mut self.phase {
            *opened = true;
        }
    }

    /// A message arrived at `now`.
    pub fn heard(&mut self, now: f64) {
        self.last_heard = now;
    }

    /// The server's `Config` arrived at `now`, announcing `heartbeat_ms` (0: none). A later
    /// `Config` (a resize) keeps the time the connection was first negotiated.
    pub fn negotiated(&mut self, now: f64, heartbeat_ms: u32) {
        let since = match self.phase {
            Phase::Negotiated { since, .. } => since,
            Phase::Connecting { .. } => now,
        };
        self.phase = Phase::Negotiated {
            since,
            heartbeat_ms,
        };
        self.last_heard = now;
    }

    /// How long the connection has been negotiated at `now` (`None` before `Config`).
    pub fn negotiated_for(&self, now: f64) -> Option<f64> {
        match self.phase {
            Phase::Negotiated { since, .. } => Some(now - since),
            Phase::Connecting { .. } => None,
        }
    }

    /// The periodic check at `now`: `Some` when the connection must be given up.
    pub fn check(&mut self, now: f64) -> Option<Dead> {
        let gap = now - self.last_check;
        self.last_check = now;
        if gap > MAX_CHECK_GAP_MS {
            // We were not running: the silence says nothing about the link.
            self.last_heard = self.last_heard.max(now);
            if let Phase::Connecting { since, .. } = &mut self.phase {
                *since = since.max(now - gap.min(self.connect_timeout_ms));
            }
            return None;
        }
        match self.phase {
            Phase::Connecting { since, opened } => (now - since >= self.connect_timeout_ms)
                .then_some(Dead::NoConfig {
                    opened,
                    after_ms: self.connect_timeout_ms,
                }),
            Phase::Negotiated {
                heartbeat_ms: 0, ..
            } => None,
            Phase::Negotiated { heartbeat_ms, .. } => {
                let allowed = (f64::from(heartbeat_ms) * MISSED_HEARTBEATS).max(MIN_SILENCE_MS);
                let silent_ms = now - self.last_heard;
                (silent_ms >= allowed).then_some(Dead::Silent {
                    silent_ms,
                    heartbeat_ms,
                })
            }
        }
    }
}

/// True when a connection that was negotiated for `negotiated_for` ms (`None`: never)
/// earned a fresh backoff.
pub fn was_stable(negotiated_for: Option<f64>) -> bool {
    negotiated_for.is_some_and(|ms| ms >= STABLE_AFTER_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks every 250 ms from `from` to `to` (exclusive), returning the first verdict.
    fn run(l: &mut Liveness, from: f64, to: f64) -> Option<(f64, Dead)> {
        let mut t = from;
        while t < to {
            if let Some(dead) = l.check(t) {
                return Some((t, dead));
            }
            t += 250.0;
        }
        None
    }

    #[test]
    fn a_socket_that_never_gets_config_times_out() {
        let mut l = Liveness::new(1000.0, 0.0);
        let (at, dead) = run(&mut l, 250.0, 5000.0).unwrap();
        assert_eq!(at, 1000.0);
        assert_eq!(
            dead,
            Dead::NoConfig {
                opened: false,
                after_ms: 1000.0
            }
        );
        let mut l = Liveness::new(1000.0, 0.0);
        l.opened();
        l.heard(500.0); // e.g. a Role message, but no Config
        assert!(matches!(
            run(&mut l, 250.0, 5000.0),
            Some((1000.0, Dead::NoConfig { opened: true, .. }))
        ));
    }

    #[test]
    fn config_in_time_is_alive_and_heartbeats_keep_it_alive() {
        let mut l = Liveness::new(1000.0, 0.0);
        l.opened();
        l.negotiated(900.0, 500);
        let mut t = 1000.0;
        while t < 10_000.0 {
            if (t as u64).is_multiple_of(500) {
                l.heard(t);
            }
            assert_eq!(l.check(t), None, "at {t}");
            t += 250.0;
        }
    }

    #[test]
    fn silence_after_config_is_dead_after_three_intervals_but_not_under_the_floor() {
        let mut l = Liveness::new(1000.0, 0.0);
        l.negotiated(100.0, 1000);
        let (at, dead) = run(&mut l, 250.0, 10_000.0).unwrap();
        assert_eq!(at, 3250.0); // 100 + 3 * 1000 -> the first check at or after 3100
        assert!(matches!(
            dead,
            Dead::Silent {
                heartbeat_ms: 1000,
                ..
            }
        ));
        let mut l = Liveness::new(1000.0, 0.0);
        l.negotiated(0.0, 100); // 3 x 100 ms is under the 2 s floor
        assert_eq!(run(&mut l, 250.0, 10_000.0).unwrap().0, MIN_SILENCE_MS);
    }

    #[test]
    fn no_heartbeats_announced_means_no_silence_check() {
        let mut l = Liveness::new(1000.0, 0.0);
        l.negotiated(0.0, 0);
        assert_eq!(run(&mut l, 250.0, 60_000.0), None);
    }

    #[test]
    fn a_frozen_viewer_does_not_blame_the_link() {
        let mut l = Liveness::new(1000.0, 0.0);
        l.negotiated(0.0, 500);
        assert_eq!(l.check(250.0), None);
        // The tab was frozen for 30 s: the first check after proves nothing.
        assert_eq!(l.check(30_250.0), None);
        // Still silent a normal interval later: dead.
        assert_eq!(run(&mut l, 30_500.0, 32_000.0).map(|(t, _)| t), None);
        assert!(run(&mut l, 32_000.0, 33_000.0).is_some());
    }

    #[test]
    fn negotiated_time_survives_a_second_config() {
        let mut l = Liveness::new(1000.0, 0.0);
        assert_eq!(l.negotiated_for(50.0), None);
        l.negotiated(100.0, 0);
        l.negotiated(4000.0, 0); // a resize
        assert_eq!(l.negotiated_for(5100.0), Some(5000.0));
        assert!(was_stable(l.negotiated_for(5100.0)));
        assert!(!was_stable(l.negotiated_for(4000.0)));
        assert!(!was_stable(None));
    }
}
