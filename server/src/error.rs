//! The server crate's error types, one enum per stage.

use crate::frame::PixelFormat;

/// A frame the display refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// Width or height is zero.
    #[error("frame size {width}x{height} has a zero side")]
    ZeroSize {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The buffer length does not match the size and format.
    #[error("a {width}x{height} {format:?} frame needs {expected} bytes, got {actual}")]
    WrongLength {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Pixel format.
        format: PixelFormat,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// H.264 (4:2:0) needs even sides.
    #[error("H.264 needs even frame sides, got {width}x{height}")]
    OddSize {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// Larger than the encoder supports.
    #[error("frame size {width}x{height} exceeds the H.264 encoder's limit of 3840x2160")]
    TooLarge {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The display was closed.
    #[error("the display is closed")]
    Closed,
}

/// An encoder that could not be built or failed on a frame.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The encoder could not be configured (bad parameters, library failure).
    #[error("configuring the {encoder} encoder failed: {message}")]
    Configure {
        /// Encoder name.
        encoder: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Encoding a frame failed.
    #[error("the {encoder} encoder failed on a frame: {message}")]
    Encode {
        /// Encoder name.
        encoder: &'static str,
        /// What went wrong.
        message: String,
    },
    /// No encoder is registered under this name, or it cannot do this transport.
    #[error("no encoder named {0:?} is registered for this transport")]
    Unknown(String),
}

/// Starting the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The options are inconsistent.
    #[error("invalid options: {0}")]
    Options(String),
    /// The event log could not be opened.
    #[error("cannot open the event log {path}: {source}")]
    EventLog {
        /// The path asked for.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}
