//! Capability strings and transport selection: which encoding a viewer gets.
//!
//! The viewer lists what it can decode in `Hello::capabilities`; the server knows which
//! encoders it has. [`select_transport`] picks H.264 when both sides can, otherwise the best
//! image format both sides share.

use serde::{Deserialize, Serialize};

/// Capability of a viewer that decodes H.264 Annex B access units with WebCodecs.
pub const CAP_H264_ANNEXB: &str = "webcodecs/h264-annexb";

/// An image format on the image transport. Every image frame is a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageFormat {
    /// Lossy JPEG: small and fast, the default while frames keep coming.
    Jpeg,
    /// Lossless PNG: exact pixels, for stills.
    Png,
    /// Lossless WebP.
    Webp,
}

impl ImageFormat {
    /// Every format, in the server's default order of preference.
    pub const ALL: [ImageFormat; 3] = [ImageFormat::Jpeg, ImageFormat::Webp, ImageFormat::Png];

    /// The MIME type, which is also the capability string (`image/jpeg`, ...).
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// Parses a MIME type / capability string.
    pub fn from_mime(mime: &str) -> Option<ImageFormat> {
        ImageFormat::ALL.into_iter().find(|f| f.mime() == mime)
    }

    /// Parses a short name (`jpeg`, `jpg`, `png`, `webp`), as the CLI takes it.
    pub fn from_name(name: &str) -> Option<ImageFormat> {
        match name.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Some(ImageFormat::Jpeg),
            "png" => Some(ImageFormat::Png),
            "webp" => Some(ImageFormat::Webp),
            _ => None,
        }
    }
}

/// The video codec of a video chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VideoCodec {
    /// H.264 access units in Annex B byte-stream format (start codes, SPS/PPS in band).
    H264AnnexB,
}

/// The transport a session negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transport {
    /// A video codec decoded by WebCodecs.
    Video(VideoCodec),
    /// One independent image per frame.
    Image(ImageFormat),
}

impl Transport {
    /// A short name for logs, metrics and the viewer's stats (`h264`, `jpeg`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Transport::Video(VideoCodec::H264AnnexB) => "h264",
            Transport::Image(ImageFormat::Jpeg) => "jpeg",
            Transport::Image(ImageFormat::Png) => "png",
            Transport::Image(ImageFormat::Webp) => "webp",
        }
    }

    /// True for the video transport.
    pub fn is_video(self) -> bool {
        matches!(self, Transport::Video(_))
    }
}

/// What the server can encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEncoders {
    /// An H.264 encoder is available.
    pub h264: bool,
    /// Image formats the server can encode.
    pub image_formats: Vec<ImageFormat>,
}

/// The server's preferences when several transports would work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportPrefs {
    /// Never pick video, even when both sides could.
    pub force_image: bool,
    /// Image formats in order of preference; formats not listed are never chosen.
    pub image_preference: Vec<ImageFormat>,
}

impl Default for TransportPrefs {
    fn default() -> Self {
        TransportPrefs {
            force_image: false,
            image_preference: ImageFormat::ALL.to_vec(),
        }
    }
}

/// No transport both sides support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoCommonTransport {
    /// What the client offered.
    pub offered: Vec<String>,
}

impl core::fmt::Display for NoCommonTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "no transport in common: the viewer offered [{}]",
            self.offered.join(", ")
        )
    }
}

impl std::error::Error for NoCommonTransport {}

/// Picks the transport for one viewer: H.264 when the viewer decodes it, the server has an
/// encoder and `prefs` allow it; else the first image format in `prefs.image_preference`
/// that both sides support; else an error.
pub fn select_transport(
    client_caps: &[String],
    server: &ServerEncoders,
    prefs: &TransportPrefs,
) -> Result<Transport, NoCommonTransport> {
    let offers = |cap: &str| client_caps.iter().any(|c| c == cap);
    if server.h264 && !prefs.force_image && offers(CAP_H264_ANNEXB) {
        return Ok(Transport::Video(VideoCodec::H264AnnexB));
    }
    prefs
        .image_preference
        .iter()
        .copied()
        .find(|f| server.image_formats.contains(f) && offers(f.mime()))
        .map(Transport::Image)
        .ok_or_else(|| NoCommonTransport {
            offered: client_caps.to_vec(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn all_server() -> ServerEncoders {
        ServerEncoders {
            h264: true,
            image_formats: ImageFormat::ALL.to_vec(),
        }
    }

    #[test]
    fn prefers_h264_when_both_sides_can() {
        let chosen = select_transport(
            &caps(&["image/png", CAP_H264_ANNEXB]),
            &all_server(),
            &TransportPrefs::default(),
        );
        assert_eq!(chosen, Ok(Transport::Video(VideoCodec::H264AnnexB)));
    }

    #[test]
    fn falls_back_to_best_shared_image_format() {
        let server = ServerEncoders {
            h264: false,
            ..all_server()
        };
        let chosen = select_transport(
            &caps(&["image/png", CAP_H264_ANNEXB, "image/jpeg"]),
            &server,
            &TransportPrefs::default(),
        );
        assert_eq!(chosen, Ok(Transport::Image(ImageFormat::Jpeg)));
    }

    #[test]
    fn force_image_and_preference_order_are_honoured() {
        let prefs = TransportPrefs {
            force_image: true,
            image_preference: vec![ImageFormat::Png, ImageFormat::Jpeg],
        };
        let chosen = select_transport(
            &caps(&[CAP_H264_ANNEXB, "image/jpeg", "image/png"]),
            &all_server(),
            &prefs,
        );
        assert_eq!(chosen, Ok(Transport::Image(ImageFormat::Png)));
    }

    #[test]
    fn nothing_in_common_is_an_error_naming_the_offer() {
        let server = ServerEncoders {
            h264: false,
            image_formats: vec![ImageFormat::Png],
        };
        let err = select_transport(
            &caps(&[CAP_H264_ANNEXB, "image/gif"]),
            &server,
            &TransportPrefs::default(),
        )
        .expect_err("no common transport");
        assert!(err.to_string().contains("image/gif"), "{err}");
    }

    #[test]
    fn image_names_and_mimes_parse() {
        for f in ImageFormat::ALL {
            assert_eq!(ImageFormat::from_mime(f.mime()), Some(f));
        }
        assert_eq!(ImageFormat::from_name("JPG"), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::from_name("gif"), None);
    }
}
