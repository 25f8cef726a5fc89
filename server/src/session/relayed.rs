//! A session on a relay-fed lane (an edge server's stream, see [`crate::fanout::feed`]):
//! there are no raw frames to encode privately, so wherever a session on an encoder lane
//! would take a private keyframe (joining, a keyframe request, a decoder reset, falling
//! behind, a lost access unit), it replays the lane's cached IDR group instead: the IDR
//! and every delta since (the viewer decodes them in order and shows the newest), then
//! the live access units. A replay costs the other viewers and the origin nothing. With
//! no group cached yet, or one longer than [`crate::fanout::feed::MAX_REPLAY_FRAMES`],
//! the session waits for the lane's next IDR (its request reaches the origin through the
//! edge, rationed there).
//!
//! A replay is paced by the viewer's in-flight window like live delivery: access units go
//! out while the window has room, the rest wait for ACKs. Units above temporal layer 0
//! with a newer unit behind them are skipped (nothing references them, and the viewer
//! only shows the newest), which halves a replay on a lane with two temporal layers. Live access units that arrive
//! meanwhile queue behind the replay, in order (stills are skipped: the next access unit
//! after one is an IDR). A viewer whose queue grows past [`MAX_CATCH_UP`] cannot catch
//! up: it starts over from the cache, like a viewer that falls behind live delivery.

use std::sync::Arc;
use std::time::Instant;

use super::end::SessionEnd;
use super::source::Source;
use super::stream::{Outbound, Session};
use crate::fanout::feed::MAX_REPLAY_FRAMES;
use crate::fanout::lane::LaneChunk;

/// Most access units a session queues for a replay and the live access units behind it.
pub(super) const MAX_CATCH_UP: usize = 2 * MAX_REPLAY_FRAMES;

impl Session {
    /// True when this session's frames come from a relay-fed lane.
    pub(super) fn on_fed_lane(&self) -> bool {
        matches!(&self.source, Source::Lane { member, .. } if member.lane().is_fed())
    }

    /// Starts over from the lane's cached IDR group (or waits for the next IDR).
    pub(super) fn resync_from_cache(&mut self) {
        let Source::Lane {
            member,
            synced,
            asked_at,
        } = &mut self.source
        else {
            return;
        };
        let replay = member.replay();
        self.held.clear();
        self.catch_up.clear();
        *asked_at = None;
        match replay.last() {
            Some(last) if replay.len() <= MAX_REPLAY_FRAMES => {
                self.replayed_to = last.n;
                *synced = true;
                self.catch_up.extend(replay);
            }
            _ => {
                // Nothing decodable cached, or too much to send at once: the next IDR the
                // lane receives starts us (the edge asks the origin for one).
                *synced = false;
                member.request_idr();
            }
        }
    }

    /// Sends a pending replay, oldest first, while the in-flight window has room.
    pub(super) async fn send_catch_up(&mut self) -> Result<(), SessionEnd> {
        while let Some(chunk) = self.catch_up.front().cloned() {
            if chunk.layer > 0 && self.catch_up.len() > 1 {
                self.catch_up.pop_front();
                crate::sync::lock(&self.metrics).layer_skips += 1;
                continue;
            }
            if !self.flow.has_room(chunk.payload.data.len(), Instant::now()) {
                break;
            }
            self.catch_up.pop_front();
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

    /// A live access unit while a replay is still going out: it queues behind it (see
    /// the module rules).
    pub(super) fn queue_behind_replay(&mut self, chunk: Arc<LaneChunk>) {
        if chunk.still || chunk.n <= self.replayed_to {
            return;
        }
        self.replayed_to = chunk.n;
        self.catch_up.push_back(chunk);
        if self.catch_up.len() > MAX_CATCH_UP {
            self.note_resync(Instant::now());
            self.resync_from_cache();
        }
    }

    /// True when a chunk from the lane was already sent in a replay.
    pub(super) fn replayed(&self, n: u64) -> bool {
        n <= self.replayed_to
    }

    /// Marks the time of a resync, for metrics.
    pub(super) fn note_resync(&mut self, _now: Instant) {
        crate::sync::lock(&self.metrics).lane_fallbacks += 1;
    }
}
