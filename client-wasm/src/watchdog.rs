//! The decoder watchdog: decides when a video decoder that stopped producing frames must be
//! rebuilt. No browser types, so native unit tests cover it; `web/core.rs` feeds it times
//! and executes its verdict (rebuild, `DecoderReset`, resume at the next keyframe).
//!
//! A decoder is *stalled* when it holds work (the frame policy's decode queue is not empty)
//! and has made no progress for [`Watchdog::stall_after_ms`]. Only an output frame counts as
//! progress: a decoder that keeps accepting chunks while it outputs nothing is exactly the
//! stall this catches. The clock starts at the later of the last output and the moment the
//! queue went from empty to non-empty, so a paused stream (nothing queued) never reads as
//! stalled, and a decoder given its first chunk after a long pause gets the full allowance.

/// How long a decoder may hold queued chunks without producing a frame before it is
/// considered stalled (milliseconds). Healthy WebCodecs decoders with
/// `optimizeForLatency` answer in a few milliseconds; a large keyframe in software takes
/// tens.
pub const DEFAULT_STALL_AFTER_MS: f64 = 1000.0;

/// What the watchdog saw when it fired.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    /// Chunks queued in the decoder.
    pub queued: u32,
    /// Milliseconds since the decoder last made progress.
    pub idle_ms: f64,
}

/// Stall detection for one decoder at a time (reset when it is rebuilt).
#[derive(Debug, Clone)]
pub struct Watchdog {
    stall_after_ms: f64,
    /// When the decoder last made progress: its last output, or the moment work arrived
    /// while it had none. `None` while it holds nothing.
    progress_ms: Option<f64>,
}

impl Watchdog {
    /// A watchdog that fires after `stall_after_ms` without progress.
    pub fn new(stall_after_ms: f64) -> Watchdog {
        Watchdog {
            stall_after_ms,
            progress_ms: None,
        }
    }

    /// The allowance, in milliseconds.
    pub fn stall_after_ms(&self) -> f64 {
        self.stall_after_ms
    }

    /// A chunk was handed to the decoder at `now_ms`; `queued_before` is how many it held.
    pub fn fed(&mut self, now_ms: f64, queued_before: u32) {
        if queued_before == 0 || self.progress_ms.is_none() {
            self.progress_ms = Some(now_ms);
        }
    }

    /// The decoder output a frame at `now_ms`; `queued_after` is how many it still holds.
    pub fn output(&mut self, now_ms: f64, queued_after: u32) {
        self.progress_ms = (queued_after > 0).then_some(now_ms);
    }

    /// The decoder was rebuilt (or the queue emptied without output): start afresh.
    pub fn reset(&mut self) {
        self.progress_ms = None;
    }

    /// Checks at `now_ms` with `queued` chunks in the decoder: `Some` when it is stalled.
    pub fn check(&self, now_ms: f64, queued: u32) -> Option<Stall> {
        if queued == 0 {
            return None;
        }
        let since = self.progress_ms?;
        let idle_ms = now_ms - since;
        (idle_ms > self.stall_after_ms).then_some(Stall { queued, idle_ms })
    }
}

impl Default for Watchdog {
    fn default() -> Self {
        Watchdog::new(DEFAULT_STALL_AFTER_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decoder_that_keeps_up_never_stalls() {
        let mut w = Watchdog::new(1000.0);
        for i in 0..100 {
            let t = f64::from(i) * 33.0;
            w.fed(t, 0);
            assert_eq!(w.check(t + 5.0, 1), None);
            w.output(t + 8.0, 0);
            assert_eq!(w.check(t + 20.0, 0), None);
        }
    }

    #[test]
    fn queued_work_without_output_stalls_after_the_allowance() {
        let mut w = Watchdog::new(1000.0);
        w.fed(100.0, 0);
        w.fed(133.0, 1);
        w.fed(166.0, 2);
        assert_eq!(w.check(1000.0, 3), None);
        assert_eq!(w.check(1100.0, 3), None);
        assert_eq!(
            w.check(1101.0, 3),
            Some(Stall {
                queued: 3,
                idle_ms: 1001.0
            })
        );
    }

    #[test]
    fn feeding_more_chunks_is_not_progress() {
        let mut w = Watchdog::new(500.0);
        w.fed(0.0, 0);
        for i in 1..30 {
            w.fed(f64::from(i) * 33.0, i as u32);
        }
        assert!(w.check(600.0, 30).is_some());
    }

    #[test]
    fn output_restarts_the_clock_while_work_remains() {
        let mut w = Watchdog::new(500.0);
        w.fed(0.0, 0);
        w.fed(10.0, 1);
        w.output(400.0, 1);
        assert_eq!(w.check(800.0, 1), None);
        assert!(w.check(901.0, 1).is_some());
    }

    #[test]
    fn a_paused_stream_is_not_a_stall() {
        let mut w = Watchdog::new(500.0);
        w.fed(0.0, 0);
        w.output(5.0, 0);
        // Nothing queued for a long time, then a chunk: the allowance starts at the chunk.
        assert_eq!(w.check(10_000.0, 0), None);
        w.fed(10_000.0, 0);
        assert_eq!(w.check(10_400.0, 1), None);
        assert!(w.check(10_501.0, 1).is_some());
    }

    #[test]
    fn reset_forgets_the_old_decoder() {
        let mut w = Watchdog::new(500.0);
        w.fed(0.0, 0);
        w.reset();
        assert_eq!(w.check(10_000.0, 0), None);
        // A check with work but no recorded feed (cannot happen after reset) does not fire.
        assert_eq!(w.check(10_000.0, 2), None);
    }
}
