//! Publish timestamps to MP4 sample times: the recording's variable-frame-rate clock.
//!
//! An MP4 sample has no timestamp of its own, only a duration; its time is the sum of the
//! durations before it. So a sample's duration is known only when the next frame arrives
//! (it is the gap between the two publish times), and [`Timeline`] answers one step late.
//!
//! The rules, all in the track timescale [`TIMESCALE`] (90 kHz, the usual video clock;
//! publish times are microseconds, converted from their absolute value so rounding never
//! accumulates):
//! - The first recorded frame is time 0. A frame published before the recording started
//!   (the display's latest frame when `record()` was called) counts as published at the
//!   start.
//! - Every later frame sits at its real publish time: a frame, 2 s of nothing, a frame gives a
//!   first sample lasting 2 s.
//! - Times strictly increase: two frames stamped with the same tick are one tick apart.
//! - The last sample lasts until the recording stopped (`stop()` or the drop of the
//!   recorder), but at least one nominal frame period (`1 / fps` hint), so a frame
//!   published right before `stop()` is still shown for a frame's time.
//! - A gap longer than `u32::MAX` ticks (13 h 15 min) is cut to that length.
//!
//! The fragmented layout also asks how long the newest frame has lasted *so far*
//! ([`Timeline::provisional`]) when it writes that frame before the next one arrives; that
//! decides nothing, the next frame or the stop still gives the final duration
//! (`record/fragmenter.rs`).

/// Ticks per second of the video track.
pub const TIMESCALE: u32 = 90_000;

/// Microseconds to whole ticks (rounded down).
fn ticks(us: u64) -> u64 {
    (u128::from(us) * u128::from(TIMESCALE) / 1_000_000) as u64
}

/// Turns publish times into sample durations; see the module docs for the rules.
#[derive(Debug, Clone)]
pub struct Timeline {
    record_start_us: u64,
    min_last_ticks: u64,
    /// Publish time (µs) of the first sample.
    origin_us: Option<u64>,
    /// Tick of the sample whose duration is not known yet.
    pending_tick: Option<u64>,
    /// Sum of the durations handed out.
    elapsed_ticks: u64,
}

impl Timeline {
    /// A timeline for a recording that started at `record_start_us` on the display clock,
    /// with `fps_hint` setting the shortest last sample. A non-positive or non-finite hint
    /// counts as 30 fps.
    pub fn new(record_start_us: u64, fps_hint: f32) -> Timeline {
        let fps = if fps_hint.is_finite() && fps_hint > 0.0 {
            f64::from(fps_hint)
        } else {
            30.0
        };
        let period = (f64::from(TIMESCALE) / fps).round().max(1.0) as u64;
        Timeline {
            record_start_us,
            min_last_ticks: period,
            origin_us: None,
            pending_tick: None,
            elapsed_ticks: 0,
        }
    }

    /// Places a frame published at `timestamp_us`. Returns the duration of the previous
    /// sample, now known (`None` for the first frame).
    pub fn place(&mut self, timestamp_us: u64) -> Option<u32> {
        let origin = *self
            .origin_us
            .get_or_insert(timestamp_us.max(self.record_start_us));
        let tick = ticks(timestamp_us.saturating_sub(origin));
        match self.pending_tick {
            None => {
                self.pending_tick = Some(tick);
                None
            }
            Some(previous) => {
                let duration = clamp(tick.saturating_sub(previous).max(1));
                self.elapsed_ticks += u64::from(duration);
                self.pending_tick = Some(self.elapsed_ticks);
                Some(duration)
            }
        }
    }

    /// Ends the timeline at `stop_us`: the duration of the last sample (`None` when no frame
    /// was placed).
    pub fn finish(&mut self, stop_us: u64) -> Option<u32> {
        let (origin, last) = (self.origin_us?, self.pending_tick.take()?);
        let until_stop = ticks(stop_us.saturating_sub(origin)).saturating_sub(last);
        let duration = clamp(until_stop.max(self.min_last_ticks));
        self.elapsed_ticks += u64::from(duration);
        Some(duration)
    }

    /// The sum of the durations handed out so far, in ticks.
    pub fn elapsed_ticks(&self) -> u64 {
        self.elapsed_ticks
    }

    /// The shortest duration of the last sample (one `1 / fps` period), in ticks.
    pub fn min_last_ticks(&self) -> u64 {
        self.min_last_ticks
    }

    /// The tick of the sample whose duration is not known yet (the newest frame).
    pub fn pending_tick(&self) -> Option<u64> {
        self.pending_tick
    }

    /// `at_us` (display clock) in ticks since the first sample; `None` before it.
    pub fn tick_at(&self, at_us: u64) -> Option<u64> {
        Some(ticks(at_us.saturating_sub(self.origin_us?)))
    }

    /// The display-clock time (µs, rounded up) of `tick`; `None` before the first sample.
    pub fn us_at(&self, tick: u64) -> Option<u64> {
        let us = (u128::from(tick) * 1_000_000).div_ceil(u128::from(TIMESCALE));
        Some(
            self.origin_us?
                .saturating_add(u64::try_from(us).unwrap_or(u64::MAX)),
        )
    }

    /// How long the pending sample has lasted at `at_us`, without deciding it: at least
    /// one tick. `None` when no sample is pending.
    pub fn provisional(&self, at_us: u64) -> Option<u32> {
        let last = self.pending_tick?;
        Some(clamp(self.tick_at(at_us)?.saturating_sub(last).max(1)))
    }
}

fn clamp(ticks: u64) -> u32 {
    u32::try_from(ticks).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_the_real_gaps_including_a_two_second_pause() {
        let mut t = Timeline::new(1_000, 30.0);
        assert_eq!(t.place(1_000), None);
        assert_eq!(t.place(34_334), Some(3_000), "33.334 ms = 3000 ticks");
        assert_eq!(t.place(2_034_334), Some(180_000), "2 s gap");
        assert_eq!(
            t.finish(2_034_434),
            Some(3_000),
            "at least one frame period"
        );
        assert_eq!(t.elapsed_ticks(), 186_000);
    }

    #[test]
    fn the_last_sample_lasts_until_stop() {
        let mut t = Timeline::new(0, 30.0);
        t.place(500_000);
        assert_eq!(
            t.finish(1_500_000),
            Some(90_000),
            "1 s from the frame to stop"
        );
    }

    #[test]
    fn a_frame_from_before_the_recording_starts_at_the_start() {
        let mut t = Timeline::new(10_000_000, 10.0);
        t.place(2_000_000);
        assert_eq!(t.place(10_500_000), Some(45_000), "0.5 s after the start");
        assert_eq!(t.finish(10_500_000), Some(9_000), "1/10 s minimum");
    }

    #[test]
    fn rounding_never_accumulates_and_times_strictly_increase() {
        let mut t = Timeline::new(0, 30.0);
        t.place(0);
        // 1/60 s steps do not divide into whole microseconds.
        let mut total = 0u64;
        for i in 1..=600u64 {
            total += u64::from(t.place(i * 1_000_000 / 60).expect("duration"));
        }
        assert_eq!(total, 900_000, "10 s exactly");
        assert_eq!(t.place(10_000_000), Some(1), "same tick: one tick apart");
        assert_eq!(t.place(10_000_005), Some(1), "still strictly increasing");
    }

    #[test]
    fn provisional_durations_decide_nothing() {
        let mut t = Timeline::new(0, 30.0);
        assert_eq!(
            (t.tick_at(5), t.provisional(5), t.us_at(0)),
            (None, None, None)
        );
        t.place(1_000_000);
        assert_eq!(t.tick_at(1_500_000), Some(45_000));
        assert_eq!(t.us_at(45_000), Some(1_500_000));
        assert_eq!(t.us_at(1), Some(1_000_012), "rounded up");
        assert_eq!(t.provisional(1_500_000), Some(45_000));
        assert_eq!(t.provisional(900_000), Some(1), "at least a tick");
        assert_eq!(
            t.place(2_000_000),
            Some(90_000),
            "the real gap, not a provisional one"
        );
        assert_eq!(t.pending_tick(), Some(90_000));
        assert_eq!(t.finish(2_000_000), Some(3_000));
        assert_eq!(
            t.provisional(3_000_000),
            None,
            "nothing pending after finish"
        );
    }

    #[test]
    fn empty_timelines_and_bad_hints() {
        assert_eq!(Timeline::new(0, 30.0).finish(5), None);
        let mut t = Timeline::new(0, f32::NAN);
        t.place(0);
        assert_eq!(t.finish(0), Some(3_000), "NaN counts as 30 fps");
        let mut t = Timeline::new(0, 30.0);
        t.place(0);
        assert_eq!(t.place(u64::MAX), Some(u32::MAX), "absurd gaps are cut");
    }
}
