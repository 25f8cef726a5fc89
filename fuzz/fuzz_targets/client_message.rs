//! `client_message`: every message a viewer sends after its `Hello`, as the server's
//! reader decodes it (`rfb_protocol::decode_client`).
//!
//! Checked for any input: no panic; an accepted message is within the 64 KiB cap and
//! respects every bound of `rfb_protocol::limits`; re-encoding it and decoding again gives
//! the same message, and encoding that gives the same bytes (one canonical form).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rfb_protocol::limits::check_client;
use rfb_protocol::{decode_client, encode_client, WireError, MAX_CLIENT_MESSAGE_BYTES};

fuzz_target!(|data: &[u8]| {
    let msg = match decode_client(data) {
        Ok(msg) => msg,
        Err(err) => {
            // The reason is what the close frame and the log carry: it must format.
            assert!(!err.to_string().is_empty());
            if data.len() > MAX_CLIENT_MESSAGE_BYTES {
                assert!(matches!(err, WireError::TooLarge { .. }), "{err}");
            }
            return;
        }
    };
    assert!(data.len() <= MAX_CLIENT_MESSAGE_BYTES);
    assert_eq!(
        check_client(&msg),
        Ok(()),
        "accepted outside the limits: {msg:?}"
    );
    let bytes = encode_client(&msg);
    assert!(bytes.len() <= data.len(), "re-encoding grew the message");
    let again = match decode_client(&bytes) {
        Ok(again) => again,
        Err(err) => panic!("{msg:?} re-encoded does not decode: {err}"),
    };
    // Every float of an accepted message is finite (the limits refuse NaN), so `==` is a
    // real comparison here.
    assert_eq!(again, msg);
    assert_eq!(encode_client(&again), bytes);
});
