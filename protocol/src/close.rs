//! WebSocket close codes the server uses, one per way a session can end.
//!
//! | code | name | when |
//! |-----:|------|------|
//! | 1000 | `Normal` | the viewer or the server ended the session normally |
//! | 1001 | `GoingAway` | the server is shutting down (`Display::close`) |
//! | 1002 | `ProtocolError` | a message that does not decode, or a message before `Hello` |
//! | 1003 | `UnsupportedData` | a text message (the protocol is binary only) |
//! | 1008 | `PolicyViolation` | a viewer sent far more input than its rate limit allows |
//! | 1009 | `MessageTooBig` | a message over [`crate::MAX_CLIENT_MESSAGE_BYTES`] |
//! | 1011 | `InternalError` | the server failed (an encoder error, for instance) |
//! | 1013 | `TryAgainLater` | the server is at its session limit (sent before `Hello`) |
//! | 4401 | `Unauthorized` | the authentication hook rejected the connection |
//! | 4403 | `OriginRefused` | the page's origin may not connect (the reason names the flag that allows it) |
//! | 4404 | `UnknownStream` | the URL names no stream |
//! | 4406 | `UnsupportedTransport` | no transport both sides support |
//! | 4408 | `HelloTimeout` | no `Hello` within the server's hello timeout |
//! | 4409 | `Unresponsive` | the viewer answered nothing (not even heartbeats) for the server's viewer timeout |
//! | 4410 | `StreamRemoved` | the stream was removed while the viewer watched it |
//! | 4426 | `VersionMismatch` | the viewer speaks another major protocol version |

/// A WebSocket close code with its meaning in this protocol (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: normal end.
    Normal,
    /// 1001: the server is going away.
    GoingAway,
    /// 1002: undecodable message, or a message out of order.
    ProtocolError,
    /// 1003: a text frame; the protocol is binary only.
    UnsupportedData,
    /// 1008: the viewer flooded the server beyond its rate limit.
    PolicyViolation,
    /// 1009: a message larger than the stated limit.
    MessageTooBig,
    /// 1011: a server-side failure.
    InternalError,
    /// 1013: the server is at its session limit; try again later.
    TryAgainLater,
    /// 4401: authentication rejected.
    Unauthorized,
    /// 4403: the page's origin is not allowed to connect.
    OriginRefused,
    /// 4404: unknown stream name.
    UnknownStream,
    /// 4406: no transport in common.
    UnsupportedTransport,
    /// 4408: `Hello` did not arrive in time.
    HelloTimeout,
    /// 4409: the viewer stopped answering (no message, not even a heartbeat reply).
    Unresponsive,
    /// 4410: the stream was removed.
    StreamRemoved,
    /// 4426: incompatible protocol version.
    VersionMismatch,
}

const TABLE: [(CloseCode, u16); 16] = [
    (CloseCode::Normal, 1000),
    (CloseCode::GoingAway, 1001),
    (CloseCode::ProtocolError, 1002),
    (CloseCode::UnsupportedData, 1003),
    (CloseCode::PolicyViolation, 1008),
    (CloseCode::MessageTooBig, 1009),
    (CloseCode::InternalError, 1011),
    (CloseCode::TryAgainLater, 1013),
    (CloseCode::Unauthorized, 4401),
    (CloseCode::OriginRefused, 4403),
    (CloseCode::UnknownStream, 4404),
    (CloseCode::UnsupportedTransport, 4406),
    (CloseCode::HelloTimeout, 4408),
    (CloseCode::Unresponsive, 4409),
    (CloseCode::StreamRemoved, 4410),
    (CloseCode::VersionMismatch, 4426),
];

impl CloseCode {
    /// The numeric code sent in the WebSocket close frame.
    pub fn code(self) -> u16 {
        TABLE
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, n)| *n)
            .unwrap_or(1011)
    }

    /// The close code for a number, if this protocol defines it.
    pub fn from_code(code: u16) -> Option<CloseCode> {
        TABLE.iter().find(|(_, n)| *n == code).map(|(c, _)| *c)
    }

    /// True when reconnecting cannot help (authentication, origin, version or flooding
    /// problems); 1013 and 4409 are worth a retry after a while.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            CloseCode::Unauthorized
                | CloseCode::OriginRefused
                | CloseCode::VersionMismatch
                | CloseCode::UnsupportedTransport
                | CloseCode::UnknownStream
                | CloseCode::PolicyViolation
        )
    }
}

/// The most bytes a close frame's reason may hold (RFC 6455: 125 bytes of payload, two of
/// them the code).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// Cuts a close reason to [`MAX_CLOSE_REASON_BYTES`], on a character boundary.
pub fn fit_close_reason(reason: &str) -> &str {
    if reason.len() <= MAX_CLOSE_REASON_BYTES {
        return reason;
    }
    let mut end = MAX_CLOSE_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_close_frame() {
        assert_eq!(fit_close_reason("short"), "short");
        let long = "é".repeat(100);
        let cut = fit_close_reason(&long);
        assert!(cut.len() <= MAX_CLOSE_REASON_BYTES && cut.chars().all(|c| c == 'é'));
        assert_eq!(
            cut.len(),
            122,
            "the cut keeps every whole character that fits"
        );
    }

    #[test]
    fn codes_round_trip_and_are_unique() {
        for (close, n) in TABLE {
            assert_eq!(close.code(), n);
            assert_eq!(CloseCode::from_code(n), Some(close));
        }
        let mut numbers: Vec<u16> = TABLE.iter().map(|(_, n)| *n).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), TABLE.len());
        assert_eq!(CloseCode::from_code(4999), None);
    }
}
