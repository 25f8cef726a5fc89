//! Per-session measurements: counters plus rates and means over a sliding window of the
//! last few seconds (not lifetime averages), and the snapshot `GET /metrics` serves as JSON
//! or, in [`exposition`], in the Prometheus text format.

pub mod answer_wait;
pub mod exposition;
pub mod stages;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rfb_protocol::PhotonReport;
use serde::Serialize;

use answer_wait::AnswerWait;
use stages::{StageStat, StageWindows, Stages};

/// What a server holds right now, for diagnostics and leak checks (`rfb soak`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// Viewer sessions past their handshake, over all streams.
    pub sessions: usize,
    /// WebSockets open (sessions plus those still in their handshake).
    pub websockets: usize,
    /// Shared H.264 lanes running.
    pub lanes: usize,
    /// Encoders alive (private, shared lanes, pooled image encoders).
    pub encoders: usize,
    /// Input events waiting for the app, over all streams.
    pub queued_events: usize,
}

/// How far back rates and means look.
pub const WINDOW: Duration = Duration::from_secs(3);

/// Samples `(time, value)` kept for [`WINDOW`], giving a rate (sum per second) or a mean.
#[derive(Debug, Clone)]
pub struct Window {
    span: Duration,
    started: Instant,
    samples: VecDeque<(Instant, f64)>,
}

impl Default for Window {
    fn default() -> Self {
        Window::new(WINDOW)
    }
}

impl Window {
    /// An empty window of `span`.
    pub fn new(span: Duration) -> Window {
        Window {
            span,
            started: Instant::now(),
            samples: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((t, _)) = self.samples.front() {
            if now.saturating_duration_since(*t) > self.span {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Adds a sample.
    pub fn push(&mut self, now: Instant, value: f64) {
        self.expire(now);
        self.samples.push_back((now, value));
    }

    /// Sum of the values in the window per second. Until the window has been alive for a
    /// whole span, the rate is over the time it has existed (at least 250 ms), so a young
    /// session does not read as slow.
    pub fn rate(&mut self, now: Instant) -> f64 {
        self.expire(now);
        let sum: f64 = self.samples.iter().map(|(_, v)| v).sum();
        let covered = now
            .saturating_duration_since(self.started)
            .clamp(Duration::from_millis(250), self.span);
        sum / covered.as_secs_f64()
    }

    /// Mean of the values in the window (0 when empty).
    pub fn mean(&mut self, now: Instant) -> f64 {
        self.expire(now);
        if self.samples.is_empty() {
            return 0.0;
        }
        self.samples.iter().map(|(_, v)| v).sum::<f64>() / self.samples.len() as f64
    }

    /// The `q` quantile (0..=1) of the values in the window (0 when empty), by nearest
    /// rank (`rfb_protocol::timing::percentile`).
    pub fn quantile(&mut self, now: Instant, q: f64) -> f64 {
        let mut values: Vec<f64> = self.values(now).collect();
        rfb_protocol::timing::percentile(&mut values, q).unwrap_or(0.0)
    }

    /// The values in the window, oldest first.
    pub fn values(&mut self, now: Instant) -> impl Iterator<Item = f64> + '_ {
        self.expire(now);
        self.samples.iter().map(|(_, v)| *v)
    }
}

/// How long a viewer's input -> photon report is shown after it arrived.
pub const PHOTON_FRESH: Duration = Duration::from_secs(5);

/// A viewer's input -> photon times as `/metrics` shows them (from its last report).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PhotonStats {
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// Input events in the viewer's window.
    pub samples: u32,
}

impl From<&PhotonReport> for PhotonStats {
    fn from(r: &PhotonReport) -> Self {
        PhotonStats {
            p50_ms: f64::from(r.p50_us) / 1e3,
            p95_ms: f64::from(r.p95_us) / 1e3,
            samples: r.samples,
        }
    }
}

/// Live measurements of one session, updated by the session and read by `/metrics`.
#[derive(Debug, Default)]
pub struct SessionMetrics {
    /// Frames sent.
    pub frames_sent: u64,
    /// Frames acknowledged.
    pub frames_acked: u64,
    /// Published frames this viewer never received.
    pub frames_dropped: u64,
    /// Keyframes sent.
    pub keyframes_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Frames in flight now.
    pub inflight: u32,
    /// The viewer's last reported decode-queue depth.
    pub decode_queue_size: u32,
    /// Times the in-flight backstop fired.
    pub inflight_timeouts: u64,
    /// Decoder resets the viewer reported.
    pub decoder_resets: u64,
    /// Current encoder target bitrate.
    pub target_bitrate_bps: u64,
    /// Current target frame rate.
    pub target_fps: f32,
    /// Frame width now streamed.
    pub width: u32,
    /// Frame height now streamed.
    pub height: u32,
    /// The codec string now streamed.
    pub codec: String,
    /// True while the viewer's frames come from a shared encode.
    pub shared_encoder: bool,
    /// Times the viewer fell behind its shared lane and continued on its own encoder.
    pub lane_fallbacks: u64,
    /// Shared access units above temporal layer 0 this viewer skipped while behind
    /// (dropped frames that cost no keyframe).
    pub layer_skips: u64,
    /// `control` or `view`.
    pub role: &'static str,
    /// Input, viewport and paste messages dropped because the viewer may only watch.
    pub input_refused: u64,
    /// Moves and wheels dropped because the viewer exceeded its input rate.
    pub input_dropped: u64,
    /// Per-stage timing of the frames (see [`stages`]).
    pub stages: StageWindows,
    /// The viewer's inputs waiting for a frame that answers them, and the waits (see
    /// [`answer_wait`]).
    pub answer_wait: AnswerWait,
    /// The viewer's last input -> photon report and when it arrived.
    pub photon: Option<(Instant, PhotonReport)>,
    sent: Window,
    acked: Window,
    bytes: Window,
    encode_ms: Window,
    rtt_ms: Window,
    latency_ms: Window,
}

impl SessionMetrics {
    /// Records a frame handed to the socket.
    pub fn on_sent(&mut self, now: Instant, bytes: usize, keyframe: bool, encode: Duration) {
        self.frames_sent += 1;
        self.bytes_sent += bytes as u64;
        if keyframe {
            self.keyframes_sent += 1;
        }
        self.sent.push(now, 1.0);
        self.bytes.push(now, bytes as f64);
        self.encode_ms.push(now, encode.as_secs_f64() * 1e3);
    }

    /// Records an acknowledged frame, its round trip (send -> ACK) and its latency
    /// (publish -> ACK).
    pub fn on_acked(&mut self, now: Instant, rtt: Duration, latency: Duration) {
        self.frames_acked += 1;
        self.acked.push(now, 1.0);
        self.rtt_ms.push(now, rtt.as_secs_f64() * 1e3);
        self.latency_ms.push(now, latency.as_secs_f64() * 1e3);
    }

    /// A point-in-time copy for reporting.
    pub fn snapshot(&mut self, now: Instant) -> MetricsSnapshot {
        MetricsSnapshot {
            client_id: 0,
            stream: String::new(),
            transport: String::new(),
            codec: self.codec.clone(),
            width: self.width,
            height: self.height,
            fps_sent: self.sent.rate(now),
            fps_acked: self.acked.rate(now),
            bitrate_bps: self.bytes.rate(now) * 8.0,
            encode_ms: self.encode_ms.mean(now),
            encode_p95_ms: self.encode_ms.quantile(now, 0.95),
            rtt_ms: self.rtt_ms.mean(now),
            rtt_p95_ms: self.rtt_ms.quantile(now, 0.95),
            latency_ms: self.latency_ms.mean(now),
            latency_p95_ms: self.latency_ms.quantile(now, 0.95),
            frames_sent: self.frames_sent,
            frames_acked: self.frames_acked,
            frames_dropped: self.frames_dropped,
            keyframes_sent: self.keyframes_sent,
            bytes_sent: self.bytes_sent,
            inflight: self.inflight,
            decode_queue_size: self.decode_queue_size,
            inflight_timeouts: self.inflight_timeouts,
            decoder_resets: self.decoder_resets,
            target_bitrate_bps: self.target_bitrate_bps,
            target_fps: self.target_fps,
            shared_encoder: self.shared_encoder,
            lane_fallbacks: self.lane_fallbacks,
            layer_skips: self.layer_skips,
            role: self.role.to_string(),
            input_refused: self.input_refused,
            input_dropped: self.input_dropped,
            stages: self.stages.snapshot(now),
            viewer_timings_rejected: self.stages.rejected,
            input_to_publish: self.answer_wait.stat(now),
            input_to_photon: self
                .photon
                .as_ref()
                .filter(|(at, _)| now.saturating_duration_since(*at) <= PHOTON_FRESH)
                .map(|(_, report)| report.into()),
        }
    }
}

/// One session's metrics as `GET /metrics` reports them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// The viewer's id on this server.
    pub client_id: u64,
    /// The stream the viewer watches.
    pub stream: String,
    /// `h264`, `jpeg`, `png` or `webp`.
    pub transport: String,
    /// The codec string now streamed.
    pub codec: String,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames sent per second over the window.
    pub fps_sent: f64,
    /// Frames acknowledged per second over the window.
    pub fps_acked: f64,
    /// Payload bits per second over the window.
    pub bitrate_bps: f64,
    /// Mean encode time over the window, ms.
    pub encode_ms: f64,
    /// 95th percentile encode time over the window, ms.
    pub encode_p95_ms: f64,
    /// Mean ACK round trip (sent -> displayed) over the window, ms.
    pub rtt_ms: f64,
    /// 95th percentile ACK round trip over the window, ms.
    pub rtt_p95_ms: f64,
    /// Mean latency from `publish()` to the viewer's ACK (encode, send, decode, draw and
    /// the ACK's way back) over the window, ms; on the server's clock alone.
    pub latency_ms: f64,
    /// 95th percentile of that latency, ms.
    pub latency_p95_ms: f64,
    /// Frames sent in total.
    pub frames_sent: u64,
    /// Frames acknowledged in total.
    pub frames_acked: u64,
    /// Published frames never sent to this viewer.
    pub frames_dropped: u64,
    /// Keyframes sent in total.
    pub keyframes_sent: u64,
    /// Payload bytes sent in total.
    pub bytes_sent: u64,
    /// Frames in flight now.
    pub inflight: u32,
    /// The viewer's decode-queue depth at its last ACK.
    pub decode_queue_size: u32,
    /// Times the in-flight backstop fired.
    pub inflight_timeouts: u64,
    /// Decoder resets the viewer reported.
    pub decoder_resets: u64,
    /// Encoder target bitrate.
    pub target_bitrate_bps: u64,
    /// Target frame rate.
    pub target_fps: f32,
    /// True while the viewer's frames come from a shared encode.
    pub shared_encoder: bool,
    /// Times the viewer fell behind its shared lane and continued on its own encoder.
    pub lane_fallbacks: u64,
    /// Shared access units above temporal layer 0 the viewer skipped while behind
    /// (dropped frames that cost no keyframe; also counted in `frames_dropped`).
    pub layer_skips: u64,
    /// `control` (may drive the app) or `view` (watches only).
    pub role: String,
    /// Input, viewport and paste messages dropped because the viewer may only watch.
    pub input_refused: u64,
    /// Moves and wheels dropped because the viewer exceeded its input rate.
    pub input_dropped: u64,
    /// Mean and p95 of each stage of a frame's way over the window (see [`stages`]).
    pub stages: Stages,
    /// ACK timings ignored because they did not fit the server's round trip.
    pub viewer_timings_rejected: u64,
    /// Input arrival -> publish of the first frame answering it (the app's part of input
    /// -> photon) over the window, on the server's clock (see [`answer_wait`]).
    pub input_to_publish: StageStat,
    /// The viewer's input -> photon times from its last report (null without input the
    /// app answered, or when the last report is older than 5 s).
    pub input_to_photon: Option<PhotonStats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_cover_only_the_window() {
        let mut w = Window::new(Duration::from_secs(2));
        let t0 = w.started;
        for i in 0..60 {
            w.push(t0 + Duration::from_millis(i * 100), 1.0);
        }
        // At t = 5.9 s only the samples of the last 2 s count: 21 of them.
        let now = t0 + Duration::from_millis(5900);
        assert!((w.rate(now) - 10.5).abs() < 1e-9, "{}", w.rate(now));
        assert_eq!(w.rate(now + Duration::from_secs(10)), 0.0);
    }

    #[test]
    fn a_young_window_rates_over_its_age() {
        let mut w = Window::new(Duration::from_secs(3));
        let t0 = w.started;
        for i in 0..15 {
            w.push(t0 + Duration::from_millis(i * 33), 1.0);
        }
        let rate = w.rate(t0 + Duration::from_millis(500));
        assert!((rate - 30.0).abs() < 0.01, "{rate}");
    }

    #[test]
    fn mean_and_quantile() {
        let t0 = Instant::now();
        let mut w = Window::default();
        for v in [1.0, 2.0, 3.0, 10.0] {
            w.push(t0, v);
        }
        assert_eq!(w.mean(t0), 4.0);
        assert_eq!(w.quantile(t0, 1.0), 10.0);
        assert_eq!(w.quantile(t0, 0.0), 1.0);
    }
}
