//! Timing arithmetic both ends share: percentiles over a window of samples, and the
//! viewer's per-frame durations ([`FrameTimings`]) from its clock readings. Pure, so
//! the server's `/metrics`, the viewer's stats and their tests agree on every number.

use crate::messages::{FrameTimings, PhotonReport};

/// The `q` quantile (0..=1) of `values` by nearest rank (the value at index
/// `round((n - 1) * q)` once sorted; NaNs sort last), or `None` when there are none.
/// Sorts `values` in place.
pub fn percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values.get(index).copied()
}

/// Milliseconds -> whole microseconds, clamped to `0..=u32::MAX` (a NaN reads 0).
pub fn ms_to_us(ms: f64) -> u32 {
    let us = (ms * 1000.0).round();
    if us.is_nan() || us <= 0.0 {
        0
    } else if us >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        us as u32
    }
}

impl FrameTimings {
    /// The durations of one frame from four readings of the viewer's clock, in
    /// milliseconds: the message arrived, the decoder output it, it was drawn, the ACK
    /// was sent. Readings out of order (a clock that went backwards, a decode reported
    /// before its arrival) give 0 for that span, never a negative or wrapped one, and the
    /// two inner spans never add up to more than the whole.
    pub fn from_ms(received: f64, decoded: f64, drawn: f64, acked: f64) -> FrameTimings {
        let receive_to_ack_us = ms_to_us(acked - received);
        let receive_to_decoded_us = ms_to_us(decoded - received).min(receive_to_ack_us);
        let decoded_to_drawn_us =
            ms_to_us(drawn - decoded).min(receive_to_ack_us - receive_to_decoded_us);
        FrameTimings {
            receive_to_decoded_us,
            decoded_to_drawn_us,
            receive_to_ack_us,
        }
    }

    /// True when the parts fit the whole: decode + draw <= receive -> ACK (what a viewer
    /// following [`FrameTimings::from_ms`] always sends).
    pub fn is_consistent(&self) -> bool {
        u64::from(self.receive_to_decoded_us) + u64::from(self.decoded_to_drawn_us)
            <= u64::from(self.receive_to_ack_us)
    }
}

impl PhotonReport {
    /// The report of a window of input -> photon times in milliseconds (`None` when it is
    /// empty). Values are clamped to [`crate::limits::MAX_PHOTON_US`] and the count to
    /// [`crate::limits::MAX_PHOTON_SAMPLES`], so the report always passes the limits.
    pub fn from_samples_ms(samples: &[f64]) -> Option<PhotonReport> {
        let mut values: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        let cap = crate::limits::MAX_PHOTON_US;
        let p50_us = ms_to_us(percentile(&mut values, 0.5)?).min(cap);
        let p95_us = ms_to_us(percentile(&mut values, 0.95)?).clamp(p50_us, cap);
        let count = u32::try_from(values.len()).unwrap_or(u32::MAX);
        Some(PhotonReport {
            samples: count.min(crate::limits::MAX_PHOTON_SAMPLES),
            p50_us,
            p95_us,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(percentile(&mut v, 0.5), Some(3.0));
        assert_eq!(percentile(&mut v, 0.0), Some(1.0));
        assert_eq!(percentile(&mut v, 1.0), Some(5.0));
        // 20 values 1..=20: p95 is index round(19 * 0.95) = 18, the value 19.
        let mut twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&mut twenty, 0.95), Some(19.0));
        assert_eq!(percentile(&mut [], 0.5), None);
        assert_eq!(percentile(&mut [7.0], 0.95), Some(7.0));
        assert_eq!(percentile(&mut [1.0, 2.0], f64::NAN), Some(1.0));
    }

    #[test]
    fn frame_timings_from_clock_readings() {
        let t = FrameTimings::from_ms(100.0, 104.25, 106.0, 106.5);
        assert_eq!(
            t,
            FrameTimings {
                receive_to_decoded_us: 4250,
                decoded_to_drawn_us: 1750,
                receive_to_ack_us: 6500,
            }
        );
        assert!(t.is_consistent());
    }

    #[test]
    fn out_of_order_readings_never_go_negative_or_exceed_the_whole() {
        // Decoded "before" it arrived, drawn before decoded: those spans are 0.
        let t = FrameTimings::from_ms(100.0, 99.0, 98.0, 101.0);
        assert_eq!(t.receive_to_decoded_us, 0);
        assert_eq!(t.decoded_to_drawn_us, 0);
        assert_eq!(t.receive_to_ack_us, 1000);
        // An ACK "before" the draw: the parts are cut to the whole.
        let t = FrameTimings::from_ms(0.0, 3.0, 10.0, 5.0);
        assert_eq!(
            (t.receive_to_decoded_us, t.decoded_to_drawn_us),
            (3000, 2000)
        );
        assert!(t.is_consistent());
        assert_eq!(
            FrameTimings::from_ms(0.0, f64::NAN, 1.0, 2.0).receive_to_decoded_us,
            0
        );
        assert_eq!(ms_to_us(1e12), u32::MAX);
    }

    #[test]
    fn inconsistent_timings_are_recognised() {
        let t = FrameTimings {
            receive_to_decoded_us: u32::MAX,
            decoded_to_drawn_us: u32::MAX,
            receive_to_ack_us: 10,
        };
        assert!(!t.is_consistent());
    }

    #[test]
    fn photon_reports_summarise_and_stay_within_the_limits() {
        assert_eq!(PhotonReport::from_samples_ms(&[]), None);
        let r = PhotonReport::from_samples_ms(&[30.0, 10.0, 20.0, f64::NAN]).expect("report");
        assert_eq!((r.samples, r.p50_us, r.p95_us), (3, 20_000, 30_000));
        let huge = PhotonReport::from_samples_ms(&[1e9]).expect("report");
        assert_eq!(huge.p95_us, crate::limits::MAX_PHOTON_US);
        assert!(crate::limits::check_photon(&huge).is_ok());
    }
}
