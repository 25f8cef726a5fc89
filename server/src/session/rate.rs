//! Per-viewer rate limits on what a viewer pushes into the app: input events and viewport
//! changes. Plain state machines over a caller-supplied clock, so every rule is tested
//! here.
//!
//! - Input ([`InputGate`]): a token bucket at `Limits::input_rate`. Over it, pointer moves
//!   and wheels are dropped (the next one supersedes them anyway). Presses, releases and
//!   keys are never dropped (a lost key-up would leave a key held in the app): they draw
//!   on a second bucket of the same size, and a viewer that empties that one too is
//!   flooding and is closed (1008).
//! - Viewports ([`ViewportGate`]): a token bucket at `Limits::viewport_rate`. Over it, the
//!   newest viewport waits for the next token instead of being applied; it is never lost.

use std::time::{Duration, Instant};

use rfb_protocol::Viewport;

use crate::limits::Rate;

/// A token bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate, now: Instant) -> TokenBucket {
        TokenBucket {
            rate,
            tokens: rate.burst.max(1.0),
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_second).min(self.rate.burst.max(1.0));
        self.at = now;
    }

    /// Takes a token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When the next token will be there (`now` if one is).
    pub fn next_token_at(&self, now: Instant) -> Instant {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        let tokens = self.tokens + elapsed * self.rate.per_second;
        if tokens >= 1.0 || self.rate.per_second <= 0.0 {
            return now;
        }
        now + Duration::from_secs_f64((1.0 - tokens) / self.rate.per_second)
    }
}

/// What to do with one input event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputVerdict {
    /// Pass it to the app.
    Deliver,
    /// Drop it (a move or wheel over the rate), counted.
    Drop,
    /// The viewer floods: close it with 1008.
    Flood,
}

/// The input rate limit of one viewer.
#[derive(Debug, Clone)]
pub struct InputGate {
    bucket: TokenBucket,
    overflow: TokenBucket,
}

impl InputGate {
    /// A gate at `rate`.
    pub fn new(rate: Rate, now: Instant) -> InputGate {
        InputGate {
            bucket: TokenBucket::new(rate, now),
            overflow: TokenBucket::new(rate, now),
        }
    }

    /// Judges one event; `droppable` for moves and wheels.
    pub fn admit(&mut self, droppable: bool, now: Instant) -> InputVerdict {
        if self.bucket.try_take(now) {
            InputVerdict::Deliver
        } else if droppable {
            InputVerdict::Drop
        } else if self.overflow.try_take(now) {
            InputVerdict::Deliver
        } else {
            InputVerdict::Flood
        }
    }
}

/// The viewport rate limit of one viewer.
#[derive(Debug, Clone)]
pub struct ViewportGate {
    bucket: TokenBucket,
    waiting: Option<Viewport>,
}

impl ViewportGate {
    /// A gate at `rate`.
    pub fn new(rate: Rate, now: Instant) -> ViewportGate {
        ViewportGate {
            bucket: TokenBucket::new(rate, now),
            waiting: None,
        }
    }

    /// A new viewport: `Some` to apply now, `None` when it waits (replacing any older
    /// waiting one) until [`ViewportGate::due`].
    pub fn offer(&mut self, viewport: Viewport, now: Instant) -> Option<Viewport> {
        if self.waiting.is_none() && self.bucket.try_take(now) {
            return Some(viewport);
        }
        self.waiting = Some(viewport);
        None
    }

    /// When the waiting viewport may be applied, if one waits.
    pub fn due(&self, now: Instant) -> Option<Instant> {
        self.waiting?;
        Some(self.bucket.next_token_at(now))
    }

    /// The waiting viewport, once its token is there.
    pub fn release(&mut self, now: Instant) -> Option<Viewport> {
        self.waiting?;
        if self.bucket.try_take(now) {
            self.waiting.take()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    fn viewport(w: u32) -> Viewport {
        Viewport {
            width: w as f32,
            height: 100.0,
            pwidth: w,
            pheight: 100,
            ratio: 1.0,
        }
    }

    #[test]
    fn buckets_allow_the_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(Rate::new(10.0, 3.0), t0);
        assert!((0..3).all(|_| b.try_take(t0)));
        assert!(!b.try_take(t0));
        assert_eq!(b.next_token_at(t0), ms(t0, 100));
        assert!(b.try_take(ms(t0, 100)));
        assert!(!b.try_take(ms(t0, 150)));
    }

    #[test]
    fn over_the_rate_moves_drop_presses_pass_and_a_flood_closes() {
        let t0 = Instant::now();
        let mut gate = InputGate::new(Rate::new(100.0, 10.0), t0);
        for _ in 0..10 {
            assert_eq!(gate.admit(true, t0), InputVerdict::Deliver);
        }
        assert_eq!(gate.admit(true, t0), InputVerdict::Drop, "moves drop");
        for _ in 0..10 {
            assert_eq!(gate.admit(false, t0), InputVerdict::Deliver, "keys pass");
        }
        assert_eq!(gate.admit(false, t0), InputVerdict::Flood);
        // A viewer that slows down is fine again.
        assert_eq!(gate.admit(false, ms(t0, 1000)), InputVerdict::Deliver);
    }

    #[test]
    fn a_viewport_storm_keeps_only_the_newest_and_applies_it_later() {
        let t0 = Instant::now();
        let mut gate = ViewportGate::new(Rate::new(10.0, 2.0), t0);
        assert_eq!(gate.offer(viewport(1), t0), Some(viewport(1)));
        assert_eq!(gate.offer(viewport(2), t0), Some(viewport(2)));
        for w in 3..50 {
            assert_eq!(gate.offer(viewport(w), t0), None);
        }
        assert_eq!(gate.due(t0), Some(ms(t0, 100)));
        assert_eq!(gate.release(ms(t0, 50)), None);
        assert_eq!(gate.release(ms(t0, 100)), Some(viewport(49)), "newest wins");
        assert_eq!(gate.due(ms(t0, 100)), None);
    }
}
