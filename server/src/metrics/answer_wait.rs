//! Input -> publish: how long the app took to answer a viewer's input, from the input's
//! arrival at the server to the publish of the first frame the app marked as answering it
//! (`FrameMeta::answering`). With the frame's stages (publish -> drawn) and the viewer's
//! input -> photon, it splits the time a user waits for a reaction into the app's part
//! (the wait for the next render, the render itself) and the stream's part.
//!
//! Both instants are on the display's clock (`InputEvent::received_us`, the frame's
//! `timestamp_us`), so no clock sync is involved. Each session keeps the arrival of the
//! inputs not answered yet (at most [`MAX_WAITING`]; the oldest go first, as an app that
//! publishes only on change may never answer a hover), and one sample per input when a
//! frame answering it (its id or a newer one) is sent.

use std::collections::VecDeque;
use std::time::Instant;

use super::stages::StageStat;
use super::Window;

/// Most inputs of one viewer waiting for an answer.
pub const MAX_WAITING: usize = 512;

/// One session's inputs waiting for an answer, and the waits measured over the window.
#[derive(Debug, Clone, Default)]
pub struct AnswerWait {
    /// `(input id, arrival µs)`, in arrival order (ids increase per viewer).
    waiting: VecDeque<(u64, u64)>,
    waits_ms: Window,
}

impl AnswerWait {
    /// The viewer's input `input_id` arrived at `received_us` (display clock).
    pub fn arrived(&mut self, input_id: u64, received_us: u64) {
        if self.waiting.len() == MAX_WAITING {
            self.waiting.pop_front();
        }
        self.waiting.push_back((input_id, received_us));
    }

    /// A frame published at `published_us` (display clock) answering the viewer's inputs
    /// up to `input_id` is being sent: one sample per input it answers. An input that
    /// arrived after that publish cannot be reflected in the frame (the app marked it
    /// answered too early): it is forgotten without a sample.
    pub fn answered(&mut self, now: Instant, input_id: u64, published_us: u64) {
        while let Some(&(id, received_us)) = self.waiting.front() {
            if id > input_id {
                break;
            }
            self.waiting.pop_front();
            if let Some(wait_us) = published_us.checked_sub(received_us) {
                self.waits_ms.push(now, wait_us as f64 / 1e3);
            }
        }
    }

    /// Inputs still waiting for an answer.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Mean and p95 of the waits over the window.
    pub fn stat(&mut self, now: Instant) -> StageStat {
        let mut values: Vec<f64> = self.waits_ms.values(now).collect();
        StageStat::of(&mut values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_answers_every_waiting_input_up_to_its_id() {
        let now = Instant::now();
        let mut w = AnswerWait::default();
        w.arrived(1, 1_000);
        w.arrived(2, 11_000);
        w.arrived(3, 21_000);
        // Published at 31 ms, answering up to input 2: waits 30 and 20 ms.
        w.answered(now, 2, 31_000);
        assert_eq!(w.waiting(), 1);
        let s = w.stat(now);
        assert_eq!(s.samples, 2);
        assert!((s.mean_ms - 25.0).abs() < 1e-9, "{s:?}");
        assert!((s.p95_ms - 30.0).abs() < 1e-9, "{s:?}");
        // A later frame answering the same ids adds nothing; input 3 is answered next.
        w.answered(now, 2, 40_000);
        w.answered(now, 3, 41_000);
        let s = w.stat(now);
        assert_eq!((s.samples, w.waiting()), (3, 0));
        assert!((s.mean_ms - 70.0 / 3.0).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn an_input_that_arrived_after_the_publish_gives_no_sample() {
        let now = Instant::now();
        let mut w = AnswerWait::default();
        w.arrived(5, 50_000);
        w.answered(now, 5, 40_000);
        assert_eq!((w.stat(now).samples, w.waiting()), (0, 0));
    }

    #[test]
    fn waiting_inputs_are_bounded_oldest_first() {
        let now = Instant::now();
        let mut w = AnswerWait::default();
        for id in 1..=(MAX_WAITING as u64 + 10) {
            w.arrived(id, id * 1_000);
        }
        assert_eq!(w.waiting(), MAX_WAITING);
        // Inputs 1..=10 were forgotten: answering up to 11 gives one sample.
        w.answered(now, 11, 20_000);
        assert_eq!(w.stat(now).samples, 1);
        assert!((w.stat(now).mean_ms - 9.0).abs() < 1e-9);
    }
}
