//! What a viewer's link can take, from its ACKs: the rate at which it delivered frames
//! and whether frames are queueing (round trips above the best one recently seen).
//!
//! The flow control uses it in two ways: while a viewer is congested, what is in flight
//! stays within [`QUEUE_BUDGET`] of the delivered rate ([`LinkEstimate::budget`]); and a
//! resync keyframe waits until the link is healthy again (round trips back within
//! [`HEALTHY_MARGIN`] of the base round trip) unless it fits the budget anyway.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The most stream that may wait in the network for one viewer when its link is the
/// bottleneck: what the link delivers in this long.
pub const QUEUE_BUDGET: Duration = Duration::from_millis(250);
/// A round trip this much above the base round trip means frames are queueing.
pub const HEALTHY_MARGIN: Duration = Duration::from_millis(50);
/// How far back the delivered rate looks.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Deliveries must span at least this long before they give a rate.
const MIN_RATE_SPAN: Duration = Duration::from_millis(250);
/// How far back the base (smallest) round trip looks.
const BASE_WINDOW: Duration = Duration::from_secs(10);

/// The link estimate of one viewer.
#[derive(Debug, Default)]
pub struct LinkEstimate {
    delivered: VecDeque<(Instant, usize)>,
    first_delivery: Option<Instant>,
    rtts: VecDeque<(Instant, Duration)>,
    last_rtt: Option<Duration>,
}

impl LinkEstimate {
    /// A frame of `bytes` was displayed `rtt` after it was sent.
    pub fn on_delivered(&mut self, now: Instant, bytes: usize, rtt: Duration) {
        self.first_delivery.get_or_insert(now);
        self.delivered.push_back((now, bytes));
        while self
            .delivered
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > RATE_WINDOW)
        {
            self.delivered.pop_front();
        }
        // Keep the samples that can still be the minimum.
        while self.rtts.back().is_some_and(|(_, r)| *r >= rtt) {
            self.rtts.pop_back();
        }
        self.rtts.push_back((now, rtt));
        while self
            .rtts
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > BASE_WINDOW)
        {
            self.rtts.pop_front();
        }
        self.last_rtt = Some(rtt);
    }

    /// The smallest round trip of the last 10 s.
    pub fn base_rtt(&self) -> Option<Duration> {
        self.rtts.front().map(|(_, r)| *r)
    }

    /// True unless the latest round trip says frames are queueing.
    pub fn is_healthy(&self) -> bool {
        match (self.last_rtt, self.base_rtt()) {
            (Some(last), Some(base)) => last <= base + HEALTHY_MARGIN,
            _ => true,
        }
    }

    /// Bytes per second delivered over the last second, or since the first delivery when
    /// that is more recent (`None` during the first 250 ms).
    pub fn delivered_rate(&self, now: Instant) -> Option<f64> {
        let first = self.first_delivery?;
        let span = now.saturating_duration_since(first).min(RATE_WINDOW);
        if span < MIN_RATE_SPAN {
            return None;
        }
        let bytes: usize = self
            .delivered
            .iter()
            .filter(|(t, _)| now.saturating_duration_since(*t) <= RATE_WINDOW)
            .map(|(_, b)| b)
            .sum();
        Some(bytes as f64 / span.as_secs_f64())
    }

    /// [`QUEUE_BUDGET`] worth of the delivered rate: the most bytes that should be in
    /// flight on a congested link (`None` before a second of history).
    pub fn budget(&self, now: Instant) -> Option<usize> {
        self.delivered_rate(now)
            .map(|rate| (rate * QUEUE_BUDGET.as_secs_f64()) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_steady_link_is_healthy_and_its_rate_is_measured() {
        let mut link = LinkEstimate::default();
        let t0 = Instant::now();
        for i in 0..60 {
            link.on_delivered(t0 + 33 * MS * i, 10_000, 12 * MS);
        }
        assert!(link.is_healthy());
        let rate = link
            .delivered_rate(t0 + 1947 * MS)
            .expect("a second of history");
        assert!((rate - 300_000.0).abs() < 20_000.0, "{rate}");
    }

    #[test]
    fn growing_round_trips_mean_queueing_and_the_budget_is_a_quarter_second() {
        let mut link = LinkEstimate::default();
        let t0 = Instant::now();
        // A 10 kB/s link: one 2 kB frame every 200 ms, round trips growing as a queue builds.
        for i in 0..10 {
            link.on_delivered(t0 + 200 * MS * i, 2_000, (20 + 60 * i) * MS);
        }
        assert!(!link.is_healthy());
        assert_eq!(link.base_rtt(), Some(20 * MS));
        let now = t0 + 1800 * MS;
        let budget = link.budget(now).expect("queueing");
        let rate = link.delivered_rate(now).expect("history");
        assert_eq!(budget, (rate * 0.25) as usize);
        assert!((2_000..=3_000).contains(&budget), "{budget}");
        // Once round trips fall back, the link is healthy again.
        link.on_delivered(t0 + 2000 * MS, 2_000, 25 * MS);
        assert!(link.is_healthy());
    }

    #[test]
    fn the_base_round_trip_forgets_old_minimums() {
        let mut link = LinkEstimate::default();
        let t0 = Instant::now();
        link.on_delivered(t0, 1, 5 * MS);
        link.on_delivered(t0 + 11_000 * MS, 1, 80 * MS);
        assert_eq!(link.base_rtt(), Some(80 * MS));
        assert!(link.is_healthy(), "a slower path becomes the new normal");
    }
}
