//! The cache of a relay-fed lane ([`super::lane::Lane::fed`]): the access units since the
//! last IDR (the "IDR group"), so a viewer that joins or must resync on an edge starts
//! from that IDR and catches up to the live access unit without asking the origin.
//!
//! Rules:
//! - an IDR (not a still) starts a new group; a delta extends the current one; a delta
//!   before any IDR is not cached (it cannot be decoded on its own);
//! - stills are never cached: they are not part of the chain (the lane's next access unit
//!   after a still is an IDR);
//! - the group holds at most [`MAX_GROUP_FRAMES`] access units and [`MAX_GROUP_BYTES`];
//!   past either it is dropped whole (a replay of it would be too long to be useful) and
//!   stays empty until the next IDR, which the edge then asks the origin for
//!   ([`FedGroup::overflowed`]);
//! - a group longer than [`MAX_REPLAY_FRAMES`] is kept (for the image decoder) but not
//!   replayed to viewers.

use std::sync::{Arc, Mutex};

use super::lane::LaneChunk;
use crate::sync::lock;

/// Most access units a cached group keeps (10 s at 30 fps).
pub const MAX_GROUP_FRAMES: usize = 300;

/// Most payload bytes a cached group keeps (32 MiB).
pub const MAX_GROUP_BYTES: usize = 32 << 20;

/// Longest group a viewer is sent as a replay (3 s at 30 fps). A replay ignores the
/// viewer's in-flight window (it needs every access unit to decode the newest), so a
/// longer one would be a burst a slow link cannot take: the viewer waits for the next
/// IDR instead, which the edge asks the origin for.
pub const MAX_REPLAY_FRAMES: usize = 90;

/// The cached IDR group of a fed lane.
#[derive(Debug, Default)]
pub struct FedGroup {
    inner: Mutex<Group>,
}

#[derive(Debug, Default)]
struct Group {
    chunks: Vec<Arc<LaneChunk>>,
    bytes: usize,
    overflowed: bool,
}

impl FedGroup {
    /// Adds an access unit by the module's rules.
    pub fn push(&self, chunk: &Arc<LaneChunk>) {
        if chunk.still {
            return;
        }
        let mut g = lock(&self.inner);
        if chunk.payload.keyframe {
            g.chunks.clear();
            g.bytes = 0;
            g.overflowed = false;
        } else if g.chunks.is_empty() {
            return;
        }
        g.bytes += chunk.payload.data.len();
        g.chunks.push(chunk.clone());
        if g.chunks.len() > MAX_GROUP_FRAMES || g.bytes > MAX_GROUP_BYTES {
            g.chunks.clear();
            g.bytes = 0;
            g.overflowed = true;
        }
    }

    /// Forgets the group (a gap in the input).
    pub fn clear(&self) {
        let mut g = lock(&self.inner);
        g.chunks.clear();
        g.bytes = 0;
    }

    /// The group, oldest (the IDR) first.
    pub fn snapshot(&self) -> Vec<Arc<LaneChunk>> {
        lock(&self.inner).chunks.clone()
    }

    /// Access units in the group now.
    pub fn len(&self) -> usize {
        lock(&self.inner).chunks.len()
    }

    /// True when no group is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the last group outgrew the bounds and was dropped (cleared by the next
    /// IDR).
    pub fn overflowed(&self) -> bool {
        lock(&self.inner).overflowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::EncodedPayload;

    fn chunk(keyframe: bool, still: bool, bytes: usize) -> Arc<LaneChunk> {
        super::super::lane::test_chunk(
            EncodedPayload::base(vec![0u8; bytes].into(), keyframe),
            still,
        )
    }

    #[test]
    fn a_group_starts_at_an_idr_and_skips_stills() {
        let g = FedGroup::default();
        g.push(&chunk(false, false, 10));
        assert!(g.is_empty(), "a delta before any IDR is not decodable");
        g.push(&chunk(true, false, 10));
        g.push(&chunk(false, false, 10));
        g.push(&chunk(true, true, 10));
        assert_eq!(g.len(), 2);
        let first = &g.snapshot()[0];
        assert!(first.payload.keyframe && !first.still);
        g.push(&chunk(true, false, 10));
        assert_eq!(g.len(), 1, "a new IDR starts a new group");
    }

    fn unit(keyframe: bool) -> LaneChunk {
        Arc::try_unwrap(chunk(keyframe, false, 10)).expect("one owner")
    }

    #[test]
    fn a_fed_lane_numbers_chunks_and_a_gap_reaches_idle_members_until_they_replay() {
        use super::super::lane::{Lane, LaneKey};
        let lane = Lane::fed(LaneKey::new(1_000_000, 30.0));
        let mut member = lane.join();
        lane.feed(unit(true));
        lane.feed(unit(false));
        let first = member.rx.try_recv().expect("the IDR");
        let second = member.rx.try_recv().expect("the delta");
        assert_eq!((first.n, second.n), (1, 2));
        assert_eq!(member.replay().len(), 2, "the group: IDR and delta");

        // A gap: the group is gone and the member, its queue empty, is marked lost...
        lane.feed_gap();
        assert!(member.is_lost());
        assert!(lane.fed_group().expect("fed").is_empty());
        // ...and still gets the next chunk, which is how its session learns to resync.
        lane.feed(unit(false));
        assert_eq!(member.rx.try_recv().expect("delivered while lost").n, 3);
        assert!(member.replay().is_empty(), "nothing decodable cached");
        assert!(!member.is_lost(), "a replay clears the mark");
        lane.feed(unit(true));
        assert!(member.rx.try_recv().expect("the next IDR").payload.keyframe);
        assert_eq!(lane.fed_group().expect("fed").len(), 1);
    }

    #[test]
    fn an_oversized_group_is_dropped_until_the_next_idr() {
        let g = FedGroup::default();
        g.push(&chunk(true, false, 10));
        for _ in 0..MAX_GROUP_FRAMES {
            g.push(&chunk(false, false, 10));
        }
        assert!(g.is_empty());
        assert!(g.overflowed());
        g.push(&chunk(false, false, 10));
        assert!(g.is_empty());
        g.push(&chunk(true, false, 10));
        assert_eq!(g.len(), 1);
        assert!(!g.overflowed());
    }
}
