//! `/metrics` in the Prometheus text exposition format (version 0.0.4), served for
//! `GET /metrics?format=prometheus` or a request that accepts `text/plain` (what
//! Prometheus and most agents send). Built per scrape from the same snapshots as the JSON,
//! with the `prometheus` crate's encoder. Names are stable:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `rfb_frames_sent_total`, `rfb_frames_acked_total`, `rfb_frames_dropped_total`, `rfb_keyframes_sent_total`, `rfb_sent_bytes_total` | counter | `stream`, `client_id`, `transport` |
//! | `rfb_inflight_timeouts_total`, `rfb_decoder_resets_total`, `rfb_lane_fallbacks_total`, `rfb_layer_skips_total`, `rfb_input_refused_total`, `rfb_input_dropped_total` | counter | same |
//! | `rfb_fps_sent`, `rfb_fps_acked`, `rfb_bitrate_bits_per_second`, `rfb_target_bitrate_bits_per_second`, `rfb_target_fps` | gauge | same |
//! | `rfb_encode_seconds`, `rfb_round_trip_seconds`, `rfb_latency_seconds` | gauge | same + `stat` = `mean` or `p95` (over the last 3 s) |
//! | `rfb_stage_seconds` | gauge | same + `stage` (`queue`, `encode`, `send`, `network`, `decode`, `draw`, `ack`: see [`super::stages`]) + `stat` = `mean` or `p95` |
//! | `rfb_input_to_photon_seconds` | gauge | same + `stat` = `p50` or `p95` (the viewer's last report; only viewers with one) |
//! | `rfb_input_to_publish_seconds` | gauge | same + `stat` = `mean` or `p95` (input arrival -> the answering frame's publish, see [`super::answer_wait`]; only viewers with answered input) |
//! | `rfb_viewer_timings_rejected_total` | counter | same |
//! | `rfb_stream_stage_seconds` | gauge | `stream`, `stage`, `stat` (all the stream's viewers together) |
//! | `rfb_inflight_frames`, `rfb_decode_queue_frames`, `rfb_frame_width_pixels`, `rfb_frame_height_pixels`, `rfb_shared_encoder` | gauge | same |
//! | `rfb_control_role` | gauge (1 = control, 0 = view) | same |
//! | `rfb_stream_viewers`, `rfb_stream_frames_published_total` | gauge, counter | `stream` |
//! | `rfb_websockets`, `rfb_lanes`, `rfb_encoders` | gauge | none |

use prometheus::core::Collector;
use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use super::stages::{Stage, Stages};
use super::MetricsSnapshot;
use super::Resources;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One stream's row for the exposition.
#[derive(Debug, Clone)]
pub struct StreamCounts {
    /// The stream's name.
    pub name: String,
    /// Viewers connected.
    pub viewers: usize,
    /// Frames published so far.
    pub frames_published: u64,
    /// Every stage over all of the stream's viewers.
    pub stages: Stages,
}

const SESSION_LABELS: [&str; 3] = ["stream", "client_id", "transport"];

/// A per-session series: name, help and how to read it from a snapshot.
type Series<T> = (&'static str, &'static str, fn(&MetricsSnapshot) -> T);

/// The registry of one scrape.
struct Scrape {
    registry: Registry,
}

impl Scrape {
    fn add<C: Collector + Clone + 'static>(&self, collector: C) -> Result<C, prometheus::Error> {
        self.registry.register(Box::new(collector.clone()))?;
        Ok(collector)
    }

    fn counter(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<IntCounterVec, prometheus::Error> {
        self.add(IntCounterVec::new(Opts::new(name, help), labels)?)
    }

    fn gauge(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<GaugeVec, prometheus::Error> {
        self.add(GaugeVec::new(Opts::new(name, help), labels)?)
    }
}

/// Renders the sessions, streams and server resources in the text exposition format.
pub fn render(
    sessions: &[MetricsSnapshot],
    streams: &[StreamCounts],
    resources: &Resources,
) -> Result<String, prometheus::Error> {
    let scrape = Scrape {
        registry: Registry::new(),
    };
    let counters: [Series<u64>; 12] = [
        ("rfb_frames_sent_total", "Frames sent to the viewer.", |m| {
            m.frames_sent
        }),
        (
            "rfb_frames_acked_total",
            "Frames the viewer acknowledged (displayed).",
            |m| m.frames_acked,
        ),
        (
            "rfb_frames_dropped_total",
            "Published frames this viewer never received.",
            |m| m.frames_dropped,
        ),
        (
            "rfb_keyframes_sent_total",
            "Keyframes sent to the viewer.",
            |m| m.keyframes_sent,
        ),
        (
            "rfb_sent_bytes_total",
            "Payload bytes sent to the viewer.",
            |m| m.bytes_sent,
        ),
        (
            "rfb_inflight_timeouts_total",
            "Times the in-flight backstop resynced the viewer.",
            |m| m.inflight_timeouts,
        ),
        (
            "rfb_decoder_resets_total",
            "Decoder resets the viewer reported.",
            |m| m.decoder_resets,
        ),
        (
            "rfb_lane_fallbacks_total",
            "Times the viewer left its shared encoder for a private one.",
            |m| m.lane_fallbacks,
        ),
        (
            "rfb_layer_skips_total",
            "Shared access units above temporal layer 0 the viewer skipped while behind.",
            |m| m.layer_skips,
        ),
        (
            "rfb_input_refused_total",
            "Input dropped because the viewer may only watch.",
            |m| m.input_refused,
        ),
        (
            "rfb_input_dropped_total",
            "Moves and wheels dropped over the input rate.",
            |m| m.input_dropped,
        ),
        (
            "rfb_viewer_timings_rejected_total",
            "ACK timings ignored because they did not fit the server's round trip.",
            |m| m.viewer_timings_rejected,
        ),
    ];
    let gauges: [Series<f64>; 11] = [
        (
            "rfb_fps_sent",
            "Frames sent per second over the last 3 s.",
            |m| m.fps_sent,
        ),
        (
            "rfb_fps_acked",
            "Frames acknowledged per second over the last 3 s.",
            |m| m.fps_acked,
        ),
        (
            "rfb_bitrate_bits_per_second",
            "Payload bits per second over the last 3 s.",
            |m| m.bitrate_bps,
        ),
        (
            "rfb_target_bitrate_bits_per_second",
            "The encoder's target bitrate.",
            |m| m.target_bitrate_bps as f64,
        ),
        ("rfb_target_fps", "The target frame rate.", |m| {
            f64::from(m.target_fps)
        }),
        (
            "rfb_inflight_frames",
            "Frames sent and not yet acknowledged.",
            |m| f64::from(m.inflight),
        ),
        (
            "rfb_decode_queue_frames",
            "The viewer's decode queue at its last acknowledgement.",
            |m| f64::from(m.decode_queue_size),
        ),
        (
            "rfb_frame_width_pixels",
            "Width of the frames streamed.",
            |m| f64::from(m.width),
        ),
        (
            "rfb_frame_height_pixels",
            "Height of the frames streamed.",
            |m| f64::from(m.height),
        ),
        (
            "rfb_shared_encoder",
            "1 while the viewer's frames come from a shared encode.",
            |m| f64::from(u8::from(m.shared_encoder)),
        ),
        (
            "rfb_control_role",
            "1 when the viewer may drive the app, 0 when it only watches.",
            |m| f64::from(u8::from(m.role == "control")),
        ),
    ];
    // Mean and p95 in ms; `None` leaves the session out of that family.
    let timings: [Series<Option<(f64, f64)>>; 4] = [
        (
            "rfb_encode_seconds",
            "Encode time (RGB to payload) over the last 3 s.",
            |m| Some((m.encode_ms, m.encode_p95_ms)),
        ),
        (
            "rfb_round_trip_seconds",
            "Send to acknowledged (displayed) over the last 3 s.",
            |m| Some((m.rtt_ms, m.rtt_p95_ms)),
        ),
        (
            "rfb_latency_seconds",
            "Publish to acknowledged, on the server clock, over the last 3 s.",
            |m| Some((m.latency_ms, m.latency_p95_ms)),
        ),
        (
            "rfb_input_to_publish_seconds",
            "Input arrival to the publish of the first frame answering it (the app's part of input to photon), over the last 3 s.",
            |m| {
                let stat = &m.input_to_publish;
                (stat.samples > 0).then_some((stat.mean_ms, stat.p95_ms))
            },
        ),
    ];
    let labels = |m: &MetricsSnapshot| {
        [
            m.stream.clone(),
            m.client_id.to_string(),
            m.transport.clone(),
        ]
    };
    for (name, help, value) in counters {
        let family = scrape.counter(name, help, &SESSION_LABELS)?;
        for m in sessions {
            let l = labels(m);
            family
                .with_label_values(&[&l[0], &l[1], &l[2]])
                .inc_by(value(m));
        }
    }
    for (name, help, value) in gauges {
        let family = scrape.gauge(name, help, &SESSION_LABELS)?;
        for m in sessions {
            let l = labels(m);
            family
                .with_label_values(&[&l[0], &l[1], &l[2]])
                .set(value(m));
        }
    }
    let with_stat = ["stream", "client_id", "transport", "stat"];
    for (name, help, value) in timings {
        let family = scrape.gauge(name, help, &with_stat)?;
        for m in sessions {
            let Some((mean, p95)) = value(m) else {
                continue;
            };
            let l = labels(m);
            family
                .with_label_values(&[&l[0], &l[1], &l[2], "mean"])
                .set(mean / 1e3);
            family
                .with_label_values(&[&l[0], &l[1], &l[2], "p95"])
                .set(p95 / 1e3);
        }
    }
    let stage = scrape.gauge(
        "rfb_stage_seconds",
        "Time per stage of a frame's way (publish to ACK) over the last 3 s.",
        &["stream", "client_id", "transport", "stage", "stat"],
    )?;
    for m in sessions {
        let l = labels(m);
        for s in Stage::ALL {
            let stat = m.stages.get(s);
            for (name, value) in [("mean", stat.mean_ms), ("p95", stat.p95_ms)] {
                stage
                    .with_label_values(&[&l[0], &l[1], &l[2], s.name(), name])
                    .set(value / 1e3);
            }
        }
    }
    let photon = scrape.gauge(
        "rfb_input_to_photon_seconds",
        "Input event to the first frame answering it drawn, the viewer's last report.",
        &with_stat,
    )?;
    for m in sessions {
        let Some(p) = m.input_to_photon else { continue };
        let l = labels(m);
        for (name, value) in [("p50", p.p50_ms), ("p95", p.p95_ms)] {
            photon
                .with_label_values(&[&l[0], &l[1], &l[2], name])
                .set(value / 1e3);
        }
    }
    let stream_stage = scrape.gauge(
        "rfb_stream_stage_seconds",
        "Time per stage over all of the stream's viewers over the last 3 s.",
        &["stream", "stage", "stat"],
    )?;
    for st in streams {
        for s in Stage::ALL {
            let stat = st.stages.get(s);
            for (name, value) in [("mean", stat.mean_ms), ("p95", stat.p95_ms)] {
                stream_stage
                    .with_label_values(&[&st.name, s.name(), name])
                    .set(value / 1e3);
            }
        }
    }
    let viewers = scrape.gauge(
        "rfb_stream_viewers",
        "Viewers connected to the stream.",
        &["stream"],
    )?;
    let published = scrape.counter(
        "rfb_stream_frames_published_total",
        "Frames the app published into the stream.",
        &["stream"],
    )?;
    for s in streams {
        viewers.with_label_values(&[&s.name]).set(s.viewers as f64);
        published
            .with_label_values(&[&s.name])
            .inc_by(s.frames_published);
    }
    for (name, help, value) in [
        (
            "rfb_websockets",
            "WebSockets open (viewers and handshakes).",
            resources.websockets,
        ),
        (
            "rfb_lanes",
            "Shared H.264 encoders running.",
            resources.lanes,
        ),
        ("rfb_encoders", "Encoders alive.", resources.encoders),
    ] {
        let gauge = scrape.add(IntGauge::new(name, help)?)?;
        gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    let mut out = Vec::new();
    TextEncoder::new().encode(&scrape.registry.gather(), &mut out)?;
    String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::stages::StageStat;
    use crate::metrics::PhotonStats;

    fn session(client_id: u64, transport: &str) -> MetricsSnapshot {
        MetricsSnapshot {
            client_id,
            stream: "cam".into(),
            transport: transport.into(),
            codec: "avc1.42C01F".into(),
            width: 1280,
            height: 720,
            fps_sent: 30.0,
            fps_acked: 29.5,
            bitrate_bps: 4e6,
            encode_ms: 4.5,
            encode_p95_ms: 6.0,
            rtt_ms: 8.0,
            rtt_p95_ms: 12.0,
            latency_ms: 14.0,
            latency_p95_ms: 20.0,
            frames_sent: 300,
            frames_acked: 298,
            frames_dropped: 2,
            keyframes_sent: 3,
            bytes_sent: 1_000_000,
            inflight: 1,
            decode_queue_size: 0,
            inflight_timeouts: 0,
            decoder_resets: 1,
            target_bitrate_bps: 8_000_000,
            target_fps: 30.0,
            shared_encoder: true,
            lane_fallbacks: 0,
            layer_skips: 5,
            role: "control".into(),
            input_refused: 0,
            input_dropped: 4,
            stages: Stages {
                decode: StageStat {
                    mean_ms: 3.0,
                    p95_ms: 5.0,
                    samples: 90,
                },
                ..Stages::default()
            },
            viewer_timings_rejected: 1,
            input_to_publish: if client_id == 1 {
                StageStat {
                    mean_ms: 21.0,
                    p95_ms: 33.0,
                    samples: 30,
                }
            } else {
                StageStat::default()
            },
            input_to_photon: (client_id == 1).then_some(PhotonStats {
                p50_ms: 40.0,
                p95_ms: 65.0,
                samples: 30,
            }),
        }
    }

    #[test]
    fn the_exposition_parses_and_carries_the_labels() {
        let text = render(
            &[session(1, "h264"), session(2, "jpeg")],
            &[StreamCounts {
                name: "cam".into(),
                viewers: 2,
                frames_published: 301,
                stages: Stages {
                    network: StageStat {
                        mean_ms: 1.5,
                        p95_ms: 2.5,
                        samples: 180,
                    },
                    ..Stages::default()
                },
            }],
            &Resources {
                websockets: 2,
                lanes: 1,
                encoders: 2,
                ..Resources::default()
            },
        )
        .expect("renders");
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("a valid exposition");
        let find = |name: &str, client: &str| {
            scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == name && s.labels.get("client_id").unwrap_or_default() == client
                })
                .unwrap_or_else(|| panic!("{name} for client {client}"))
                .clone()
        };
        let sent = find("rfb_frames_sent_total", "1");
        assert!(matches!(sent.value, prometheus_parse::Value::Counter(v) if v == 300.0));
        assert_eq!(sent.labels.get("stream"), Some("cam"));
        assert_eq!(
            find("rfb_frames_sent_total", "2").labels.get("transport"),
            Some("jpeg")
        );
        let p95 = scrape
            .samples
            .iter()
            .find(|s| s.metric == "rfb_round_trip_seconds" && s.labels.get("stat") == Some("p95"))
            .expect("rtt p95");
        assert!(matches!(p95.value, prometheus_parse::Value::Gauge(v) if (v - 0.012).abs() < 1e-9));
        assert!(scrape.samples.iter().any(|s| s.metric == "rfb_lanes"
            && matches!(s.value, prometheus_parse::Value::Gauge(v) if v == 1.0)));
        assert!(text.contains("# TYPE rfb_frames_sent_total counter"));
        let skips = find("rfb_layer_skips_total", "1");
        assert!(matches!(skips.value, prometheus_parse::Value::Counter(v) if v == 5.0));
        let gauge = |name: &str, labels: &[(&str, &str)]| {
            let sample = scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
                })
                .unwrap_or_else(|| panic!("{name} {labels:?}"));
            match sample.value {
                prometheus_parse::Value::Gauge(v) => v,
                ref other => panic!("{name} is {other:?}"),
            }
        };
        let decode_p95 = gauge(
            "rfb_stage_seconds",
            &[("client_id", "2"), ("stage", "decode"), ("stat", "p95")],
        );
        assert!((decode_p95 - 0.005).abs() < 1e-12, "{decode_p95}");
        assert_eq!(
            gauge(
                "rfb_stage_seconds",
                &[("client_id", "1"), ("stage", "queue"), ("stat", "mean")]
            ),
            0.0
        );
        let photon = gauge(
            "rfb_input_to_photon_seconds",
            &[("client_id", "1"), ("stat", "p50")],
        );
        assert!((photon - 0.04).abs() < 1e-12, "{photon}");
        assert!(
            !scrape
                .samples
                .iter()
                .any(|s| s.metric == "rfb_input_to_photon_seconds"
                    && s.labels.get("client_id") == Some("2")),
            "no report, no sample"
        );
        let answered = gauge(
            "rfb_input_to_publish_seconds",
            &[("client_id", "1"), ("stat", "p95")],
        );
        assert!((answered - 0.033).abs() < 1e-12, "{answered}");
        assert!(
            !scrape
                .samples
                .iter()
                .any(|s| s.metric == "rfb_input_to_publish_seconds"
                    && s.labels.get("client_id") == Some("2")),
            "no answered input, no sample"
        );
        let network = gauge(
            "rfb_stream_stage_seconds",
            &[("stream", "cam"), ("stage", "network"), ("stat", "mean")],
        );
        assert!((network - 0.0015).abs() < 1e-12, "{network}");
    }
}
