//! Every message of the protocol, in both directions.
//!
//! One WebSocket binary message carries exactly one postcard-encoded [`ClientMessage`] or
//! [`ServerMessage`]. Frame payloads are a length-prefixed byte run inside that same message
//! (no JSON, no base64); decoding borrows them from the received buffer. New variants and
//! fields are only ever appended, since postcard encodes a variant by its index.

use serde::{Deserialize, Serialize};

use crate::color::{ColorSpace, YuvEncoding};
use crate::input::{InputEvent, Viewport};
use crate::negotiate::{ImageFormat, Transport, VideoCodec};
use crate::role::Role;
use crate::version::ProtocolVersion;

/// The first message of every connection: who the viewer is and what it decodes.
///
/// `version` is the first field on purpose: [`crate::wire::peek_hello_version`] reads it
/// even when the rest of the message comes from an incompatible protocol version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version the viewer speaks.
    pub version: ProtocolVersion,
    /// Capability strings: [`crate::CAP_H264_ANNEXB`] and image MIME types.
    pub capabilities: Vec<String>,
    /// Credential for the server's authentication hook, if any.
    pub token: Option<String>,
    /// The viewer's size and device pixel ratio when it connected.
    pub viewport: Option<Viewport>,
    /// The most un-acknowledged frames the viewer wants in flight (the server may lower it).
    pub max_inflight: Option<u8>,
}

/// Sent once a frame is on screen (not when it arrived).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The session sequence number of the displayed frame.
    pub seq: u64,
    /// Frames queued in the viewer's decoder at that moment.
    pub decode_queue_size: u32,
    /// The viewer's own durations for frame `seq`, when it drew that frame (`None` when
    /// the ACK covers a frame the viewer dropped, or the viewer does not measure). The
    /// server subtracts `receive_to_ack_us` from its send -> ACK round trip to get the
    /// network and queue time, and ignores timings that do not fit that round trip.
    pub timings: Option<FrameTimings>,
}

/// A viewer's durations for one frame, in microseconds on its own clock (no clock sync
/// needed: each is a difference of two readings of the same clock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameTimings {
    /// From the frame's message arriving in the viewer to the decoder's output (the
    /// `VideoFrame` or the decoded image).
    pub receive_to_decoded_us: u32,
    /// From the decoder's output to the frame drawn on the canvas (a conversion, if the
    /// viewer converts the pixels itself, counts here).
    pub decoded_to_drawn_us: u32,
    /// From the message arriving to this ACK being sent: the two above plus what came
    /// between the draw and the send.
    pub receive_to_ack_us: u32,
}

/// One input event and the id the viewer gave it: 1, 2, 3... increasing for the life of
/// the view (so also per connection). A frame that reflects the event carries the id
/// back in [`FrameHeader::input_id`], which is how the viewer measures input -> photon.
/// The server does not require the ids to increase (it only echoes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputMessage {
    /// The viewer-assigned id.
    pub id: u64,
    /// The event.
    pub event: InputEvent,
}

impl InputMessage {
    /// `event` with id `id`.
    pub fn new(id: u64, event: InputEvent) -> InputMessage {
        InputMessage { id, event }
    }
}

/// The viewer's input -> photon times over its recent window (the time from a DOM input
/// event to the viewer drawing the first frame that answers it), sent about once a second
/// while it has samples, so the server's `/metrics` can show them. Checked against
/// [`crate::limits`] (`p50 <= p95`, both at most [`crate::limits::MAX_PHOTON_US`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotonReport {
    /// How many input events the window holds (at least 1).
    pub samples: u32,
    /// Median input -> photon time, microseconds.
    pub p50_us: u32,
    /// 95th percentile, microseconds.
    pub p95_us: u32,
}

/// A message from the viewer to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message: version, capabilities, token, viewport.
    Hello(Hello),
    /// A frame was displayed.
    Ack(Ack),
    /// The viewer needs a keyframe (a delta arrived without one).
    RequestKeyframe,
    /// The viewer rebuilt its decoder (it errored or stalled): resend from a keyframe.
    DecoderReset,
    /// Pointer, wheel or key input, with the viewer's id for it.
    Input(InputMessage),
    /// The viewer's size or device pixel ratio changed.
    SetViewport(Viewport),
    /// The answer to the server's [`ServerMessage::Heartbeat`]: the viewer is still there.
    Heartbeat,
    /// The viewer's input -> photon times (about once a second while it has samples).
    PhotonReport(PhotonReport),
}

impl ClientMessage {
    /// The variant's name, for error reasons ("expected Hello, got Ack").
    pub fn name(&self) -> &'static str {
        match self {
            ClientMessage::Hello(_) => "Hello",
            ClientMessage::Ack(_) => "Ack",
            ClientMessage::RequestKeyframe => "RequestKeyframe",
            ClientMessage::DecoderReset => "DecoderReset",
            ClientMessage::Input(_) => "Input",
            ClientMessage::SetViewport(_) => "SetViewport",
            ClientMessage::Heartbeat => "Heartbeat",
            ClientMessage::PhotonReport(_) => "PhotonReport",
        }
    }
}

/// What the session will stream: sent after negotiation and again whenever it changes
/// (new frame size, new codec). A viewer rebuilds its decoder on every `Config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamConfig {
    /// The negotiated transport.
    pub transport: Transport,
    /// The codec string: `avc1.PPCCLL` derived from the emitted SPS, or the image MIME type.
    pub codec: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// The frames' render device pixel ratio.
    pub pixel_ratio: f32,
    /// The colour space of the frames' RGB values.
    pub color: ColorSpace,
    /// On the video path, how YUV maps back to RGB (also in the H.264 VUI).
    pub yuv: Option<YuvEncoding>,
    /// The in-flight ceiling the server applies to this viewer.
    pub max_inflight: u8,
    /// The server sends something (a [`ServerMessage::Heartbeat`] when nothing else) at
    /// least this often, in milliseconds: a viewer that hears nothing for a few intervals
    /// can treat the link as dead. 0 = no heartbeats.
    pub heartbeat_ms: u32,
}

/// Fields every frame carries, whatever its transport.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrameHeader {
    /// Session sequence number: 1, 2, 3... per viewer, echoed in [`Ack`].
    pub seq: u64,
    /// The display's publish counter of the frame this payload shows.
    pub frame_seq: u64,
    /// When the frame was published, microseconds on the display's monotonic clock.
    pub timestamp_us: u64,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// True when the payload decodes on its own.
    pub keyframe: bool,
    /// The frame's render device pixel ratio.
    pub pixel_ratio: f32,
    /// The frame's colour space.
    pub color: ColorSpace,
    /// The newest input event of THIS viewer that the frame reflects (the
    /// [`InputMessage::id`] the app marked the frame with, see the server's
    /// `FrameMeta::answering`); `None` when the app marked nothing for this viewer.
    pub input_id: Option<u64>,
}

/// One H.264 access unit (Annex B) for WebCodecs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoChunk<'a> {
    /// Sequence numbers, time, size and keyframe flag.
    pub header: FrameHeader,
    /// The codec of the payload.
    pub codec: VideoCodec,
    /// The access unit.
    #[serde(with = "crate::bytes", borrow)]
    pub payload: &'a [u8],
}

/// One self-contained image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageFrame<'a> {
    /// Sequence numbers, time, size (the keyframe flag is always true).
    pub header: FrameHeader,
    /// The image format.
    pub format: ImageFormat,
    /// The encoded image.
    #[serde(with = "crate::bytes", borrow)]
    pub payload: &'a [u8],
}

/// Server-side measurements pushed to the viewer every `stats_interval`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerStats {
    /// Mean ACK round trip (sent -> displayed) in milliseconds.
    pub rtt_ms: f32,
    /// Frames sent per second, over the recent window.
    pub fps_sent: f32,
    /// Frames acknowledged per second, over the recent window.
    pub fps_acked: f32,
    /// Payload bits per second, over the recent window.
    pub bitrate_bps: f64,
    /// Mean encode time in milliseconds.
    pub encode_ms: f32,
    /// Frames dropped for this viewer so far.
    pub frames_dropped: u64,
    /// Keyframes sent so far.
    pub keyframes_sent: u64,
    /// Frames in flight now.
    pub inflight: u32,
    /// The encoder's target bitrate.
    pub target_bitrate_bps: u64,
    /// The target frame rate.
    pub target_fps: f32,
    /// Mean time from `publish()` to the encode starting, in milliseconds.
    pub queue_ms: f32,
    /// Mean time from the encode ending to the socket write being done, in milliseconds
    /// (waiting for the in-flight window included).
    pub send_ms: f32,
    /// Mean network and queue time: send -> ACK minus the viewer's own receive -> ACK
    /// ([`FrameTimings::receive_to_ack_us`]), in milliseconds (0 without timed ACKs).
    pub network_ms: f32,
}

/// The quality the server now targets for this viewer (informational for the viewer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QualityTarget {
    /// Encoder bitrate (video path).
    pub bitrate_bps: u64,
    /// Frames per second the server sends at most.
    pub fps: f32,
    /// In-flight ceiling.
    pub max_inflight: u8,
    /// JPEG quality (image path), 1..=100.
    pub jpeg_quality: u8,
}

/// Why the server is about to close the connection; sent just before the close frame,
/// whose reason is limited to 123 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// The close code that follows (see [`crate::CloseCode`]).
    pub code: u16,
    /// A readable explanation.
    pub message: String,
}

/// A message from the server to the viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServerMessage<'a> {
    /// What follows and how to decode it.
    Config(StreamConfig),
    /// A video access unit.
    #[serde(borrow)]
    VideoChunk(VideoChunk<'a>),
    /// An image frame.
    #[serde(borrow)]
    ImageFrame(ImageFrame<'a>),
    /// Periodic server-side measurements.
    Stats(ServerStats),
    /// The adaptive controller changed the quality.
    SetQuality(QualityTarget),
    /// The server is closing the connection, and why.
    Error(ErrorReport),
    /// What this viewer may do: sent after negotiation and again whenever the app changes
    /// it (`Display::set_role`). A `View` viewer's input, viewport and paste are dropped.
    Role(Role),
    /// Sent when nothing else was sent for a while, so a viewer can tell a still stream
    /// from a dead link; the viewer answers with [`ClientMessage::Heartbeat`].
    Heartbeat,
    /// Text the app offers for the viewer's clipboard (`Display::set_clipboard`).
    Clipboard(ClipboardText),
}

/// Text for the viewer's system clipboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipboardText {
    /// The text (at most [`crate::limits::MAX_TEXT_BYTES`] bytes).
    pub text: String,
}

impl ServerMessage<'_> {
    /// The frame header, for frame messages.
    pub fn frame_header(&self) -> Option<&FrameHeader> {
        match self {
            ServerMessage::VideoChunk(c) => Some(&c.header),
            ServerMessage::ImageFrame(f) => Some(&f.header),
            _ => None,
        }
    }
}
