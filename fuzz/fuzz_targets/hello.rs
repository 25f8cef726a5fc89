//! `hello`: a connection's first message, through the server's own handshake parser
//! (`rfb_protocol::parse_hello`, which the server's session runs: size cap, `peek_hello_version`, version check,
//! `decode_client`), then transport negotiation on the capabilities it names.
//!
//! Checked for any input: no panic; an accepted `Hello` is of a compatible version, is
//! what `peek_hello_version` and `decode_client` say, and respects the limits; a refusal
//! carries a close code and a reason that, cut to a close frame, is still a prefix of it,
//! and whose `Error` report encodes and decodes back unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfb_protocol::limits::check_client;
use rfb_protocol::{
    decode_client, decode_server, encode_server, fit_close_reason, parse_hello, peek_hello_version,
    select_transport, ClientMessage, CloseCode, ErrorReport, ImageFormat, ServerEncoders,
    ServerMessage, Transport, TransportPrefs, CAP_H264_ANNEXB, MAX_CLOSE_REASON_BYTES,
    PROTOCOL_VERSION,
};

/// The server configurations negotiation is tried against: video and every image
/// format; images only; forced images with a preference order.
fn servers() -> [(ServerEncoders, TransportPrefs); 3] {
    let all = vec![ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Webp];
    [
        (
            ServerEncoders {
                h264: true,
                image_formats: all.clone(),
            },
            TransportPrefs::default(),
        ),
        (
            ServerEncoders {
                h264: false,
                image_formats: vec![ImageFormat::Png],
            },
            TransportPrefs::default(),
        ),
        (
            ServerEncoders {
                h264: true,
                image_formats: all,
            },
            TransportPrefs {
                force_image: true,
                image_preference: vec![ImageFormat::Webp, ImageFormat::Jpeg],
            },
        ),
    ]
}

fuzz_target!(|data: &[u8]| {
    match parse_hello(data) {
        Ok(hello) => {
            assert!(PROTOCOL_VERSION.is_compatible_with(hello.version));
            assert_eq!(peek_hello_version(data), Some(hello.version));
            let msg = ClientMessage::Hello(hello.clone());
            assert_eq!(check_client(&msg), Ok(()));
            assert_eq!(decode_client(data), Ok(msg));
            for (server, prefs) in servers() {
                let Ok(transport) = select_transport(&hello.capabilities, &server, &prefs) else {
                    continue;
                };
                // Only what the viewer offered and the server can encode is ever chosen.
                let (offered, encodable) = match transport {
                    Transport::Video(_) => (CAP_H264_ANNEXB, server.h264 && !prefs.force_image),
                    Transport::Image(f) => (f.mime(), server.image_formats.contains(&f)),
                };
                assert!(
                    hello.capabilities.iter().any(|c| c == offered),
                    "{transport:?}"
                );
                assert!(encodable, "{transport:?}");
            }
        }
        Err(end) => {
            let code = end.code;
            assert!(matches!(
                code,
                CloseCode::ProtocolError | CloseCode::VersionMismatch | CloseCode::MessageTooBig
            ));
            assert!(!end.reason.is_empty());
            let cut = fit_close_reason(&end.reason);
            assert!(cut.len() <= MAX_CLOSE_REASON_BYTES && end.reason.starts_with(cut));
            let report = ServerMessage::Error(ErrorReport {
                code: code.code(),
                message: end.reason.clone(),
            });
            let bytes = encode_server(&report);
            assert_eq!(decode_server(&bytes), Ok(report));
        }
    }
});
