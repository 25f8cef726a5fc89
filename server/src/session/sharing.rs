//! A session on a shared H.264 lane: taking its access units in order, skipping the ones
//! nothing references when it is behind, holding a few of the others while the window is
//! full, getting a keyframe when it needs one without costing the other members (the rules
//! of [`crate::fanout::fairness`]), falling back to a private encoder and rejoining.
//!
//! Falling behind, in order:
//! 1. an access unit above temporal layer 0 (every other one on a lane with two layers,
//!    see [`crate::fanout::lane::LaneChunk::layer`]) is skipped when the window has no
//!    room for it, when base-layer units are held, or when a newer unit is already queued
//!    behind it: nothing decodes against it, so the viewer stays in sync and no keyframe
//!    is needed (counted in `layer_skips` and `frames_dropped`, like the ones the lane
//!    could not queue because the member's queue was full);
//! 2. a base-layer unit waits while the window is full, up to [`MAX_HELD`] of them;
//! 3. one more base-layer unit than that, or one the lane could not queue, cannot be
//!    skipped without breaking the decoder: the session continues on a private encoder
//!    (a keyframe for this viewer alone) and rejoins later.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::end::SessionEnd;
use super::source::{lane_key, Source};
use super::stream::{Outbound, Session};
use crate::encode::slot::EncoderSlot;
use crate::fanout::fairness::{NeedAction, IDR_WAIT};
use crate::fanout::lane::LaneChunk;
use crate::sync::lock;

/// Lane access units a member may hold while its window is full before it falls back to
/// a private encoder (at 30 fps, 100 ms of tolerance for a brief stall).
pub(super) const MAX_HELD: usize = 3;

/// A stream counts as resting once its latest frame is this many frame intervals old.
const RESTING_FRAMES: f64 = 2.0;

/// ... and at least this old.
const RESTING_MIN: Duration = Duration::from_millis(100);

impl Session {
    /// True when the lane has nothing new to encode: it already encoded the latest frame
    /// and that frame is older than a couple of frame intervals.
    fn lane_is_resting(&self, now: Instant) -> bool {
        let (Source::Lane { member, .. }, Some(latest)) = (&self.source, &self.latest) else {
            return false;
        };
        let interval =
            Duration::from_secs_f64(RESTING_FRAMES / f64::from(self.quality.fps.max(0.1)));
        let published = self.stream.epoch + Duration::from_micros(latest.timestamp_us);
        member.lane().last_encoded_seq() >= latest.seq
            && now.saturating_duration_since(published) >= interval.max(RESTING_MIN)
    }

    /// The viewer needs a keyframe (it joined, asked for one or reset its decoder). On a
    /// lane: ask the lane (rationed) or take a private one, by the fairness rules.
    pub(super) fn need_keyframe(&mut self, now: Instant) {
        self.flow.request_keyframe();
        if !matches!(self.source, Source::Lane { .. }) {
            return;
        }
        if self.on_fed_lane() {
            return self.resync_from_cache();
        }
        let resting = self.lane_is_resting(now);
        match self.keyframe_needs.on_need(now, resting) {
            NeedAction::GoPrivate => self.fall_back_to_private(),
            NeedAction::AskLane => {
                if let Source::Lane {
                    member,
                    synced,
                    asked_at,
                } = &mut self.source
                {
                    *synced = false;
                    *asked_at = Some(now);
                    self.held.clear();
                    member.request_idr();
                }
            }
        }
    }

    /// When the lane's answer to a keyframe request is overdue.
    pub(super) fn lane_idr_due(&self) -> Option<Instant> {
        match &self.source {
            Source::Lane {
                synced: false,
                asked_at: Some(at),
                ..
            } => Some(*at + IDR_WAIT),
            _ => None,
        }
    }

    /// The lane did not answer in time (rationed, or nothing new was published): take a
    /// private keyframe.
    pub(super) fn on_lane_idr_overdue(&mut self, now: Instant) {
        if self.lane_idr_due().is_some_and(|t| t <= now) {
            self.fall_back_to_private();
        }
    }

    /// An access unit from the lane (or `None`: the lane ended).
    pub(super) async fn on_lane_chunk(
        &mut self,
        chunk: Option<Arc<LaneChunk>>,
    ) -> Result<(), SessionEnd> {
        let window_open = chunk
            .as_ref()
            .is_some_and(|c| self.flow.has_room(c.payload.data.len(), Instant::now()));
        let Some(chunk) = chunk else {
            self.fall_back_to_private();
            return Ok(());
        };
        let replayed = self.replayed(chunk.n);
        let replay_pending = !self.catch_up.is_empty();
        let mut skipped = false;
        match &mut self.source {
            Source::Lane {
                member,
                synced,
                asked_at,
            } => {
                if member.is_lost() {
                    // The lane skipped this member: its decoder missed an access unit.
                    self.fall_back_to_private();
                    return Ok(());
                }
                let missed = member.take_missed();
                if missed > 0 {
                    // Units above layer 0 the lane could not queue: skipped all the same.
                    lock(&self.metrics).layer_skips += missed;
                }
                if member.lane().is_fed() {
                    if replayed {
                        return Ok(());
                    }
                    if replay_pending {
                        self.queue_behind_replay(chunk);
                        return Ok(());
                    }
                }
                let in_order = self.held.is_empty();
                if chunk.still {
                    // Skipping a still is harmless: the lane's next access unit is an IDR.
                    if !(*synced && in_order && window_open) {
                        return Ok(());
                    }
                } else if !*synced {
                    if !(chunk.payload.keyframe && in_order && window_open) {
                        return Ok(());
                    }
                    *synced = true;
                    *asked_at = None;
                } else if chunk.layer > 0 && !(in_order && window_open && member.rx.is_empty()) {
                    // Behind, on a unit nothing references: skip it (rule 1).
                    skipped = true;
                } else if !(in_order && window_open) {
                    if self.held.len() < MAX_HELD {
                        // The window may open before more arrive: wait for it, in order.
                        self.held.push_back(chunk);
                    } else {
                        // Queueing more would add latency and skipping would break the
                        // decoder: continue on a private encoder.
                        self.fall_back_to_private();
                    }
                    return Ok(());
                }
            }
            Source::Private {
                rejoin,
                kept_up_since,
                ..
            } => {
                let lost = rejoin.as_ref().is_some_and(|m| m.is_lost());
                if lost {
                    *rejoin = None;
                    return Ok(());
                }
                if !chunk.payload.keyframe || chunk.still {
                    return Ok(());
                }
                if !window_open {
                    // No room for the lane's IDR: try again after keeping up a while more.
                    *rejoin = None;
                    *kept_up_since = Instant::now();
                    return Ok(());
                }
                // The lane's IDR: switch back to sharing from here (a private encode still
                // running is discarded by the epoch bump).
                let Some(member) = rejoin.take() else {
                    return Ok(());
                };
                self.epoch += 1;
                self.pending = None;
                self.source = Source::Lane {
                    member,
                    synced: true,
                    asked_at: None,
                };
                self.keyframe_needs.on_rejoined();
                lock(&self.metrics).shared_encoder = true;
            }
            Source::SharedImages => return Ok(()),
        }
        if skipped {
            lock(&self.metrics).layer_skips += 1;
            return Ok(());
        }
        self.send_frame(Outbound {
            frame: &chunk.frame,
            payload: &chunk.payload,
            codec: &chunk.codec,
            yuv: chunk.yuv,
            encode_time: chunk.encode_time,
            encoded_at: chunk.encoded_at,
            image_format: None,
        })
        .await
    }

    /// Sends held lane access units, oldest first, while the window has room.
    pub(super) async fn send_held_chunk(&mut self) -> Result<(), SessionEnd> {
        while let Some(chunk) = self.held.front().cloned() {
            if !self.flow.has_room(chunk.payload.data.len(), Instant::now()) {
                break;
            }
            self.held.pop_front();
            self.send_frame(Outbound {
                frame: &chunk.frame,
                payload: &chunk.payload,
                codec: &chunk.codec,
                yuv: chunk.yuv,
                encode_time: chunk.encode_time,
                encoded_at: chunk.encoded_at,
                image_format: None,
            })
            .await?;
        }
        Ok(())
    }

    /// Leaves the lane for a private encoder, which starts with a keyframe for this viewer
    /// alone.
    pub(super) fn fall_back_to_private(&mut self) {
        if self.on_fed_lane() {
            // No raw frames on a relay-fed lane: replay its cached group instead.
            self.note_resync(Instant::now());
            return self.resync_from_cache();
        }
        let slot = EncoderSlot::new(
            self.stream.options.encoders.clone(),
            self.encoder_spec(self.latest.as_deref()),
        );
        self.epoch += 1;
        self.pending = None;
        self.held.clear();
        self.source = Source::private(slot);
        self.flow.request_keyframe();
        self.keyframe_needs.on_fallback();
        let mut m = lock(&self.metrics);
        m.shared_encoder = false;
        m.lane_fallbacks += 1;
    }

    /// When a private viewer that keeps up rejoins its lane (video with sharing only).
    pub(super) fn rejoin_due(&self) -> Option<Instant> {
        match &self.source {
            Source::Private {
                rejoin: None,
                kept_up_since,
                ..
            } if self.transport.is_video() && self.stream.options.share_encoders => {
                Some(*kept_up_since + self.keyframe_needs.rejoin_after())
            }
            _ => None,
        }
    }

    /// Joins the lane again and asks for its next IDR (rationed by the lane); the private
    /// stream goes on until that IDR arrives.
    pub(super) fn start_rejoin(&mut self) {
        let key = lane_key(self.quality.bitrate_bps, self.quality.fps);
        let member = self.stream.lane(key).join();
        member.request_idr();
        if let Source::Private { rejoin, .. } = &mut self.source {
            *rejoin = Some(member);
        }
    }
}
