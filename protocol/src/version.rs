//! The protocol version carried in the first message of every connection.

use serde::{Deserialize, Serialize};

/// A protocol version. Peers with the same `major` interoperate; `minor` only adds
/// optional behaviour (new enum variants appended at the end, new capabilities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolVersion {
    /// Incompatible wire changes bump this; a mismatch closes the connection.
    pub major: u16,
    /// Compatible additions bump this.
    pub minor: u16,
}

/// The version this build of the protocol speaks.
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion { major: 3, minor: 0 };

impl ProtocolVersion {
    /// True when a peer speaking `other` can talk to one speaking `self`.
    pub fn is_compatible_with(self, other: ProtocolVersion) -> bool {
        self.major == other.major
    }
}

impl core::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}
