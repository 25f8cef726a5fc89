//! The relay's message formats: postcard-encoded structs behind one version byte
//! ([`WIRE_VERSION`]). A message with another version or that does not decode is an
//! error the receiver logs (rate limited by its caller) and drops. NATS bounds every
//! message's size (`max_payload`, 1 MiB by default, set by the server): what the origin
//! sends on `P.s.NAME.au` travels as [`Part`]s of at most that size (see
//! [`super::chunks`]), so an access unit of any size crosses any NATS.

use rfb_protocol::{ColorSpace, ImageFormat, InputEvent, Role, YuvEncoding};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The first byte of every relay message; bumped on any incompatible change.
pub const WIRE_VERSION: u8 = 3;

/// Most edge viewers one [`AccessUnit`] names as answered ([`AccessUnit::answers`]);
/// beyond it the origin leaves the rest out (those viewers get no `input_id` for that
/// frame, and measure no input -> photon from it).
pub const MAX_RELAYED_ANSWERS: usize = 256;

/// A relay message that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Empty, or another version.
    #[error("relay message of version {found:?}, this build speaks {WIRE_VERSION}")]
    Version {
        /// The version byte found.
        found: Option<u8>,
    },
    /// The body does not decode.
    #[error("relay message does not decode: {0}")]
    Decode(String),
}

/// Encodes a message.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut out = vec![WIRE_VERSION];
    // Serialising these plain structs into a Vec cannot fail.
    out.extend(postcard::to_allocvec(message).unwrap_or_default());
    out
}

/// Decodes a message.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    match bytes.split_first() {
        Some((&WIRE_VERSION, body)) => {
            postcard::from_bytes(body).map_err(|e| WireError::Decode(e.to_string()))
        }
        other => Err(WireError::Version {
            found: other.map(|(v, _)| *v),
        }),
    }
}

/// An origin's streams (`P.catalog`), published every second: the edges' list of streams
/// and the origin's liveness signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// The origin's relay name.
    pub origin: String,
    /// Random per process: a new value means the origin restarted.
    pub instance: u64,
    /// Its streams.
    pub streams: Vec<StreamInfo>,
}

/// One stream of a catalogue: what an edge needs to serve it like the origin does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamInfo {
    /// The stream's name.
    pub name: String,
    /// The size of its latest frame.
    pub width: u32,
    /// The size of its latest frame.
    pub height: u32,
    /// Publish rate the encoder is set up for.
    pub fps: f32,
    /// H.264 target bitrate.
    pub bitrate_bps: u32,
    /// Periodic IDR interval in frames (0 = on demand only).
    pub keyframe_interval: u32,
    /// Most un-acknowledged frames per viewer.
    pub max_inflight: u8,
    /// True when the stream is relayed as H.264 (false: not relayed, see the README).
    pub video: bool,
    /// Image formats edge viewers may get (encoded on the edge from the decoded video).
    pub image_formats: Vec<ImageFormat>,
    /// JPEG quality of image viewers.
    pub jpeg_quality: u8,
    /// Stills after this many milliseconds at rest (0 = off).
    pub still_after_ms: u32,
    /// Frames published so far.
    pub frames_published: u64,
}

/// One message on `P.s.NAME.au`: a slice of an encoded [`StreamItem`]. An item that
/// fits in one NATS message is one part (`index` 0, `count` 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The origin process ([`Catalogue::instance`]).
    pub instance: u64,
    /// The relay's order of the item: consecutive, a gap means some were lost.
    pub n: u64,
    /// This part's place, from 0.
    pub index: u32,
    /// How many parts the item has.
    pub count: u32,
    /// The encoded item's length in bytes (all parts together).
    pub total: u32,
    /// This part's bytes of the encoded item.
    pub bytes: Vec<u8>,
}

/// What the origin sends a stream's edges, in order, numbered and split into [`Part`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StreamItem {
    /// An access unit.
    AccessUnit(AccessUnit),
    /// The app offered clipboard text (`Display::set_clipboard`): every viewer of the
    /// stream on every edge gets it.
    Clipboard(String),
}

/// One H.264 access unit of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessUnit {
    /// The origin display's publish counter of the frame.
    pub frame_seq: u64,
    /// When the app published the frame, microseconds since the Unix epoch.
    pub published_unix_us: u64,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// The frame's render device pixel ratio.
    pub pixel_ratio: f32,
    /// The frame's colour tag.
    pub color: ColorSpace,
    /// The codec string of the SPS in force.
    pub codec: String,
    /// The YUV encoding the stream signals.
    pub yuv: Option<YuvEncoding>,
    /// An IDR.
    pub keyframe: bool,
    /// A high-quality still of a resting frame (skippable: the next access unit is an IDR).
    pub still: bool,
    /// Temporal layer (0 = base; with two layers, 1 = pictures nothing references).
    pub layer: u8,
    /// True when a viewer may skip it without losing sync (a higher temporal layer).
    pub droppable: bool,
    /// How long the origin's encode took, microseconds.
    pub encode_us: u32,
    /// The edge viewers whose input the frame answers (the app's `FrameMeta::answering`,
    /// mapped back from the origin's client ids to each edge's own), at most
    /// [`MAX_RELAYED_ANSWERS`]: each edge keeps the entries naming it.
    pub answers: Vec<RelayAnswer>,
    /// The Annex B access unit.
    pub data: Vec<u8>,
}

/// One edge viewer's input a relayed frame answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayAnswer {
    /// The edge's relay name.
    pub edge: String,
    /// The viewer's id on that edge.
    pub client_id: u64,
    /// The newest input id of that viewer the frame reflects.
    pub input_id: u64,
}

/// An edge has viewers of a stream (`P.s.NAME.demand`), sent every second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    /// The edge's relay name.
    pub edge: String,
}

/// An edge asks for an IDR (`P.s.NAME.idr`, request-reply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdrRequest {
    /// The edge's relay name.
    pub edge: String,
}

/// The origin's answer to an [`IdrRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdrReply {
    /// The next newly published frame is an IDR (or one was sent less than 500 ms ago).
    Granted,
    /// Refused by the fairness rules (this edge asked too often, or the stream rests):
    /// the edge serves its cached group and waits for the next periodic IDR.
    Refused,
    /// The origin is not publishing this stream (no demand yet, or unknown).
    NotPublishing,
}

/// A viewer's input, from an edge (`P.s.NAME.input`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayInput {
    /// The edge's relay name.
    pub edge: String,
    /// The viewer's id on that edge.
    pub client_id: u64,
    /// The edge's authentication principal, when it is a string (`--token` viewers: `token`).
    pub principal: Option<String>,
    /// The viewer's role on the edge (the origin drops `View` input too).
    pub role: Role,
    /// The event, already checked against `rfb_protocol::limits` and clamped to the frame
    /// by the edge's session.
    pub event: InputEvent,
    /// The id the viewer gave the event (see `rfb::InputEvent::input_id`).
    pub input_id: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> AccessUnit {
        AccessUnit {
            frame_seq: 3,
            published_unix_us: 1_700_000_000_000_000,
            width: 1280,
            height: 720,
            pixel_ratio: 2.0,
            color: rfb_protocol::DISPLAY_P3,
            codec: "avc1.42e01f".into(),
            yuv: Some(rfb_protocol::BT601_LIMITED),
            keyframe: true,
            still: false,
            layer: 0,
            droppable: false,
            encode_us: 5000,
            answers: vec![RelayAnswer {
                edge: "edge-1".into(),
                client_id: 3,
                input_id: 17,
            }],
            data: vec![0, 0, 0, 1, 0x65, 1, 2, 3],
        }
    }

    #[test]
    fn messages_round_trip() {
        let u = unit();
        assert_eq!(decode::<AccessUnit>(&encode(&u)).expect("decodes"), u);
        let input = RelayInput {
            edge: "edge-1".into(),
            client_id: 9,
            principal: Some("token".into()),
            role: Role::View,
            event: InputEvent::Resize(rfb_protocol::Viewport {
                width: 640.0,
                height: 360.0,
                pwidth: 1280,
                pheight: 720,
                ratio: 2.0,
            }),
            input_id: None,
        };
        assert_eq!(
            decode::<RelayInput>(&encode(&input)).expect("decodes"),
            input
        );
        assert_eq!(
            decode::<IdrReply>(&encode(&IdrReply::Refused)).expect("decodes"),
            IdrReply::Refused
        );
    }

    #[test]
    fn other_versions_and_garbage_are_errors() {
        let mut bytes = encode(&unit());
        bytes[0] = WIRE_VERSION + 1;
        assert!(matches!(
            decode::<AccessUnit>(&bytes),
            Err(WireError::Version { found: Some(_) })
        ));
        assert!(matches!(
            decode::<AccessUnit>(&[]),
            Err(WireError::Version { found: None })
        ));
        let bytes = encode(&unit());
        assert!(matches!(
            decode::<AccessUnit>(&bytes[..bytes.len() / 2]),
            Err(WireError::Decode(_))
        ));
        // A huge length prefix must not allocate: postcard checks it against the input.
        assert!(decode::<AccessUnit>(&[WIRE_VERSION, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }
}
