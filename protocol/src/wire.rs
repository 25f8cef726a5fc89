//! Encoding and decoding messages to and from WebSocket binary payloads.

use crate::limits::{check_client, InvalidMessage};
use crate::messages::{ClientMessage, ServerMessage};
use crate::version::ProtocolVersion;

/// The largest client message the server accepts, in bytes. Client messages carry no
/// frames; 64 KiB leaves ample room for a token and key names.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

/// A message that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The bytes are not a valid message (truncated, unknown variant, bad varint...).
    Malformed(String),
    /// The message decoded but bytes were left over.
    TrailingBytes(usize),
    /// The message is larger than allowed.
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The message decoded but breaks a bound of [`crate::limits`].
    Invalid(InvalidMessage),
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WireError::Malformed(why) => write!(f, "malformed message: {why}"),
            WireError::TrailingBytes(n) => write!(f, "malformed message: {n} trailing bytes"),
            WireError::TooLarge { size, limit } => {
                write!(f, "message of {size} bytes exceeds the {limit}-byte limit")
            }
            WireError::Invalid(invalid) => invalid.fmt(f),
        }
    }
}

impl std::error::Error for WireError {}

fn decode_exact<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, WireError> {
    let (value, rest) =
        postcard::take_from_bytes(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(WireError::TrailingBytes(rest.len()))
    }
}

/// Encodes a client message.
pub fn encode_client(msg: &ClientMessage) -> Vec<u8> {
    // Serialising plain data into a Vec cannot fail.
    postcard::to_allocvec(msg).unwrap_or_default()
}

/// Decodes a client message, refusing oversized input, trailing bytes and values outside
/// the bounds of [`crate::limits`].
pub fn decode_client(bytes: &[u8]) -> Result<ClientMessage, WireError> {
    if bytes.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            limit: MAX_CLIENT_MESSAGE_BYTES,
        });
    }
    let msg = decode_exact(bytes)?;
    check_client(&msg).map_err(WireError::Invalid)?;
    Ok(msg)
}

/// Encodes a server message into one buffer sized for its payload (one copy of it).
pub fn encode_server(msg: &ServerMessage<'_>) -> Vec<u8> {
    let payload_len = match msg {
        ServerMessage::VideoChunk(c) => c.payload.len(),
        ServerMessage::ImageFrame(f) => f.payload.len(),
        _ => 0,
    };
    let buf = Vec::with_capacity(payload_len + 96);
    postcard::to_extend(msg, buf).unwrap_or_default()
}

/// Decodes a server message; frame payloads borrow from `bytes`.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMessage<'_>, WireError> {
    decode_exact(bytes)
}

/// Reads the protocol version of a `Hello` without decoding the rest, so a viewer of
/// another major version gets a clear "version mismatch" instead of "malformed".
/// `None` when the message is not a `Hello` or too short to say.
pub fn peek_hello_version(bytes: &[u8]) -> Option<ProtocolVersion> {
    // The variant index comes first, a varint read exactly as `decode_client` reads it
    // (0 is `Hello`, and postcard also takes the overlong `80 00`); the version follows.
    let (variant, rest) = postcard::take_from_bytes::<u32>(bytes).ok()?;
    if variant != 0 {
        return None;
    }
    postcard::take_from_bytes::<ProtocolVersion>(rest)
        .ok()
        .map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::*;
    use crate::{VideoCodec, PROTOCOL_VERSION, SRGB};

    fn hello(version: ProtocolVersion) -> ClientMessage {
        ClientMessage::Hello(Hello {
            version,
            capabilities: vec!["image/png".into()],
            token: None,
            viewport: None,
            max_inflight: None,
        })
    }

    #[test]
    fn client_messages_round_trip() {
        let msg = hello(PROTOCOL_VERSION);
        assert_eq!(decode_client(&encode_client(&msg)), Ok(msg));
    }

    #[test]
    fn peek_reads_the_version_of_a_future_hello() {
        let future = ProtocolVersion { major: 7, minor: 3 };
        let mut bytes = encode_client(&hello(future));
        bytes.extend_from_slice(&[0xff, 0xff, 0xff]); // whatever a v7 hello adds
        assert_eq!(peek_hello_version(&bytes), Some(future));
        assert_eq!(
            peek_hello_version(&encode_client(&ClientMessage::RequestKeyframe)),
            None
        );
        assert_eq!(peek_hello_version(&[]), None);
    }

    /// Found by the `hello` fuzz target: `80 80 00` is an overlong varint 0, which
    /// `decode_client` reads as `Hello`, so the peek must read the same index.
    #[test]
    fn peek_reads_the_variant_index_as_decode_does() {
        let overlong = [
            0x80, 0x80, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let hello = decode_client(&overlong).expect("postcard takes overlong varints");
        let ClientMessage::Hello(hello) = hello else {
            panic!("not a Hello: {hello:?}");
        };
        assert_eq!(peek_hello_version(&overlong), Some(hello.version));
        assert_eq!(hello.version, ProtocolVersion { major: 0, minor: 0 });
        assert_eq!(peek_hello_version(&[0x81, 0x00, 2, 0]), None, "variant 1");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(decode_client(&[]), Err(WireError::Malformed(_))));
        assert!(matches!(
            decode_client(&[200]),
            Err(WireError::Malformed(_))
        ));
        let mut ok = encode_client(&ClientMessage::RequestKeyframe);
        ok.push(0);
        assert_eq!(decode_client(&ok), Err(WireError::TrailingBytes(1)));
        let huge = vec![0u8; MAX_CLIENT_MESSAGE_BYTES + 1];
        assert!(matches!(
            decode_client(&huge),
            Err(WireError::TooLarge { .. })
        ));
        // A hello whose capability list claims a billion entries.
        let bomb = [0u8, 1, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x04];
        assert!(decode_client(&bomb).is_err());
    }

    #[test]
    fn truncation_at_every_length_is_an_error() {
        let full = encode_client(&hello(PROTOCOL_VERSION));
        for len in 0..full.len() {
            assert!(
                decode_client(&full[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
    }

    #[test]
    fn payload_is_one_length_prefixed_run() {
        let payload = [9u8, 8, 7, 6];
        let chunk = ServerMessage::VideoChunk(VideoChunk {
            header: FrameHeader {
                seq: 1,
                frame_seq: 1,
                timestamp_us: 0,
                width: 2,
                height: 2,
                keyframe: true,
                pixel_ratio: 1.0,
                color: SRGB,
                input_id: None,
            },
            codec: VideoCodec::H264AnnexB,
            payload: &payload,
        });
        let bytes = encode_server(&chunk);
        assert!(bytes.ends_with(&[4, 9, 8, 7, 6]));
        let decoded = decode_server(&bytes).expect("decodes");
        assert_eq!(decoded, chunk);
    }
}
