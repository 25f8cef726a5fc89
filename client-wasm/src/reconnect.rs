//! When and how soon the viewer reconnects after its connection ends, with no browser
//! types so native unit tests cover it; `web/session.rs` only runs the timer.
//!
//! - [`retries_after`] says whether a close is worth retrying: a lost connection, a server
//!   going away or restarting, a removed stream (it may be added again) are; a refusal that
//!   would repeat word for word (bad credentials, another protocol version, no transport in
//!   common, a stream name the server does not know, a protocol violation) is not.
//! - [`Backoff`] spaces the attempts: exponential from `initial_delay_ms` by `factor`, capped
//!   at `max_delay_ms`, each delay spread by ±`jitter` (so a restarted server is not hit by
//!   every viewer in the same millisecond), optionally giving up after `max_attempts`. A
//!   connection that reached `Config` resets it.

use rfb_protocol::CloseCode;

/// The reconnect settings (the `reconnect` option).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReconnectPolicy {
    /// Delay before the first attempt, ms.
    pub initial_delay_ms: f64,
    /// Largest delay between attempts, ms.
    pub max_delay_ms: f64,
    /// Growth of the delay per failed attempt (>= 1).
    pub factor: f64,
    /// Relative spread of each delay: 0.25 draws it from [0.75 d, 1.25 d].
    pub jitter: f64,
    /// Attempts before giving up (`None`: never give up).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay_ms: 250.0,
            max_delay_ms: 10_000.0,
            factor: 2.0,
            jitter: 0.25,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// Checks the ranges; the error names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let finite_positive = |v: f64| v.is_finite() && v >= 0.0;
        if !finite_positive(self.initial_delay_ms) || self.initial_delay_ms > 3_600_000.0 {
            return Err("initialDelayMs must be between 0 and 3600000".into());
        }
        if !finite_positive(self.max_delay_ms)
            || self.max_delay_ms < self.initial_delay_ms
            || self.max_delay_ms > 3_600_000.0
        {
            return Err("maxDelayMs must be between initialDelayMs and 3600000".into());
        }
        if !(self.factor.is_finite() && (1.0..=10.0).contains(&self.factor)) {
            return Err("factor must be between 1 and 10".into());
        }
        if !(self.jitter.is_finite() && (0.0..=1.0).contains(&self.jitter)) {
            return Err("jitter must be between 0 and 1".into());
        }
        if self.max_attempts == Some(0) {
            return Err("maxAttempts must be at least 1 (use reconnect: false for none)".into());
        }
        Ok(())
    }
}

/// True when a connection that ended with WebSocket close `code` is worth retrying.
///
/// Not retried: 4401 (authentication rejected), 4403 (this page's origin is refused),
/// 4426 (another protocol version), 4406 (no transport in common), 4404 (no such stream: a
/// mistyped name should not poll the server forever), 1002 / 1003 / 1008 / 1009 (the
/// server judged what this viewer sent invalid: sending it again would get the same
/// answer). Everything else (1006 lost, 1001 going away, 1011 server error, 1013 session
/// limit, 4408 hello timeout, 4409 unresponsive, 4410 stream removed — one attempt then
/// meets 4404 unless the app added it again —, a plain 1000 from the server) is.
pub fn retries_after(code: u16) -> bool {
    if CloseCode::from_code(code).is_some_and(CloseCode::is_permanent) {
        return false;
    }
    !matches!(code, 1002 | 1003 | 1008 | 1009)
}

/// The attempts since the last good connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: ReconnectPolicy,
    attempts: u32,
}

impl Backoff {
    /// No attempt made yet.
    pub fn new(policy: ReconnectPolicy) -> Backoff {
        Backoff {
            policy,
            attempts: 0,
        }
    }

    /// Attempts made since the last [`Backoff::reset`].
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// A connection got through (the server sent `Config`): start again from the first
    /// delay next time.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    /// Counts one attempt and returns how long to wait before it, or `None` when
    /// `max_attempts` is used up. `random` is uniform in [0, 1) (`Math.random()`).
    pub fn next_delay_ms(&mut self, random: f64) -> Option<f64> {
        let p = self.policy;
        if p.max_attempts.is_some_and(|max| self.attempts >= max) {
            return None;
        }
        let exponent = i32::try_from(self.attempts).unwrap_or(i32::MAX);
        let base = (p.initial_delay_ms * p.factor.powi(exponent)).min(p.max_delay_ms);
        self.attempts = self.attempts.saturating_add(1);
        let spread = 1.0 + p.jitter * (2.0 * random.clamp(0.0, 1.0) - 1.0);
        Some((base * spread).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ReconnectPolicy {
        ReconnectPolicy {
            initial_delay_ms: 100.0,
            max_delay_ms: 1000.0,
            factor: 2.0,
            jitter: 0.0,
            max_attempts: None,
        }
    }

    #[test]
    fn delays_grow_exponentially_up_to_the_cap() {
        let mut b = Backoff::new(policy());
        let delays: Vec<f64> = (0..7).map(|_| b.next_delay_ms(0.5).unwrap()).collect();
        assert_eq!(delays, [100.0, 200.0, 400.0, 800.0, 1000.0, 1000.0, 1000.0]);
        assert_eq!(b.attempts(), 7);
    }

    #[test]
    fn reset_starts_from_the_first_delay() {
        let mut b = Backoff::new(policy());
        b.next_delay_ms(0.5);
        b.next_delay_ms(0.5);
        b.reset();
        assert_eq!(b.next_delay_ms(0.5), Some(100.0));
    }

    #[test]
    fn jitter_spreads_within_its_bounds() {
        let p = ReconnectPolicy {
            jitter: 0.25,
            ..policy()
        };
        assert_eq!(Backoff::new(p).next_delay_ms(0.0), Some(75.0));
        assert_eq!(Backoff::new(p).next_delay_ms(0.5), Some(100.0));
        let high = Backoff::new(p).next_delay_ms(0.999_999).unwrap();
        assert!(high > 124.9 && high <= 125.0, "{high}");
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let mut b = Backoff::new(ReconnectPolicy {
            max_attempts: Some(2),
            ..policy()
        });
        assert!(b.next_delay_ms(0.5).is_some());
        assert!(b.next_delay_ms(0.5).is_some());
        assert_eq!(b.next_delay_ms(0.5), None);
    }

    #[test]
    fn refusals_that_would_repeat_are_not_retried() {
        for code in [4401, 4403, 4426, 4406, 4404, 1002, 1003, 1008, 1009] {
            assert!(!retries_after(code), "{code}");
        }
        for code in [1000, 1001, 1005, 1006, 1011, 1013, 1015, 4408, 4409, 4410] {
            assert!(retries_after(code), "{code}");
        }
    }

    #[test]
    fn validate_names_the_bad_field() {
        assert!(ReconnectPolicy::default().validate().is_ok());
        let bad = |p: ReconnectPolicy, field: &str| {
            let e = p.validate().unwrap_err();
            assert!(e.contains(field), "{e}");
        };
        bad(
            ReconnectPolicy {
                initial_delay_ms: -1.0,
                ..policy()
            },
            "initialDelayMs",
        );
        bad(
            ReconnectPolicy {
                max_delay_ms: 50.0,
                ..policy()
            },
            "maxDelayMs",
        );
        bad(
            ReconnectPolicy {
                factor: 0.5,
                ..policy()
            },
            "factor",
        );
        bad(
            ReconnectPolicy {
                jitter: 2.0,
                ..policy()
            },
            "jitter",
        );
        bad(
            ReconnectPolicy {
                max_attempts: Some(0),
                ..policy()
            },
            "maxAttempts",
        );
    }
}
