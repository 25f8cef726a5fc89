//! Serde helpers that encode byte payloads as one length-prefixed run of bytes and decode
//! them by borrowing from the received message (no per-byte visiting, no copy).

use serde::{Deserializer, Serializer};

/// Serialises a byte slice with `serialize_bytes` (postcard: varint length + raw bytes).
pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

/// Deserialises a byte slice borrowed from the input buffer.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<&'de [u8], D::Error> {
    serde::Deserialize::deserialize(deserializer)
}
