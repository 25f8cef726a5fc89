//! The rfb wire protocol and the pure logic both ends share.
//!
//! This crate builds for native targets and for `wasm32-unknown-unknown` and does no I/O:
//! - [`messages`]: every message in both directions, encoded with postcard by [`wire`];
//! - [`negotiate`]: capability strings and [`select_transport`];
//! - [`close`]: the WebSocket close codes and what each means;
//! - [`input`]: input events in the renderview vocabulary;
//! - [`limits`]: the bounds every decoded client message must respect;
//! - [`role`]: what a viewer may do (control the app or only watch);
//! - [`fit`]: CSS -> backing -> frame pixel mapping for the fit modes;
//! - [`color`]: colour-space tags and the YUV encoding of the video path;
//! - [`pattern`]: deterministic test patterns, including the canonical [`test_card`];
//! - [`timing`]: percentiles and the viewer's per-frame durations, shared by both ends.

pub mod bytes;
pub mod close;
pub mod color;
pub mod fit;
pub mod handshake;
pub mod input;
pub mod limits;
pub mod messages;
pub mod negotiate;
pub mod pattern;
pub mod role;
pub mod timing;
pub mod version;
pub mod wire;

pub use close::{fit_close_reason, CloseCode, MAX_CLOSE_REASON_BYTES};
pub use color::{
    ColorPrimaries, ColorSpace, MatrixCoefficients, TransferCharacteristics, YuvEncoding,
    BT601_LIMITED, BT709_LIMITED, DISPLAY_P3, SRGB,
};
pub use fit::{FitMode, ViewGeometry};
pub use handshake::{parse_hello, HelloRefused};
pub use input::{InputEvent, Viewport};
pub use limits::InvalidMessage;
pub use messages::{
    Ack, ClientMessage, ClipboardText, ErrorReport, FrameHeader, FrameTimings, Hello, ImageFrame,
    InputMessage, PhotonReport, QualityTarget, ServerMessage, ServerStats, StreamConfig,
    VideoChunk,
};
pub use negotiate::{
    select_transport, ImageFormat, NoCommonTransport, ServerEncoders, Transport, TransportPrefs,
    VideoCodec, CAP_H264_ANNEXB,
};
pub use pattern::{
    bouncing_box, checkerboard, counter, expected_quadrant_color, gradient, solid, test_card,
    Pattern, Rgb, TEST_CARD_PALETTE,
};
pub use role::Role;
pub use version::{ProtocolVersion, PROTOCOL_VERSION};
pub use wire::{
    decode_client, decode_server, encode_client, encode_server, peek_hello_version, WireError,
    MAX_CLIENT_MESSAGE_BYTES,
};
