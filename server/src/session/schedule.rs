//! When a session does what: starting encodes (with pacing), and the timers for stats,
//! the in-flight backstop, adaptive quality, stills after settle and rejoining a lane.

use std::time::{Duration, Instant};

use rfb_protocol::{CloseCode, ImageFormat, QualityTarget, ServerMessage, ServerStats, Transport};

use super::end::SessionEnd;
use super::source::{
    encode_private, encode_shared_image, encode_video_still, encoder_spec, lane_key, Source,
};
use super::stream::{Session, ADAPT_EVERY};
use crate::adaptive::{Lever, Quality};
use crate::encode::EncoderSpec;
use crate::fanout::image_cache::ImageKey;
use crate::frame::PublishedFrame;
use crate::sync::lock;

impl Session {
    /// The private encoder spec at the current quality.
    /// The private encoder spec at the current quality, for `frame`'s size and colour.
    pub(super) fn encoder_spec(&self, frame: Option<&PublishedFrame>) -> EncoderSpec {
        let q = &self.quality;
        encoder_spec(
            &self.stream,
            self.transport,
            q.bitrate_bps,
            q.fps,
            q.jpeg_quality,
            frame,
        )
    }

    /// The least time between two sends when the adaptive controller lowered the frame
    /// rate below the stream's (private and image sources; lanes pace themselves).
    fn pacing(&self) -> Option<Duration> {
        let reduced = self.quality.fps + 0.01 < self.stream.options.fps;
        (reduced && self.quality.fps > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / f64::from(self.quality.fps)))
    }

    /// True when a frame about the size of the last one may be sent now.
    pub(super) fn window_open(&self) -> bool {
        self.flow.can_send(Instant::now())
    }

    /// Starts encoding the latest frame when the flow control and pacing allow it.
    pub(super) fn start_encode_if_ready(&mut self) {
        if self.pending.is_some() {
            return;
        }
        let Some(frame) = self.latest.clone() else {
            return;
        };
        let now = Instant::now();
        if let (Some(interval), Some(last)) = (self.pacing(), self.last_send_at) {
            if now < last + interval {
                return;
            }
        }
        let spec = self.encoder_spec(Some(&frame));
        let behind = !self.window_open() && frame.seq > self.flow.last_sent_frame_seq();
        match &mut self.source {
            Source::Lane { .. } => {}
            Source::Private {
                slot,
                kept_up_since,
                ..
            } => {
                if behind {
                    *kept_up_since = now;
                }
                if let Some(plan) = self.flow.poll(frame.seq, now) {
                    if let Some(mut s) = slot.take() {
                        s.reconfigure(spec);
                        self.pending = Some(encode_private(self.epoch, s, frame, plan.keyframe));
                    }
                }
            }
            Source::SharedImages => {
                if self.flow.poll(frame.seq, now).is_some() {
                    if let Transport::Image(format) = self.transport {
                        let key = ImageKey::new(format, self.quality.jpeg_quality, frame.color);
                        self.pending = Some(encode_shared_image(
                            self.epoch,
                            self.stream.clone(),
                            key,
                            frame,
                            false,
                        ));
                    }
                }
            }
        }
    }

    /// When the resting frame deserves a still, if it does.
    fn still_due(&self) -> Option<Instant> {
        let after = self.stream.options.still_after?;
        let frame = self.latest.as_ref()?;
        // Lanes make their own (shared) stills; lossless streams need none.
        let makes_stills = !matches!(
            (&self.source, self.transport),
            (_, Transport::Image(ImageFormat::Png)) | (Source::Lane { .. }, _)
        );
        let waiting = self.pending.is_none()
            && makes_stills
            && frame.seq == self.flow.last_sent_frame_seq()
            && self.still_done_for != frame.seq;
        waiting.then(|| self.last_publish_at + after)
    }

    /// How often the viewer hears from the server at least (`None`: no heartbeats).
    pub(super) fn heartbeat_interval(&self) -> Option<Duration> {
        self.stream.context.heartbeat_interval
    }

    /// When a heartbeat is due: the interval after the last message of any kind (so the
    /// viewer can tell a still stream from a dead link), or the interval after the viewer
    /// was last heard from and the last heartbeat (so a viewer that acknowledges nothing,
    /// a hidden tab say, still has something to answer and is not taken for gone).
    fn heartbeat_due(&self) -> Option<Instant> {
        self.heartbeat_interval().map(|interval| {
            let quiet_link = self.last_message_at + interval;
            let quiet_viewer = self.last_heard_at.max(self.last_heartbeat_at) + interval;
            quiet_link.min(quiet_viewer)
        })
    }

    /// When a silent viewer is given up on (only with heartbeats, which it must answer).
    fn viewer_timeout_due(&self) -> Option<Instant> {
        self.heartbeat_interval()?;
        Some(self.last_heard_at + self.stream.context.viewer_timeout)
    }

    /// The earliest timer.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let backstop = self
            .flow
            .oldest_inflight()
            .map(|f| f.sent_at + self.stream.options.inflight_timeout);
        let pacing = match (self.pacing(), self.last_send_at, &self.latest) {
            (Some(interval), Some(last), Some(frame))
                if self.pending.is_none()
                    && frame.seq > self.flow.last_sent_frame_seq()
                    && self.window_open() =>
            {
                Some(last + interval)
            }
            _ => None,
        };
        [
            self.next_stats_at,
            backstop,
            self.next_adapt_at,
            self.still_due(),
            pacing,
            self.rejoin_due(),
            self.heartbeat_due(),
            self.viewer_timeout_due(),
            self.viewport_gate.due(Instant::now()),
            self.lane_idr_due(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs whichever timers are due.
    pub(super) async fn on_timer(&mut self, now: Instant) -> Result<(), SessionEnd> {
        if self.viewer_timeout_due().is_some_and(|t| t <= now) {
            let silent = now.saturating_duration_since(self.last_heard_at);
            return Err(SessionEnd::new(
                CloseCode::Unresponsive,
                format!(
                    "the viewer sent nothing for {:.1} s (not even a heartbeat answer)",
                    silent.as_secs_f64()
                ),
            ));
        }
        if self.heartbeat_due().is_some_and(|t| t <= now) {
            self.send(&ServerMessage::Heartbeat).await?;
            self.last_heartbeat_at = now;
        }
        if let Some(viewport) = self.viewport_gate.release(now) {
            if self.role.may_control() {
                self.apply_viewport(viewport);
            }
        }
        if self.next_stats_at.is_some_and(|t| t <= now) {
            self.next_stats_at = self.stream.options.stats_interval.map(|i| now + i);
            self.send_stats(now).await?;
        }
        let timeout = self.stream.options.inflight_timeout;
        if self.flow.is_stalled(now, timeout) {
            // A viewer that stopped acknowledging is the one with the problem: it resyncs
            // on an encoder of its own, never by making the lane send everyone an IDR.
            self.flow.reset();
            if matches!(self.source, Source::Lane { .. }) {
                self.fall_back_to_private();
            }
            let mut m = lock(&self.metrics);
            m.inflight_timeouts += 1;
            m.inflight = 0;
        }
        self.on_lane_idr_overdue(now);
        if self.next_adapt_at.is_some_and(|t| t <= now) {
            self.next_adapt_at = Some(now + ADAPT_EVERY);
            self.adapt(now).await?;
        }
        if self.still_due().is_some_and(|t| t <= now) {
            self.start_still();
        }
        if self.rejoin_due().is_some_and(|t| t <= now) {
            self.start_rejoin();
        }
        Ok(())
    }

    /// Encodes the resting frame at high quality: losslessly (PNG, shared between viewers)
    /// on the image path, as a high-quality IDR on the video path; unless the viewer is
    /// behind, in which case the still is skipped.
    fn start_still(&mut self) {
        let Some(frame) = self.latest.clone() else {
            return;
        };
        if !self.window_open() {
            self.still_done_for = frame.seq;
            return;
        }
        if self.transport.is_video() {
            let spec = self.encoder_spec(Some(&frame));
            let registry = self.stream.options.encoders.clone();
            self.pending = Some(encode_video_still(self.epoch, registry, &spec, frame));
            return;
        }
        let key = ImageKey::new(ImageFormat::Png, 0, frame.color);
        self.pending = Some(encode_shared_image(
            self.epoch,
            self.stream.clone(),
            key,
            frame,
            true,
        ));
    }

    async fn send_stats(&mut self, now: Instant) -> Result<(), SessionEnd> {
        let snap = lock(&self.metrics).snapshot(now);
        let stats = ServerStats {
            rtt_ms: snap.rtt_ms as f32,
            fps_sent: snap.fps_sent as f32,
            fps_acked: snap.fps_acked as f32,
            bitrate_bps: snap.bitrate_bps,
            encode_ms: snap.encode_ms as f32,
            frames_dropped: snap.frames_dropped,
            keyframes_sent: snap.keyframes_sent,
            inflight: snap.inflight,
            target_bitrate_bps: snap.target_bitrate_bps,
            target_fps: snap.target_fps,
            queue_ms: snap.stages.queue.mean_ms as f32,
            send_ms: snap.stages.send.mean_ms as f32,
            network_ms: snap.stages.network.mean_ms as f32,
        };
        self.send(&ServerMessage::Stats(stats)).await.map(|_| ())
    }

    /// Feeds the controller what it cannot learn from ACKs and applies its decision.
    async fn adapt(&mut self, now: Instant) -> Result<(), SessionEnd> {
        let stalled_for = self
            .flow
            .oldest_inflight()
            .filter(|_| !self.window_open())
            .map(|f| now.saturating_duration_since(f.sent_at));
        let queue = lock(&self.metrics).decode_queue_size;
        let Some(controller) = self.controller.as_mut() else {
            return Ok(());
        };
        if let Some(age) = stalled_for {
            // No ACKs come back while the window is full: its age is the round trip so far.
            if controller
                .rtt_ms()
                .is_none_or(|rtt| age.as_secs_f64() * 1e3 > rtt)
            {
                controller.observe(queue, age.as_secs_f64() * 1e3);
            }
        }
        match controller.evaluate(now) {
            Some((lever, quality)) => self.apply_quality(lever, quality).await,
            None => Ok(()),
        }
    }

    /// Applies a new quality target: encoder settings (a keyframe), pacing, the window,
    /// the downscale vote, and tells the viewer.
    pub(super) async fn apply_quality(
        &mut self,
        lever: Lever,
        quality: Quality,
    ) -> Result<(), SessionEnd> {
        tracing::debug!(
            client_id = self.client_id,
            ?lever,
            ?quality,
            "adaptive quality"
        );
        self.quality = quality;
        self.flow.set_max_inflight(quality.max_inflight);
        if lever == Lever::Scale {
            self.stream.vote_scale(self.client_id, Some(quality.scale));
        }
        let key = lane_key(quality.bitrate_bps, quality.fps);
        if let Source::Lane { member, .. } = &self.source {
            if member.key() != key {
                let member = self.stream.lane(key).join();
                self.epoch += 1;
                self.held.clear();
                self.source = Source::Lane {
                    member,
                    synced: false,
                    asked_at: None,
                };
                self.need_keyframe(Instant::now());
            }
        }
        {
            let mut m = lock(&self.metrics);
            m.target_bitrate_bps = u64::from(quality.bitrate_bps);
            m.target_fps = quality.fps;
        }
        let target = QualityTarget {
            bitrate_bps: u64::from(quality.bitrate_bps),
            fps: quality.fps,
            max_inflight: quality.max_inflight,
            jpeg_quality: quality.jpeg_quality,
        };
        self.send(&ServerMessage::SetQuality(target))
            .await
            .map(|_| ())
    }
}
