//! The start of a session: the viewer's `Hello` within the hello timeout, the version
//! check and transport negotiation. Each failure maps to a close code and a reason.

use std::time::Duration;

use futures_util::StreamExt;
use rfb_protocol::{
    decode_client, peek_hello_version, select_transport, ClientMessage, CloseCode, Hello,
    ProtocolVersion, ServerEncoders, Transport, TransportPrefs, MAX_CLIENT_MESSAGE_BYTES,
    PROTOCOL_VERSION,
};

use super::socket::{BoxSource, Incoming};
use super::SessionEnd;
use crate::options::StreamOptions;

/// Waits for the first message and checks it is a compatible `Hello`.
pub async fn receive_hello(source: &mut BoxSource, timeout: Duration) -> Result<Hello, SessionEnd> {
    let first = match tokio::time::timeout(timeout, source.next()).await {
        Err(_) => {
            return Err(SessionEnd::new(
                CloseCode::HelloTimeout,
                format!("no Hello within {} ms", timeout.as_millis()),
            ))
        }
        Ok(None) => return Err(SessionEnd::quiet()),
        Ok(Some(incoming)) => incoming,
    };
    let bytes = match first {
        Incoming::Binary(bytes) => bytes,
        other => return Err(SessionEnd::from_incoming(other)),
    };
    parse_hello(&bytes)
}

/// Parses and version-checks a first message.
pub fn parse_hello(bytes: &[u8]) -> Result<Hello, SessionEnd> {
    if bytes.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(SessionEnd::too_big(bytes.len()));
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
        Ok(other) => Err(SessionEnd::new(
            CloseCode::ProtocolError,
            format!(
                "expected Hello as the first message, got {}",
                super::message_name(&other)
            ),
        )),
        Err(err) => Err(SessionEnd::new(
            CloseCode::ProtocolError,
            format!("bad Hello: {err}"),
        )),
    }
}

fn version_mismatch(version: ProtocolVersion) -> SessionEnd {
    SessionEnd::new(
        CloseCode::VersionMismatch,
        format!(
            "protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"
        ),
    )
}

/// Picks the transport for this viewer on this stream.
pub fn negotiate(hello: &Hello, options: &StreamOptions) -> Result<Transport, SessionEnd> {
    let server = ServerEncoders {
        h264: options.encoders.has_video(),
        image_formats: options.encoders.image_formats(),
    };
    let prefs = TransportPrefs {
        force_image: options.force_image,
        image_preference: options.image_formats.clone(),
    };
    select_transport(&hello.capabilities, &server, &prefs)
        .map_err(|err| SessionEnd::new(CloseCode::UnsupportedTransport, err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::encode_client;

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
        let end = parse_hello(&hello_bytes(PROTOCOL_VERSION.major + 1)).unwrap_err();
        assert_eq!(end.code, Some(CloseCode::VersionMismatch));
        assert!(end.reason.contains("not supported"), "{}", end.reason);
        assert!(parse_hello(&hello_bytes(PROTOCOL_VERSION.major)).is_ok());
    }

    /// Found by the `hello` fuzz target: a Hello of version 0.0 whose variant index and
    /// version are overlong varints got past the version check.
    #[test]
    fn an_oddly_encoded_old_version_is_still_refused() {
        let overlong = [
            0x80, 0x80, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let end = parse_hello(&overlong).unwrap_err();
        assert_eq!(end.code, Some(CloseCode::VersionMismatch), "{}", end.reason);
        assert!(end.reason.contains("0.0"), "{}", end.reason);
    }

    #[test]
    fn non_hello_and_garbage_are_protocol_errors() {
        let ack = encode_client(&ClientMessage::RequestKeyframe);
        assert_eq!(
            parse_hello(&ack).unwrap_err().code,
            Some(CloseCode::ProtocolError)
        );
        assert_eq!(
            parse_hello(&[0xff, 0x01]).unwrap_err().code,
            Some(CloseCode::ProtocolError)
        );
        let huge = vec![0u8; MAX_CLIENT_MESSAGE_BYTES + 1];
        assert_eq!(
            parse_hello(&huge).unwrap_err().code,
            Some(CloseCode::MessageTooBig)
        );
    }
}
