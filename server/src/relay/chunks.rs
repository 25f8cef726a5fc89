//! Splitting what the origin sends into NATS-sized [`Part`]s and putting it back together
//! on the edge, in bounded memory.
//!
//! Rules:
//! - the origin encodes each [`super::wire::StreamItem`] and splits it into parts of at
//!   most the connection's `max_payload` (read from the NATS server's `INFO` at connect
//!   and after every reconnect) minus [`PART_OVERHEAD`]; most items are one part;
//! - NATS keeps one publisher's messages on one subject in order, so the edge expects the
//!   parts of item `n` as `0, 1, .., count - 1` with nothing in between;
//! - the edge holds at most one unfinished item, of at most [`MAX_ITEM_BYTES`] (checked
//!   against the announced `total` before anything is kept); a part that does not
//!   continue it (another item, a skipped index, other totals, too many bytes) drops it,
//!   so a lost part is a lost item: the numbering shows a gap and the edge resyncs at the
//!   next IDR. Nothing is buffered beyond the one item.

use super::wire::Part;

/// Bytes of a part that are not the item's: the version byte and the part's fields
/// (postcard varints: at most 10 + 10 + 5 + 5 + 5 + 5), rounded up.
pub const PART_OVERHEAD: usize = 64;

/// Largest item an edge reassembles (16 MiB: a 4K IDR at a high bitrate is a few MiB).
pub const MAX_ITEM_BYTES: usize = 16 << 20;

/// Splits the encoded item `bytes` (number `n` of origin process `instance`) into parts
/// whose encoded size stays within `max_payload`.
pub fn split(instance: u64, n: u64, bytes: &[u8], max_payload: usize) -> Vec<Part> {
    let size = max_payload.saturating_sub(PART_OVERHEAD).max(1);
    let total = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let count = bytes.len().div_ceil(size).max(1);
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    if bytes.is_empty() {
        return vec![Part {
            instance,
            n,
            index: 0,
            count: 1,
            total: 0,
            bytes: Vec::new(),
        }];
    }
    bytes
        .chunks(size)
        .enumerate()
        .map(|(index, slice)| Part {
            instance,
            n,
            index: index as u32,
            count,
            total,
            bytes: slice.to_vec(),
        })
        .collect()
}

/// Why a part was dropped (and with it the unfinished item, if any).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The part's fields contradict each other (`index >= count`, no parts, more bytes
    /// than `total`).
    #[error("a relay part with inconsistent fields")]
    Malformed,
    /// The item is larger than [`MAX_ITEM_BYTES`].
    #[error("a relayed item of {0} bytes (most: {MAX_ITEM_BYTES})")]
    TooLarge(u32),
    /// A part that does not continue the unfinished item (a part was lost).
    #[error("a relay part out of order (a part was lost)")]
    OutOfOrder,
}

/// A whole item: its origin process, number and encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whole {
    /// The origin process.
    pub instance: u64,
    /// The item's number.
    pub n: u64,
    /// The encoded [`super::wire::StreamItem`].
    pub bytes: Vec<u8>,
}

/// Puts items back together, one at a time (see the module rules).
#[derive(Debug, Default)]
pub struct Reassembler {
    partial: Option<Partial>,
}

#[derive(Debug)]
struct Partial {
    instance: u64,
    n: u64,
    next: u32,
    count: u32,
    total: u32,
    bytes: Vec<u8>,
}

impl Reassembler {
    /// Takes the next part: the item once it is whole, `Ok(None)` while parts are
    /// missing, an error when the part (and any unfinished item) was dropped.
    pub fn push(&mut self, part: Part) -> Result<Option<Whole>, ChunkError> {
        if part.count == 0 || part.index >= part.count || part.bytes.len() > part.total as usize {
            self.partial = None;
            return Err(ChunkError::Malformed);
        }
        if part.total as usize > MAX_ITEM_BYTES {
            self.partial = None;
            return Err(ChunkError::TooLarge(part.total));
        }
        if part.index == 0 {
            // A new item; an unfinished one before it is lost (its number is a gap).
            self.partial = None;
            if part.count == 1 {
                return if part.bytes.len() == part.total as usize {
                    Ok(Some(Whole {
                        instance: part.instance,
                        n: part.n,
                        bytes: part.bytes,
                    }))
                } else {
                    Err(ChunkError::Malformed)
                };
            }
            self.partial = Some(Partial {
                instance: part.instance,
                n: part.n,
                next: 1,
                count: part.count,
                total: part.total,
                bytes: part.bytes,
            });
            return Ok(None);
        }
        let Some(mut partial) = self.partial.take() else {
            return Err(ChunkError::OutOfOrder);
        };
        let continues = partial.instance == part.instance
            && partial.n == part.n
            && partial.next == part.index
            && partial.count == part.count
            && partial.total == part.total;
        if !continues {
            return Err(ChunkError::OutOfOrder);
        }
        if partial.bytes.len() + part.bytes.len() > partial.total as usize {
            return Err(ChunkError::Malformed);
        }
        partial.bytes.extend_from_slice(&part.bytes);
        partial.next += 1;
        if partial.next < partial.count {
            self.partial = Some(partial);
            return Ok(None);
        }
        if partial.bytes.len() != partial.total as usize {
            return Err(ChunkError::Malformed);
        }
        Ok(Some(Whole {
            instance: partial.instance,
            n: partial.n,
            bytes: partial.bytes,
        }))
    }

    /// Forgets an unfinished item (the subscription restarted).
    pub fn clear(&mut self) {
        self.partial = None;
    }

    /// Bytes held for an unfinished item.
    pub fn held_bytes(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::wire;

    fn item(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn parts_fit_the_payload_and_reassemble_to_the_item() {
        let bytes = item(10_000);
        let parts = split(7, 3, &bytes, 1024);
        assert_eq!(parts.len(), 11);
        for part in &parts {
            assert!(
                wire::encode(part).len() <= 1024,
                "{} bytes",
                wire::encode(part).len()
            );
        }
        let mut r = Reassembler::default();
        let mut whole = None;
        for part in parts {
            assert!(whole.is_none(), "whole before the last part");
            whole = r.push(part).expect("in order");
        }
        let whole = whole.expect("whole after the last part");
        assert_eq!((whole.instance, whole.n), (7, 3));
        assert_eq!(whole.bytes, bytes);
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn a_small_item_is_one_part() {
        let parts = split(1, 1, &item(100), 1 << 20);
        assert_eq!(parts.len(), 1);
        let whole = Reassembler::default().push(parts[0].clone()).expect("ok");
        assert_eq!(whole.expect("whole").bytes, item(100));
        assert_eq!(split(1, 2, &[], 1 << 20).len(), 1);
    }

    #[test]
    fn a_lost_part_drops_the_item_and_the_next_item_still_arrives() {
        let mut r = Reassembler::default();
        let mut first = split(1, 10, &item(5000), 1024);
        first.remove(2);
        let mut results = Vec::new();
        for part in first {
            results.push(r.push(part));
        }
        assert!(results.contains(&Err(ChunkError::OutOfOrder)));
        assert!(
            results.iter().all(|r| !matches!(r, Ok(Some(_)))),
            "no item from a lost part"
        );
        assert_eq!(r.held_bytes(), 0, "nothing kept after the loss");
        // The next item starts clean.
        let mut last = None;
        for part in split(1, 11, &item(3000), 1024) {
            last = r.push(part).expect("in order");
        }
        assert_eq!(last.expect("whole").n, 11);
    }

    #[test]
    fn a_new_item_replaces_an_unfinished_one() {
        let mut r = Reassembler::default();
        let a = split(1, 1, &item(5000), 1024);
        r.push(a[0].clone()).expect("first part");
        assert!(r.held_bytes() > 0);
        let b = split(1, 2, &item(10), 1024);
        let whole = r.push(b[0].clone()).expect("ok").expect("whole");
        assert_eq!(whole.n, 2);
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(r.push(a[1].clone()), Err(ChunkError::OutOfOrder));
    }

    #[test]
    fn lies_about_sizes_are_refused_before_anything_is_kept() {
        let mut r = Reassembler::default();
        let huge = Part {
            instance: 1,
            n: 1,
            index: 0,
            count: 1_000_000,
            total: u32::MAX,
            bytes: vec![0; 10],
        };
        assert!(matches!(r.push(huge), Err(ChunkError::TooLarge(_))));
        assert_eq!(r.held_bytes(), 0);
        let bad = |index, count, total, len| Part {
            instance: 1,
            n: 2,
            index,
            count,
            total,
            bytes: vec![0; len],
        };
        assert_eq!(r.push(bad(0, 0, 0, 0)), Err(ChunkError::Malformed));
        assert_eq!(r.push(bad(3, 2, 100, 10)), Err(ChunkError::Malformed));
        assert_eq!(r.push(bad(0, 2, 5, 10)), Err(ChunkError::Malformed));
        assert_eq!(r.push(bad(0, 1, 20, 10)), Err(ChunkError::Malformed));
        // Parts that together exceed their total.
        r.push(bad(0, 3, 20, 10)).expect("first");
        assert_eq!(r.push(bad(1, 3, 20, 15)), Err(ChunkError::Malformed));
        assert_eq!(r.held_bytes(), 0);
        // A whole item shorter than announced.
        r.push(bad(0, 2, 20, 10)).expect("first");
        assert_eq!(r.push(bad(1, 2, 20, 5)), Err(ChunkError::Malformed));
    }
}
