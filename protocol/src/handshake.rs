//! A session's first message: the size cap, the version check (readable even when the
//! rest of the `Hello` is in another version's layout) and the decode. Pure, so the server
//! and the `hello` fuzz target run the same code.

use crate::{
    decode_client, peek_hello_version, ClientMessage, CloseCode, Hello, ProtocolVersion,
    MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION,
};

/// Why a first message was refused: the close code to send and a readable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloRefused {
    /// The close code (1002, 1009 or 4426).
    pub code: CloseCode,
    /// What was wrong, for the viewer and the log.
    pub reason: String,
}

/// Parses and version-checks a connection's first message.
pub fn parse_hello(bytes: &[u8]) -> Result<Hello, HelloRefused> {
    if bytes.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(HelloRefused {
            code: CloseCode::MessageTooBig,
            reason: format!(
                "message of {} bytes exceeds the {MAX_CLIENT_MESSAGE_BYTES}-byte limit",
                bytes.len()
            ),
        });
    }
    if let Some(version) = peek_hello_version(bytes) {
        if !PROTOCOL_VERSION.is_compatible_with(version) {
            return Err(version_mismatch(version));
        }
    }
    match decode_client(bytes) {
        // The peek above gives the clear message for another layout; this catches any
        // encoding the peek might read differently from the decoder.
        Ok(ClientMessage::Hello(hello)) if !PROTOCOL_VERSION.is_compatible_with(hello.version) => {
            Err(version_mismatch(hello.version))
        }
        Ok(ClientMessage::Hello(hello)) => Ok(hello),
        Ok(other) => Err(HelloRefused {
            code: CloseCode::ProtocolError,
            reason: format!("expected Hello as the first message, got {}", other.name()),
        }),
        Err(err) => Err(HelloRefused {
            code: CloseCode::ProtocolError,
            reason: format!("bad Hello: {err}"),
        }),
    }
}

fn version_mismatch(version: ProtocolVersion) -> HelloRefused {
    HelloRefused {
        code: CloseCode::VersionMismatch,
        reason: format!(
            "protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode_client;

    fn hello_bytes(major: u16) -> Vec<u8> {
        encode_client(&ClientMessage::Hello(Hello {
            version: ProtocolVersion { major, minor: 0 },
            capabilities: vec!["image/png".into()],
            token: None,
            viewport: None,
            max_inflight: None,
        }))
    }

    #[test]
    fn another_major_version_is_refused_clearly() {
        let refused = parse_hello(&hello_bytes(PROTOCOL_VERSION.major + 1)).unwrap_err();
        assert_eq!(refused.code, CloseCode::VersionMismatch);
        assert!(
            refused.reason.contains("not supported"),
            "{}",
            refused.reason
        );
        assert!(parse_hello(&hello_bytes(PROTOCOL_VERSION.major)).is_ok());
    }

    /// Found by the `hello` fuzz target: a Hello of version 0.0 whose variant index and
    /// version are overlong varints got past the version check.
    #[test]
    fn an_oddly_encoded_old_version_is_still_refused() {
        let overlong = [
            0x80, 0x80, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let refused = parse_hello(&overlong).unwrap_err();
        assert_eq!(
            refused.code,
            CloseCode::VersionMismatch,
            "{}",
            refused.reason
        );
        assert!(refused.reason.contains("0.0"), "{}", refused.reason);
    }

    #[test]
    fn non_hello_and_garbage_are_protocol_errors() {
        let keyframe = encode_client(&ClientMessage::RequestKeyframe);
        let refused = parse_hello(&keyframe).unwrap_err();
        assert_eq!(refused.code, CloseCode::ProtocolError);
        assert!(
            refused.reason.contains("got RequestKeyframe"),
            "{}",
            refused.reason
        );
        assert_eq!(
            parse_hello(&[0xff, 0x01]).unwrap_err().code,
            CloseCode::ProtocolError
        );
        let huge = vec![0u8; MAX_CLIENT_MESSAGE_BYTES + 1];
        assert_eq!(
            parse_hello(&huge).unwrap_err().code,
            CloseCode::MessageTooBig
        );
    }
}
