//! The start of a session: the viewer's `Hello` within the hello timeout, the version
//! check and transport negotiation. Each failure maps to a close code and a reason.

use std::time::Duration;

use futures_util::StreamExt;
use rfb_protocol::{select_transport, CloseCode, Hello, ServerEncoders, Transport, TransportPrefs};

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

/// Parses and version-checks a first message ([`rfb_protocol::parse_hello`]).
pub fn parse_hello(bytes: &[u8]) -> Result<Hello, SessionEnd> {
    rfb_protocol::parse_hello(bytes)
        .map_err(|refused| SessionEnd::new(refused.code, refused.reason))
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
    use rfb_protocol::{encode_client, ClientMessage, MAX_CLIENT_MESSAGE_BYTES};

    /// The cases themselves are tested in `rfb_protocol::handshake`; here, that a refusal
    /// becomes a session end with its code and reason.
    #[test]
    fn a_refusal_ends_the_session_with_its_code_and_reason() {
        let keyframe = encode_client(&ClientMessage::RequestKeyframe);
        let end = parse_hello(&keyframe).unwrap_err();
        assert_eq!(end.code, Some(CloseCode::ProtocolError));
        assert!(end.reason.contains("got RequestKeyframe"), "{}", end.reason);
        let huge = vec![0u8; MAX_CLIENT_MESSAGE_BYTES + 1];
        assert_eq!(
            parse_hello(&huge).unwrap_err().code,
            Some(CloseCode::MessageTooBig)
        );
    }
}
