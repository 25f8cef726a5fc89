//! The viewer's own timing: its per-frame stage durations (decode, draw, receive -> ACK)
//! and input -> photon, each over a recent window. No browser types, so native unit tests
//! cover the arithmetic; `web/core.rs` feeds it clock readings and reports the summaries
//! in `stats()` and, for input -> photon, to the server ([`PhotonReport`], about once a
//! second).
//!
//! Input -> photon: input capture gives every event an id (1, 2, 3...) and notes when the
//! DOM event happened ([`PhotonMeter::input_sent`]); the server echoes, with each frame,
//! the newest id of this viewer the app says the frame reflects
//! (`FrameHeader::input_id`). When the viewer draws such a frame, every pending input up
//! to that id is answered: its sample is drawn - event time ([`PhotonMeter::drawn`]).
//! Pending inputs are bounded ([`MAX_PENDING`]) and expire after [`MAX_PENDING_AGE_MS`]
//! without a sample: an app that publishes only when something changed never answers a
//! hover that changed nothing, and a later frame must not count it as one slow answer.
//!
//! Times are milliseconds on one clock: the core uses `performance.timeOrigin +
//! performance.now()`, so an event timestamped on the page and a draw in a worker compare.

use std::collections::VecDeque;

use rfb_protocol::timing::percentile;
use rfb_protocol::{FrameTimings, PhotonReport};

/// How far back the summaries look (milliseconds).
pub const WINDOW_MS: f64 = 5000.0;
/// Most samples a window keeps (at 60 fps, 5 s is 300).
pub const MAX_SAMPLES: usize = 1024;
/// Most inputs waiting for a frame that answers them; the oldest go first.
pub const MAX_PENDING: usize = 512;
/// An input no drawn frame answered within this long is forgotten without a sample.
pub const MAX_PENDING_AGE_MS: f64 = 1000.0;
/// Least time between two [`PhotonReport`]s to the server (milliseconds).
pub const REPORT_EVERY_MS: f64 = 1000.0;

/// Values over the last [`WINDOW_MS`], at most [`MAX_SAMPLES`] of them.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    values: VecDeque<(f64, f64)>,
}

impl Samples {
    /// Adds `value` taken at `now_ms` (non-finite values are skipped).
    pub fn push(&mut self, now_ms: f64, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.expire(now_ms);
        if self.values.len() >= MAX_SAMPLES {
            self.values.pop_front();
        }
        self.values.push_back((now_ms, value));
    }

    fn expire(&mut self, now_ms: f64) {
        while self
            .values
            .front()
            .is_some_and(|(at, _)| now_ms - at > WINDOW_MS)
        {
            self.values.pop_front();
        }
    }

    /// The values in the window at `now_ms`.
    pub fn values(&mut self, now_ms: f64) -> Vec<f64> {
        self.expire(now_ms);
        self.values.iter().map(|(_, v)| *v).collect()
    }

    /// Mean and p95 of the window, `None` when it is empty.
    pub fn summary(&mut self, now_ms: f64) -> Option<Summary> {
        let mut values = self.values(now_ms);
        let count = values.len();
        let mean = values.iter().sum::<f64>() / count.max(1) as f64;
        let p95 = percentile(&mut values, 0.95)?;
        let p50 = percentile(&mut values, 0.5)?;
        Some(Summary {
            mean,
            p50,
            p95,
            count,
        })
    }
}

/// A window's summary (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Samples in the window.
    pub count: usize,
}

/// The viewer's stages of the frames it drew (see `rfb::metrics::stages` for the server's
/// side of the same table).
#[derive(Debug, Clone, Default)]
pub struct StageTimes {
    decode: Samples,
    draw: Samples,
    receive_to_ack: Samples,
}

/// [`StageTimes`] summarised.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageSummary {
    /// Arrival -> decoder output.
    pub decode: Option<Summary>,
    /// Decoder output -> drawn.
    pub draw: Option<Summary>,
    /// Arrival -> ACK sent (decode, draw and what came after the draw).
    pub receive_to_ack: Option<Summary>,
}

impl StageTimes {
    /// The timings of a frame drawn (and acknowledged) at `now_ms`.
    pub fn record(&mut self, now_ms: f64, t: &FrameTimings) {
        let ms = |us: u32| f64::from(us) / 1000.0;
        self.decode.push(now_ms, ms(t.receive_to_decoded_us));
        self.draw.push(now_ms, ms(t.decoded_to_drawn_us));
        self.receive_to_ack.push(now_ms, ms(t.receive_to_ack_us));
    }

    /// Each stage over the window.
    pub fn summary(&mut self, now_ms: f64) -> StageSummary {
        StageSummary {
            decode: self.decode.summary(now_ms),
            draw: self.draw.summary(now_ms),
            receive_to_ack: self.receive_to_ack.summary(now_ms),
        }
    }
}

/// Input -> photon (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct PhotonMeter {
    /// `(input id, event time)`, ids increasing.
    pending: VecDeque<(u64, f64)>,
    samples: Samples,
    last_report_ms: Option<f64>,
    /// Samples taken since the last report.
    fresh: bool,
}

impl PhotonMeter {
    /// Input `id` was sent; its DOM event happened at `event_ms`. An id not above the
    /// last one pending is ignored (ids only grow).
    pub fn input_sent(&mut self, id: u64, event_ms: f64) {
        if !event_ms.is_finite() || self.pending.back().is_some_and(|(last, _)| id <= *last) {
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((id, event_ms));
    }

    /// A frame answering input `input_id` was drawn at `drawn_ms`: every pending input up
    /// to that id gets its sample (inputs older than [`MAX_PENDING_AGE_MS`] are dropped
    /// instead). Returns how many samples were taken.
    pub fn drawn(&mut self, input_id: u64, drawn_ms: f64) -> usize {
        let mut taken = 0;
        while let Some(&(id, event_ms)) = self.pending.front() {
            if id > input_id {
                break;
            }
            self.pending.pop_front();
            let photon = drawn_ms - event_ms;
            if (0.0..=MAX_PENDING_AGE_MS).contains(&photon) {
                self.samples.push(drawn_ms, photon);
                taken += 1;
            }
        }
        self.fresh |= taken > 0;
        taken
    }

    /// Forgets inputs pending longer than [`MAX_PENDING_AGE_MS`] at `now_ms`.
    pub fn expire(&mut self, now_ms: f64) {
        while self
            .pending
            .front()
            .is_some_and(|(_, at)| now_ms - at > MAX_PENDING_AGE_MS)
        {
            self.pending.pop_front();
        }
    }

    /// A new connection: what the old one was waiting for will not be answered.
    pub fn new_connection(&mut self) {
        self.pending.clear();
    }

    /// Inputs waiting for an answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The window's summary, `None` without samples.
    pub fn summary(&mut self, now_ms: f64) -> Option<Summary> {
        self.samples.summary(now_ms)
    }

    /// The report for the server when one is due at `now_ms`: new samples were taken and
    /// the last report is [`REPORT_EVERY_MS`] old.
    pub fn report_due(&mut self, now_ms: f64) -> Option<PhotonReport> {
        let due = self
            .last_report_ms
            .is_none_or(|last| now_ms - last >= REPORT_EVERY_MS);
        if !(self.fresh && due) {
            return None;
        }
        let report = PhotonReport::from_samples_ms(&self.samples.values(now_ms))?;
        self.last_report_ms = Some(now_ms);
        self.fresh = false;
        Some(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_recent_bounded_samples() {
        let mut s = Samples::default();
        assert_eq!(s.summary(0.0), None);
        for i in 0..10 {
            s.push(f64::from(i), f64::from(i + 1));
        }
        s.push(5.0, f64::NAN);
        let sum = s.summary(10.0).expect("samples");
        assert_eq!(sum.count, 10);
        assert!((sum.mean - 5.5).abs() < 1e-12);
        assert_eq!((sum.p50, sum.p95), (6.0, 10.0));
        // 5 s later the first ones expired.
        assert_eq!(s.values(WINDOW_MS + 4.5).len(), 5);
        for i in 0..(MAX_SAMPLES + 10) {
            s.push(20_000.0, i as f64);
        }
        assert_eq!(s.values(20_000.0).len(), MAX_SAMPLES);
    }

    #[test]
    fn stages_summarise_the_ack_timings() {
        let mut st = StageTimes::default();
        for decode_us in [1000, 3000] {
            st.record(
                0.0,
                &FrameTimings {
                    receive_to_decoded_us: decode_us,
                    decoded_to_drawn_us: 500,
                    receive_to_ack_us: decode_us + 600,
                },
            );
        }
        let s = st.summary(1.0);
        assert_eq!(s.decode.map(|d| d.mean), Some(2.0));
        assert_eq!(s.draw.map(|d| d.p95), Some(0.5));
        assert_eq!(s.receive_to_ack.map(|d| d.mean), Some(2.6));
    }

    #[test]
    fn a_frame_answers_every_pending_input_up_to_its_id() {
        let mut m = PhotonMeter::default();
        m.input_sent(1, 100.0);
        m.input_sent(2, 110.0);
        m.input_sent(3, 120.0);
        assert_eq!(m.drawn(2, 150.0), 2, "inputs 1 and 2");
        assert_eq!(m.pending(), 1);
        let s = m.summary(150.0).expect("two samples");
        assert_eq!((s.count, s.mean), (2, 45.0));
        // A frame answering an older id (another viewer's frame order) takes nothing.
        assert_eq!(m.drawn(2, 160.0), 0);
        assert_eq!(m.drawn(3, 170.0), 1);
        assert_eq!(m.summary(170.0).map(|s| s.p95), Some(50.0));
    }

    #[test]
    fn unanswered_inputs_expire_instead_of_counting_as_slow() {
        let mut m = PhotonMeter::default();
        m.input_sent(1, 0.0); // a hover the app never answered
        m.input_sent(2, 2000.0);
        assert_eq!(m.drawn(2, 2030.0), 1, "only input 2 is a sample");
        assert_eq!(m.summary(2030.0).map(|s| s.p50), Some(30.0));
        m.input_sent(3, 3000.0);
        m.expire(3000.0 + MAX_PENDING_AGE_MS + 1.0);
        assert_eq!(m.pending(), 0);
        // Ids only grow; a stale or repeated id is ignored.
        m.input_sent(5, 5000.0);
        m.input_sent(4, 5001.0);
        assert_eq!(m.pending(), 1);
        for id in 10..(10 + MAX_PENDING as u64 + 5) {
            m.input_sent(id, 6000.0);
        }
        assert_eq!(m.pending(), MAX_PENDING);
    }

    #[test]
    fn reports_go_out_once_a_second_while_there_are_new_samples() {
        let mut m = PhotonMeter::default();
        assert_eq!(m.report_due(0.0), None, "nothing measured");
        m.input_sent(1, 0.0);
        m.drawn(1, 40.0);
        let r = m.report_due(50.0).expect("due");
        assert_eq!((r.samples, r.p50_us, r.p95_us), (1, 40_000, 40_000));
        m.input_sent(2, 60.0);
        m.drawn(2, 80.0);
        assert_eq!(
            m.report_due(500.0),
            None,
            "less than a second since the last"
        );
        assert!(m.report_due(1100.0).is_some());
        assert_eq!(m.report_due(2500.0), None, "no new samples");
        assert!(rfb_protocol::limits::check_photon(&r).is_ok());
    }
}
