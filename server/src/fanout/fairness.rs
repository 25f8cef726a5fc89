//! Keyframe fairness on a shared lane: what one viewer needs must not cost the others.
//!
//! An IDR on a lane goes to every member, so a member's needs (joining, a keyframe
//! request, a decoder reset, rejoining after falling behind) are rationed:
//! - the lane encodes a requested IDR only with a newly published frame, never by
//!   re-encoding one already sent, and at most one per [`super::lane::MIN_IDR_INTERVAL`]
//!   for all members together (a burst of joins shares one);
//! - on a resting stream (nothing new to encode) a member that needs a keyframe gets it
//!   from a private encoder of its own instead, and rejoins at the lane's next IDR;
//! - a member whose request the lane has not answered within [`IDR_WAIT`] does the same;
//! - a member that needed more than [`MAX_NEEDS`] keyframes within [`NEEDS_WINDOW`], or
//!   whose acknowledgements stalled (the in-flight backstop), moves to a private encoder
//!   instead of resyncing the lane, and waits longer before each rejoin
//!   ([`KeyframeNeeds::rejoin_after`]).
//!
//! So the other members pay at most one IDR per `MIN_IDR_INTERVAL`, plus the periodic ones.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::REJOIN_AFTER;

/// How long a member waits for the lane's IDR before taking a private keyframe.
pub const IDR_WAIT: Duration = Duration::from_millis(750);

/// The window over which a member's keyframe needs are counted.
pub const NEEDS_WINDOW: Duration = Duration::from_secs(10);

/// Keyframe needs within [`NEEDS_WINDOW`] a member may have before it goes private.
pub const MAX_NEEDS: usize = 3;

/// The longest wait before a viewer that keeps falling behind rejoins its lane.
pub const MAX_REJOIN_AFTER: Duration = Duration::from_secs(60);

/// How to get a member its keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedAction {
    /// Ask the lane for an IDR (rationed) and wait up to [`IDR_WAIT`].
    AskLane,
    /// Take a keyframe from a private encoder now, and rejoin later.
    GoPrivate,
}

/// One member's record of keyframe needs and fallbacks.
#[derive(Debug, Clone, Default)]
pub struct KeyframeNeeds {
    recent: VecDeque<Instant>,
    fallbacks: u32,
}

impl KeyframeNeeds {
    /// The member needs a keyframe at `now`; `resting` when the lane has nothing new to
    /// encode (it already encoded the latest frame and nothing was published since).
    pub fn on_need(&mut self, now: Instant, resting: bool) -> NeedAction {
        while self
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > NEEDS_WINDOW)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        if resting || self.recent.len() > MAX_NEEDS {
            NeedAction::GoPrivate
        } else {
            NeedAction::AskLane
        }
    }

    /// The member left the lane for a private encoder (behind, stalled, too needy).
    pub fn on_fallback(&mut self) {
        self.fallbacks = self.fallbacks.saturating_add(1);
    }

    /// The member is back on its lane and kept up: forgive the past.
    pub fn on_rejoined(&mut self) {
        self.fallbacks = self.fallbacks.saturating_sub(1);
    }

    /// How long a private member must keep up before rejoining: [`REJOIN_AFTER`],
    /// doubled for each fallback beyond the first, at most [`MAX_REJOIN_AFTER`].
    pub fn rejoin_after(&self) -> Duration {
        let doublings = self.fallbacks.saturating_sub(1).min(8);
        (REJOIN_AFTER * 2u32.pow(doublings)).min(MAX_REJOIN_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn a_resting_stream_never_asks_the_lane() {
        let t0 = Instant::now();
        let mut needs = KeyframeNeeds::default();
        assert_eq!(needs.on_need(t0, true), NeedAction::GoPrivate);
        assert_eq!(needs.on_need(ms(t0, 20_000), false), NeedAction::AskLane);
    }

    #[test]
    fn a_needy_member_goes_private_and_is_forgiven_with_time() {
        let t0 = Instant::now();
        let mut needs = KeyframeNeeds::default();
        for n in 0..MAX_NEEDS as u64 {
            assert_eq!(needs.on_need(ms(t0, n * 1000), false), NeedAction::AskLane);
        }
        assert_eq!(needs.on_need(ms(t0, 3500), false), NeedAction::GoPrivate);
        // Ten seconds later the window has moved on.
        assert_eq!(needs.on_need(ms(t0, 14_000), false), NeedAction::AskLane);
    }

    #[test]
    fn rejoins_back_off_for_viewers_that_keep_falling_behind() {
        let mut needs = KeyframeNeeds::default();
        needs.on_fallback();
        assert_eq!(needs.rejoin_after(), REJOIN_AFTER);
        needs.on_fallback();
        assert_eq!(needs.rejoin_after(), REJOIN_AFTER * 2);
        for _ in 0..20 {
            needs.on_fallback();
        }
        assert_eq!(needs.rejoin_after(), MAX_REJOIN_AFTER);
        needs.on_rejoined();
        assert!(needs.rejoin_after() <= MAX_REJOIN_AFTER);
    }
}
