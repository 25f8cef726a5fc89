//! [`Fragmenter`]: where the fragmented layout's fragments begin and end, and how long the
//! frame on screen lasts while nothing new is published. Sans-I/O: it is fed publish times
//! and the clock and answers with [`Step`]s that `fmp4.rs` turns into bytes.
//!
//! Times are the [`Timeline`]'s (90 kHz ticks from the first sample; see its rules for the
//! durations). The rules:
//!
//! - **Frame boundary.** A fragment holds the frames published within
//!   [`FRAGMENT_TICKS`] (1 s) of its first one: when a frame arrives that would make the
//!   fragment last longer (its tick plus one `1 / fps` period past the fragment's start plus
//!   1 s), the fragment closes before it, with every duration final (the new frame's
//!   arrival decides the previous one's), so a steadily published stream makes fragments of
//!   at most 1 s each. A fragment also closes before a frame that would take its sample
//!   bytes past [`MAX_FRAGMENT_BYTES`], which bounds the memory a fragment holds.
//! - **Wall-time boundary.** When nothing new is published, the fragment closes anyway
//!   once the clock passes its start plus 1 s plus one period (the period of grace lets a
//!   frame that is on time close it first). The newest frame's duration is then unknown: it
//!   is written *provisionally*, as lasting until now, and the file is complete and
//!   consistent as it stands.
//! - **The frame on screen grows.** While the stream stays still, the provisional duration
//!   of that last written sample is extended to "now" again every 1 s ([`Step::Extend`],
//!   rewritten in place by `fmp4.rs`); when the next frame arrives (or the recording
//!   stops) it is set to its final value, the real gap. The next fragment's decode time is
//!   the sum of all durations before it *including* that final value, so decode times stay
//!   continuous, no sample is invented, and a player shows the pause exactly as it
//!   happened (the frame before the pause stays on screen until the frame after it). A
//!   crash during a long pause loses at most the last second of the pause, never a frame.
//! - **Stop.** The last sample lasts until the stop, at least one period
//!   ([`Timeline::finish`]), whether it is still in the open fragment or already written.

use super::timeline::{Timeline, TIMESCALE};

/// The longest span of publishes one fragment holds: 1 s in ticks.
pub const FRAGMENT_TICKS: u64 = TIMESCALE as u64;

/// The most sample bytes one fragment holds before it closes early (a fragment is kept in
/// memory until it closes: this bounds that memory whatever the picture size and rate).
pub const MAX_FRAGMENT_BYTES: usize = 16 << 20;

/// A sample and its duration in ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed<S> {
    /// What the caller attached to the frame.
    pub sample: S,
    /// Ticks; the last sample's is provisional when the fragment is written open-ended.
    pub duration: u32,
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<S> {
    /// Write these samples, in order, as the next fragment.
    Fragment {
        /// The samples with their durations.
        samples: Vec<Timed<S>>,
        /// The last sample's duration is provisional: its frame is still on screen and a
        /// [`Step::Extend`] will follow.
        open_ended: bool,
    },
    /// The last sample of the fragment written last now lasts `duration` ticks
    /// (provisional while the frame stays on screen, final when the next one arrived or the
    /// recording stopped).
    Extend {
        /// Ticks.
        duration: u32,
    },
}

/// Splits samples into fragments; see the module docs for the rules.
#[derive(Debug)]
pub struct Fragmenter<S> {
    timeline: Timeline,
    /// Samples of the open fragment; the last one's duration is not known yet.
    open: Vec<Timed<S>>,
    /// Tick of the open fragment's first sample.
    open_start: u64,
    /// Sample bytes in the open fragment.
    open_bytes: usize,
    /// The newest frame was written open-ended: the tick at which its duration is
    /// extended next.
    extend_at: Option<u64>,
}

impl<S> Fragmenter<S> {
    /// A fragmenter timing samples with `timeline`.
    pub fn new(timeline: Timeline) -> Fragmenter<S> {
        Fragmenter {
            timeline,
            open: Vec::new(),
            open_start: 0,
            open_bytes: 0,
            extend_at: None,
        }
    }

    /// The timeline (for the total duration once finished).
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Adds a frame published at `timestamp_us` whose sample has `bytes` bytes;
    /// `new_entry` when it starts a new sample entry. Returns what to write first: the
    /// previous sample's final duration if it was written open-ended, and the open fragment
    /// if this frame closes it.
    pub fn push(
        &mut self,
        timestamp_us: u64,
        bytes: usize,
        new_entry: bool,
        sample: S,
    ) -> Vec<Step<S>> {
        let mut steps = Vec::new();
        if let Some(duration) = self.timeline.place(timestamp_us) {
            match self.open.last_mut() {
                Some(last) => last.duration = duration,
                None => {
                    if self.extend_at.take().is_some() {
                        steps.push(Step::Extend { duration });
                    }
                }
            }
        }
        let tick = self.timeline.pending_tick().unwrap_or(0);
        let too_long = tick + self.timeline.min_last_ticks() > self.open_start + FRAGMENT_TICKS;
        let too_big = self.open_bytes.saturating_add(bytes) > MAX_FRAGMENT_BYTES;
        if !self.open.is_empty() && (too_long || too_big || new_entry) {
            steps.push(self.close(false));
        }
        if self.open.is_empty() {
            self.open_start = tick;
        }
        self.open_bytes = self.open_bytes.saturating_add(bytes);
        self.open.push(Timed {
            sample,
            duration: 0,
        });
        steps
    }

    /// When [`Fragmenter::tick`] next has something to do (display clock, µs).
    pub fn deadline_us(&self) -> Option<u64> {
        let tick = if self.open.is_empty() {
            self.extend_at?
        } else {
            self.open_start + FRAGMENT_TICKS + self.timeline.min_last_ticks()
        };
        self.timeline.us_at(tick)
    }

    /// The clock reads `now_us` (display clock): closes a fragment nothing new was
    /// published into for 1 s, or extends the frame on screen.
    pub fn tick(&mut self, now_us: u64) -> Option<Step<S>> {
        let deadline = self.deadline_us()?;
        if now_us < deadline {
            return None;
        }
        let duration = self.timeline.provisional(now_us)?;
        let next = self.timeline.tick_at(now_us)? + FRAGMENT_TICKS;
        self.extend_at = Some(next);
        match self.open.last_mut() {
            Some(last) => {
                last.duration = duration;
                Some(self.close(true))
            }
            None => Some(Step::Extend { duration }),
        }
    }

    /// Ends at `stop_us`: the open fragment with the last duration final, or the final
    /// duration of the frame written open-ended. Nothing when no frame came.
    pub fn finish(&mut self, stop_us: u64) -> Option<Step<S>> {
        let duration = self.timeline.finish(stop_us)?;
        match self.open.last_mut() {
            Some(last) => {
                last.duration = duration;
                Some(self.close(false))
            }
            None => self.extend_at.take().map(|_| Step::Extend { duration }),
        }
    }

    fn close(&mut self, open_ended: bool) -> Step<S> {
        self.open_bytes = 0;
        if !open_ended {
            self.extend_at = None;
        }
        Step::Fragment {
            samples: std::mem::take(&mut self.open),
            open_ended,
        }
    }
}

#[cfg(test)]
#[path = "fragmenter_tests.rs"]
mod tests;
