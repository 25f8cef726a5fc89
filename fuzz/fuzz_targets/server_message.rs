//! `server_message`: what the viewer does with the server's bytes. The input is a session
//! from the viewer's side, a sequence of records:
//!
//! - `op & 3 == 0 | 1`, then a little-endian `u16` length and that many bytes: one
//!   WebSocket message, decoded with `rfb_protocol::decode_server` and handled the way
//!   the viewer's core does (`client-wasm/src/web/{session,core}.rs`) with its
//!   browser-free parts: `Config` resets the frame policy and builds the fit geometry,
//!   frames go through `FramePolicy::arrived`, `Stats`/`SetQuality` fold into the
//!   `ServerReport`, `Error` codes go through the close-code and reconnect tables;
//! - `op & 3 == 2`, then one byte `k`: the decoder outputs the `k`-th frame in flight
//!   (the policy decides to draw it or not; a drawn frame is displayed);
//! - `op & 3 == 3`, then one byte `k`: that frame fails to decode, or with `k == 255` the
//!   decoder itself fails.
//!
//! Checked for any input: no panic; a decoded message re-encodes to bytes that decode and
//! encode to the same bytes again; the geometry maps any canvas point to a pixel inside
//! the frame; every frame the policy received is displayed, dropped or still in flight
//! (none lost, none counted twice); acknowledgements only grow and never name a frame
//! that never arrived.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfb_protocol::fit::{FitMode, ViewGeometry};
use rfb_protocol::{decode_server, encode_server, Ack, CloseCode, FrameHeader, ServerMessage};
use rfb_viewer::policy::{Arrival, Decoded, FramePolicy};
use rfb_viewer::reconnect::retries_after;
use rfb_viewer::server_report::ServerReport;

/// The viewer's browser-free state for one connection.
#[derive(Default)]
struct Viewer {
    policy: FramePolicy,
    report: ServerReport,
    /// The transport of the last `Config` is video (`None` before the first).
    video: Option<bool>,
    /// Frames handed to the policy.
    received: u64,
    /// Highest seq handed to the policy.
    max_seq: Option<u64>,
    /// Highest seq acknowledged through the policy.
    acked: u64,
    /// Frames handed to the decoder since it was last reset, in decode order.
    decoding: Vec<(FrameHeader, bool)>,
    /// The caller's clock, in milliseconds.
    now_ms: f64,
}

impl Viewer {
    fn ack(&mut self, ack: Option<Ack>) {
        let Some(ack) = ack else { return };
        assert!(ack.seq > self.acked, "ack {} after {}", ack.seq, self.acked);
        assert!(
            self.max_seq.is_some_and(|max| ack.seq <= max),
            "ack {} for a frame that never arrived (newest {:?})",
            ack.seq,
            self.max_seq
        );
        self.acked = ack.seq;
    }

    fn arrived(&mut self, header: &FrameHeader, video: bool) {
        self.received += 1;
        self.max_seq = self.max_seq.max(Some(header.seq));
        match self.policy.arrived(header, video, self.now_ms) {
            Arrival::Discard { ack, .. } => self.ack(ack),
            Arrival::Decode => self.decoding.push((*header, video)),
        }
    }

    fn handle(&mut self, bytes: &[u8], fit: u8) {
        let Ok(msg) = decode_server(bytes) else {
            return;
        };
        round_trip(&msg);
        match msg {
            ServerMessage::Config(config) => {
                let ack = self.policy.decoder_reset();
                self.ack(ack);
                self.decoding.clear();
                self.video = Some(config.transport.is_video());
                let _ = config.color.canvas_color_space();
                let mode = [FitMode::Contain, FitMode::Cover, FitMode::Fill][usize::from(fit % 3)];
                let dpr = f64::from(config.pixel_ratio);
                let geometry = ViewGeometry::new(
                    mode,
                    (config.width, config.height),
                    (640.0, 480.0),
                    dpr,
                    4096,
                );
                check_geometry(&geometry, f64::from(fit));
            }
            ServerMessage::VideoChunk(chunk) => {
                if self.video == Some(true) {
                    self.arrived(&chunk.header, true);
                }
                // Otherwise the viewer reports it and acknowledges it outside the policy.
            }
            ServerMessage::ImageFrame(frame) => {
                let _ = frame.format.mime();
                self.arrived(&frame.header, false);
            }
            ServerMessage::Stats(stats) => {
                self.report.on_stats(stats);
                assert_eq!(
                    self.report.stats.map(|s| s.frames_dropped),
                    Some(stats.frames_dropped)
                );
            }
            ServerMessage::SetQuality(q) => {
                let before = self.report.quality_changes;
                self.report.on_quality(q);
                assert!(self.report.quality_changes >= before);
                assert_eq!(
                    self.report.target.and_then(|t| t.max_inflight),
                    Some(q.max_inflight)
                );
            }
            ServerMessage::Error(report) => {
                let known = CloseCode::from_code(report.code);
                if let Some(code) = known {
                    assert_eq!(code.code(), report.code);
                }
                let _ = retries_after(report.code);
            }
            ServerMessage::Role(role) => {
                let _ = role.name();
            }
            ServerMessage::Heartbeat | ServerMessage::Clipboard(_) => {}
        }
    }

    /// The decoder produced the `k`-th frame in flight (or the policy knows none).
    fn decoded(&mut self, k: u8) {
        let Some((frame, video)) = self.in_flight(k) else {
            return;
        };
        let now = self.now_ms;
        let decoded = if video {
            self.policy.video_decoded(frame.timestamp_us, now)
        } else {
            self.policy.image_decoded(frame.seq, now)
        };
        if let Decoded::Draw(frame) = decoded {
            let ack = if k.is_multiple_of(2) {
                let timings = frame.timings(now + f64::from(k), now + f64::from(k) * 1.5);
                let ack = self.policy.displayed(&frame, Some(timings));
                if let Some(t) = ack.and_then(|a| a.timings) {
                    assert!(t.is_consistent(), "{t:?}");
                    assert_eq!(
                        ack.map(|a| a.seq),
                        Some(frame.seq),
                        "timings of another frame"
                    );
                }
                ack
            } else {
                self.policy.draw_failed(&frame)
            };
            self.ack(ack);
        }
    }

    fn failed(&mut self, k: u8) {
        if k == u8::MAX {
            let (ack, _) = self.policy.decoder_failed();
            self.ack(ack);
            self.decoding.clear();
        } else if let Some((frame, _)) = self.in_flight(k) {
            let ack = self.policy.decode_failed(frame.seq);
            self.ack(ack);
        }
    }

    /// The `k`-th (modulo) frame handed to the decoder since it was last reset; the
    /// policy may have settled it already (then it answers `Stale` or nothing).
    fn in_flight(&self, k: u8) -> Option<(FrameHeader, bool)> {
        let n = self.decoding.len();
        (n > 0).then(|| self.decoding[usize::from(k) % n])
    }

    fn check_counts(&self) {
        let c = self.policy.counters();
        let accounted = c.frames_displayed + c.frames_dropped + u64::from(c.decode_queue_size);
        assert_eq!(
            accounted, self.received,
            "frames received {} but displayed + dropped + queued = {accounted} ({c:?})",
            self.received
        );
    }
}

/// Encoding a decoded message gives bytes that decode and encode to the same bytes. (Bytes,
/// not values: a server may send NaN floats, and NaN != NaN.)
fn round_trip(msg: &ServerMessage<'_>) {
    let bytes = encode_server(msg);
    match decode_server(&bytes) {
        Ok(again) => assert_eq!(encode_server(&again), bytes),
        Err(err) => panic!("{msg:?} re-encoded does not decode: {err}"),
    }
}

/// Any point of the canvas maps to a pixel inside the frame.
fn check_geometry(g: &ViewGeometry, seed: f64) {
    let _ = g.dest_rect();
    let max_x = f64::from(g.frame_width.saturating_sub(1));
    let max_y = f64::from(g.frame_height.saturating_sub(1));
    for (x, y) in [
        (0.0, 0.0),
        (seed, seed * 1.7),
        (639.9, 479.9),
        (-5.0, 1e9),
        (f64::NAN, 3.0),
    ] {
        let p = g.css_to_frame(x, y);
        assert!(
            (0.0..=max_x).contains(&p.x) && (0.0..=max_y).contains(&p.y),
            "({x}, {y}) maps to ({}, {}) outside {}x{}",
            p.x,
            p.y,
            g.frame_width,
            g.frame_height
        );
        let _ = g.frame_to_css(p.x, p.y);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut viewer = Viewer::default();
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        viewer.now_ms += 16.0;
        match op & 3 {
            0 | 1 => {
                let (len, tail) = match tail {
                    [lo, hi, tail @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), tail),
                    _ => (tail.len(), &[][..]),
                };
                let (bytes, tail) = tail.split_at(len.min(tail.len()));
                viewer.handle(bytes, op >> 2);
                rest = tail;
            }
            kind => {
                let (k, tail) = tail.split_first().map_or((0, &[][..]), |(k, t)| (*k, t));
                if kind == 2 {
                    viewer.decoded(k);
                } else {
                    viewer.failed(k);
                }
                rest = tail;
            }
        }
        viewer.check_counts();
    }
});
