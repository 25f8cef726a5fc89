//! When an HTTP connection is given up on: a plain state machine fed the connection's
//! reads, writes and requests, so every rule is tested without sockets or sleeps.
//!
//! - **Header-read timeout**: the first byte of a request starts a clock; if no complete
//!   request head has reached the router `header_read_timeout` later, the connection is
//!   closed (slowloris: headers trickled a byte at a time).
//! - **Idle timeout**: with no request in progress and no byte of a new one, a connection
//!   is closed after `idle_timeout` (keep-alive connections left open for ever).
//! - **Stalled**: a request in progress whose connection moves no byte either way for
//!   `idle_timeout` is closed (a client that stopped reading its response).
//!
//! A WebSocket upgrade ends the HTTP connection's life here: the session owns the socket
//! and has its own liveness rules (heartbeats, the viewer timeout, the send timeout).

use std::time::{Duration, Instant};

/// Why a connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// A request head took longer than the header-read timeout.
    HeaderTimeout,
    /// Nothing happened for the idle timeout between requests.
    Idle,
    /// A request in progress moved no byte for the idle timeout.
    Stalled,
}

/// The timing state of one HTTP connection.
#[derive(Debug, Clone)]
pub struct ConnClock {
    header_timeout: Duration,
    idle_timeout: Duration,
    in_flight: usize,
    idle_since: Instant,
    head_started: Option<Instant>,
    last_progress: Instant,
}

impl ConnClock {
    /// A connection accepted at `now`.
    pub fn new(header_timeout: Duration, idle_timeout: Duration, now: Instant) -> ConnClock {
        ConnClock {
            header_timeout,
            idle_timeout,
            in_flight: 0,
            idle_since: now,
            head_started: None,
            last_progress: now,
        }
    }

    /// Bytes arrived. True when this started a request head, which brings the next
    /// check forward (the watcher must be woken).
    pub fn on_read(&mut self, now: Instant) -> bool {
        self.last_progress = now;
        if self.in_flight == 0 && self.head_started.is_none() {
            self.head_started = Some(now);
            return true;
        }
        false
    }

    /// Bytes were sent.
    pub fn on_write(&mut self, now: Instant) {
        self.last_progress = now;
    }

    /// A complete request head reached the router.
    pub fn on_request_start(&mut self) {
        self.in_flight += 1;
        self.head_started = None;
    }

    /// A response was handed back.
    pub fn on_request_end(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            self.idle_since = now;
            self.head_started = None;
        }
    }

    /// When [`ConnClock::expiry`] may next say something.
    pub fn next_check(&self) -> Instant {
        match (self.in_flight, self.head_started) {
            (0, Some(started)) => started + self.header_timeout,
            (0, None) => self.idle_since + self.idle_timeout,
            _ => self.last_progress + self.idle_timeout,
        }
    }

    /// Whether the connection has expired at `now`.
    pub fn expiry(&self, now: Instant) -> Option<Expiry> {
        if now < self.next_check() {
            return None;
        }
        Some(match (self.in_flight, self.head_started) {
            (0, Some(_)) => Expiry::HeaderTimeout,
            (0, None) => Expiry::Idle,
            _ => Expiry::Stalled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    fn s(t0: Instant, secs: u64) -> Instant {
        t0 + Duration::from_secs(secs)
    }

    #[test]
    fn a_trickled_head_times_out_after_the_header_timeout() {
        let t0 = Instant::now();
        let mut clock = ConnClock::new(HEADER, IDLE, t0);
        assert!(
            clock.on_read(s(t0, 1)),
            "the head's first byte moves the deadline"
        );
        for n in 2..11 {
            assert!(!clock.on_read(s(t0, n))); // a byte a second does not reset the clock
            assert_eq!(clock.expiry(s(t0, n)), None);
        }
        assert_eq!(clock.expiry(s(t0, 11)), Some(Expiry::HeaderTimeout));
    }

    #[test]
    fn an_idle_keep_alive_connection_closes_after_the_idle_timeout() {
        let t0 = Instant::now();
        let mut clock = ConnClock::new(HEADER, IDLE, t0);
        clock.on_read(t0);
        clock.on_request_start();
        clock.on_write(s(t0, 1));
        clock.on_request_end(s(t0, 1));
        assert_eq!(
            clock.expiry(s(t0, 30)),
            None,
            "idle is not a header timeout"
        );
        assert_eq!(clock.next_check(), s(t0, 61));
        assert_eq!(clock.expiry(s(t0, 61)), Some(Expiry::Idle));
    }

    #[test]
    fn a_connection_that_never_speaks_is_idle() {
        let t0 = Instant::now();
        let clock = ConnClock::new(HEADER, IDLE, t0);
        assert_eq!(clock.expiry(s(t0, 59)), None);
        assert_eq!(clock.expiry(s(t0, 60)), Some(Expiry::Idle));
    }

    #[test]
    fn a_request_in_progress_only_expires_when_nothing_moves() {
        let t0 = Instant::now();
        let mut clock = ConnClock::new(HEADER, IDLE, t0);
        clock.on_read(t0);
        clock.on_request_start();
        for n in (10..200).step_by(10) {
            clock.on_write(s(t0, n));
            assert_eq!(clock.expiry(s(t0, n)), None, "a long download keeps going");
        }
        assert_eq!(clock.expiry(s(t0, 250)), Some(Expiry::Stalled));
    }
}
