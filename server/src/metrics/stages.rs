//! Where a frame's time goes, stage by stage, from `publish()` to the viewer's ACK.
//!
//! | stage | from | to | measured by |
//! |---|---|---|---|
//! | `queue` | `publish()` | the encode starting | the server |
//! | `encode` | the encode starting | the encode ending | the server |
//! | `send` | the encode ending | the socket write done (waiting for the in-flight window included) | the server |
//! | `network` | the socket write done | the ACK received, minus the viewer's receive -> ACK | both |
//! | `decode` | the message arriving in the viewer | the decoder's output | the viewer |
//! | `draw` | the decoder's output | the frame drawn | the viewer |
//! | `ack` | the frame drawn | the ACK sent | the viewer |
//!
//! The seven add up to publish -> ACK received (`latency_ms`) for a frame that was drawn.
//! The viewer's durations arrive in its ACK ([`FrameTimings`]: differences of its own
//! clock, so no clock sync is needed). A viewer is not trusted: its timings count only
//! when they fit the round trip the server measured itself ([`viewer_stages`]), so an ACK
//! claiming 10^9 us is dropped (and counted) instead of poisoning the means. Each stage
//! keeps the last [`super::WINDOW`] of samples, reported as mean and p95 per session
//! ([`StageWindows`]) and per stream ([`merged`]).

use std::time::{Duration, Instant};

use rfb_protocol::FrameTimings;
use serde::Serialize;

use super::Window;

/// Slack for the viewer's clock granularity (browsers coarsen `performance.now()`, to
/// 100 us in Chromium and up to 1 ms elsewhere) when its receive -> ACK is checked
/// against the server's round trip.
pub const CLOCK_SLACK: Duration = Duration::from_millis(2);

/// One stage of a frame's way (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// `publish()` -> encode start.
    Queue,
    /// Encode start -> encode end.
    Encode,
    /// Encode end -> socket write done.
    Send,
    /// Socket write done -> ACK received, minus the viewer's receive -> ACK.
    Network,
    /// Arrival in the viewer -> decoder output.
    Decode,
    /// Decoder output -> drawn.
    Draw,
    /// Drawn -> ACK sent.
    Ack,
}

impl Stage {
    /// Every stage, in the order a frame passes them.
    pub const ALL: [Stage; 7] = [
        Stage::Queue,
        Stage::Encode,
        Stage::Send,
        Stage::Network,
        Stage::Decode,
        Stage::Draw,
        Stage::Ack,
    ];

    /// The stage's name in `/metrics` (`queue`, `encode`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Queue => "queue",
            Stage::Encode => "encode",
            Stage::Send => "send",
            Stage::Network => "network",
            Stage::Decode => "decode",
            Stage::Draw => "draw",
            Stage::Ack => "ack",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The server's side of one frame: queue, encode and send.
pub fn server_stages(
    published_at: Instant,
    encode_time: Duration,
    encoded_at: Instant,
    written_at: Instant,
) -> [(Stage, Duration); 3] {
    let encode_started = encoded_at.checked_sub(encode_time).unwrap_or(encoded_at);
    [
        (
            Stage::Queue,
            encode_started.saturating_duration_since(published_at),
        ),
        (Stage::Encode, encode_time),
        (
            Stage::Send,
            written_at.saturating_duration_since(encoded_at),
        ),
    ]
}

/// Why a viewer's timings were not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimingsRejected {
    /// Decode and draw add up to more than the viewer's own receive -> ACK.
    #[error("decode + draw exceed receive -> ack")]
    Inconsistent,
    /// The viewer claims it held the frame longer than the whole round trip the server
    /// measured (from the start of the socket write to the ACK).
    #[error("receive -> ack of {claimed:?} exceeds the round trip of {round_trip:?}")]
    LongerThanRoundTrip {
        /// What the viewer claimed.
        claimed: Duration,
        /// What the server measured.
        round_trip: Duration,
    },
}

/// The stages an ACK's timings give: network, decode, draw and ack. `sent_at` is when
/// the socket write started, `written_at` when it was done, `acked_at` when the ACK
/// arrived (all on the server's clock).
pub fn viewer_stages(
    timings: &FrameTimings,
    sent_at: Instant,
    written_at: Instant,
    acked_at: Instant,
) -> Result<[(Stage, Duration); 4], TimingsRejected> {
    if !timings.is_consistent() {
        return Err(TimingsRejected::Inconsistent);
    }
    let us = |v: u32| Duration::from_micros(u64::from(v));
    let claimed = us(timings.receive_to_ack_us);
    let round_trip = acked_at.saturating_duration_since(sent_at);
    if claimed > round_trip + CLOCK_SLACK {
        return Err(TimingsRejected::LongerThanRoundTrip {
            claimed,
            round_trip,
        });
    }
    let decode = us(timings.receive_to_decoded_us);
    let draw = us(timings.decoded_to_drawn_us);
    Ok([
        (
            Stage::Network,
            acked_at
                .saturating_duration_since(written_at)
                .saturating_sub(claimed),
        ),
        (Stage::Decode, decode),
        (Stage::Draw, draw),
        (Stage::Ack, claimed.saturating_sub(decode + draw)),
    ])
}

/// One stage over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageStat {
    /// Mean, milliseconds (0 without samples).
    pub mean_ms: f64,
    /// 95th percentile, milliseconds (0 without samples).
    pub p95_ms: f64,
    /// Frames measured in the window.
    pub samples: usize,
}

impl StageStat {
    /// The mean and p95 of `values_ms`.
    pub fn of(values_ms: &mut [f64]) -> StageStat {
        let samples = values_ms.len();
        if samples == 0 {
            return StageStat::default();
        }
        let mean_ms = values_ms.iter().sum::<f64>() / samples as f64;
        let p95_ms = rfb_protocol::timing::percentile(values_ms, 0.95).unwrap_or(0.0);
        StageStat {
            mean_ms,
            p95_ms,
            samples,
        }
    }
}

/// Every stage over the window, as `/metrics` shows it (`"stages": {"queue": {...}, ...}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stages {
    /// `publish()` -> encode start.
    pub queue: StageStat,
    /// Encode start -> encode end.
    pub encode: StageStat,
    /// Encode end -> socket write done.
    pub send: StageStat,
    /// Socket write done -> ACK received, minus the viewer's receive -> ACK.
    pub network: StageStat,
    /// Arrival in the viewer -> decoder output.
    pub decode: StageStat,
    /// Decoder output -> drawn.
    pub draw: StageStat,
    /// Drawn -> ACK sent.
    pub ack: StageStat,
}

impl Stages {
    /// The stat of `stage`.
    pub fn get(&self, stage: Stage) -> &StageStat {
        match stage {
            Stage::Queue => &self.queue,
            Stage::Encode => &self.encode,
            Stage::Send => &self.send,
            Stage::Network => &self.network,
            Stage::Decode => &self.decode,
            Stage::Draw => &self.draw,
            Stage::Ack => &self.ack,
        }
    }

    fn from_values(values: &mut [Vec<f64>; 7]) -> Stages {
        let mut stat = |stage: Stage| StageStat::of(&mut values[stage.index()]);
        Stages {
            queue: stat(Stage::Queue),
            encode: stat(Stage::Encode),
            send: stat(Stage::Send),
            network: stat(Stage::Network),
            decode: stat(Stage::Decode),
            draw: stat(Stage::Draw),
            ack: stat(Stage::Ack),
        }
    }
}

/// One session's stage samples over the window.
#[derive(Debug, Clone, Default)]
pub struct StageWindows {
    windows: [Window; 7],
    /// ACK timings dropped by [`viewer_stages`].
    pub rejected: u64,
}

impl StageWindows {
    /// Records one stage of one frame.
    pub fn record(&mut self, now: Instant, stage: Stage, duration: Duration) {
        self.windows[stage.index()].push(now, duration.as_secs_f64() * 1e3);
    }

    /// Records several stages of one frame.
    pub fn record_all(&mut self, now: Instant, stages: &[(Stage, Duration)]) {
        for (stage, duration) in stages {
            self.record(now, *stage, *duration);
        }
    }

    /// The mean of one stage over the window, milliseconds (0 without samples).
    pub fn mean_ms(&mut self, now: Instant, stage: Stage) -> f64 {
        self.windows[stage.index()].mean(now)
    }

    /// Mean and p95 of every stage over the window.
    pub fn snapshot(&mut self, now: Instant) -> Stages {
        let mut values: [Vec<f64>; 7] = Default::default();
        self.collect(now, &mut values);
        Stages::from_values(&mut values)
    }

    fn collect(&mut self, now: Instant, into: &mut [Vec<f64>; 7]) {
        for (window, values) in self.windows.iter_mut().zip(into.iter_mut()) {
            values.extend(window.values(now));
        }
    }
}

/// Every stage over the samples of several sessions together (a stream's viewers).
pub fn merged<'a>(
    sessions: impl IntoIterator<Item = &'a mut StageWindows>,
    now: Instant,
) -> Stages {
    let mut values: [Vec<f64>; 7] = Default::default();
    for windows in sessions {
        windows.collect(now, &mut values);
    }
    Stages::from_values(&mut values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn timings(decode_us: u32, draw_us: u32, ack_us: u32) -> FrameTimings {
        FrameTimings {
            receive_to_decoded_us: decode_us,
            decoded_to_drawn_us: draw_us,
            receive_to_ack_us: ack_us,
        }
    }

    #[test]
    fn server_stages_split_publish_to_write() {
        let t0 = Instant::now();
        // Published at 0, encode 4 ms ending at 6 ms (so it started at 2), written at 9.
        let stages = server_stages(t0, 4 * MS, t0 + 6 * MS, t0 + 9 * MS);
        assert_eq!(
            stages,
            [
                (Stage::Queue, 2 * MS),
                (Stage::Encode, 4 * MS),
                (Stage::Send, 3 * MS)
            ]
        );
        // A frame encoded "before" its publish (an edge's relay clock) is 0, not negative.
        let stages = server_stages(t0 + 5 * MS, 4 * MS, t0 + 6 * MS, t0 + 6 * MS);
        assert_eq!(stages[0], (Stage::Queue, Duration::ZERO));
        assert_eq!(stages[2], (Stage::Send, Duration::ZERO));
    }

    #[test]
    fn the_network_is_the_round_trip_less_the_viewer() {
        let t0 = Instant::now();
        // Write started at 0 and was done at 1 ms; ACK at 11 ms; the viewer held it 7 ms
        // (decode 4, draw 2.5, then 0.5 to the ACK).
        let stages = viewer_stages(&timings(4000, 2500, 7000), t0, t0 + MS, t0 + 11 * MS)
            .expect("fits the round trip");
        assert_eq!(
            stages,
            [
                (Stage::Network, 3 * MS),
                (Stage::Decode, 4 * MS),
                (Stage::Draw, Duration::from_micros(2500)),
                (Stage::Ack, Duration::from_micros(500)),
            ]
        );
        let total: Duration = stages.iter().map(|(_, d)| *d).sum();
        assert_eq!(total + MS, 11 * MS, "the stages cover write done -> ACK");
    }

    #[test]
    fn nonsense_from_the_viewer_is_rejected_not_averaged() {
        let t0 = Instant::now();
        let acked = t0 + 20 * MS;
        // 10^9 us: far longer than the 20 ms round trip.
        let huge = viewer_stages(&timings(0, 0, 1_000_000_000), t0, t0, acked);
        assert!(matches!(
            huge,
            Err(TimingsRejected::LongerThanRoundTrip { .. })
        ));
        assert_eq!(
            viewer_stages(&timings(u32::MAX, u32::MAX, 5000), t0, t0, acked),
            Err(TimingsRejected::Inconsistent)
        );
        // Within the clock slack, a receive -> ACK a hair over the round trip is kept,
        // with a network time of 0.
        let tight = viewer_stages(&timings(10_000, 9_000, 21_000), t0, t0, acked)
            .expect("within the slack");
        assert_eq!(tight[0], (Stage::Network, Duration::ZERO));
    }

    #[test]
    fn windows_report_mean_and_p95_per_stage_and_merge_per_stream() {
        let t0 = Instant::now();
        let mut a = StageWindows::default();
        let mut b = StageWindows::default();
        for i in 1..=10u64 {
            a.record(t0, Stage::Decode, Duration::from_millis(i));
        }
        b.record(t0, Stage::Decode, Duration::from_millis(100));
        a.record(t0, Stage::Encode, 4 * MS);
        let s = a.snapshot(t0);
        assert_eq!(s.decode.samples, 10);
        assert!(
            (s.decode.mean_ms - 5.5).abs() < 1e-9,
            "{}",
            s.decode.mean_ms
        );
        assert_eq!(s.decode.p95_ms, 10.0);
        assert_eq!(s.encode.mean_ms, 4.0);
        assert_eq!(s.queue, StageStat::default(), "no samples: zeros");
        let stream = merged([&mut a, &mut b], t0);
        assert_eq!(stream.decode.samples, 11);
        assert!((stream.decode.mean_ms - 155.0 / 11.0).abs() < 1e-9);
        assert_eq!(stream.decode.p95_ms, 100.0);
        // The window forgets old samples.
        let later = t0 + super::super::WINDOW + Duration::from_secs(1);
        assert_eq!(a.snapshot(later).decode.samples, 0);
    }
}
