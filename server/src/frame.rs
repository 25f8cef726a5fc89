//! Frames as the app publishes them: validated, immutable and shared by reference count.
//!
//! Ownership is our answer to the "borrow or copy?" question: [`Frame`] holds its pixels in
//! [`bytes::Bytes`], which is immutable. Publishing moves the buffer in (no copy for a
//! `Vec<u8>`), every viewer's encoder reads the same allocation, and nothing, not even the
//! app, can write to it afterwards, so no encoder can ever see a torn frame. The app renders
//! the next frame into a fresh (or recycled, once dropped) buffer.

use bytes::Bytes;
use rfb_protocol::ColorSpace;

use crate::answers::Answers;
use crate::error::FrameError;

/// How the bytes of a frame are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// 3 bytes per pixel, R G B, rows top to bottom, no padding.
    Rgb8,
    /// 4 bytes per pixel, R G B A (alpha is ignored by the encoders).
    Rgba8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb8 => 3,
            PixelFormat::Rgba8 => 4,
        }
    }
}

/// An immutable RGB8 or RGBA8 image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    width: u32,
    height: u32,
    format: PixelFormat,
    data: Bytes,
}

impl Frame {
    /// Wraps pixels after checking that the size is non-zero and the length matches.
    pub fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        data: impl Into<Bytes>,
    ) -> Result<Frame, FrameError> {
        let data = data.into();
        if width == 0 || height == 0 {
            return Err(FrameError::ZeroSize { width, height });
        }
        let expected = width as usize * height as usize * format.bytes_per_pixel();
        if data.len() != expected {
            return Err(FrameError::WrongLength {
                width,
                height,
                format,
                expected,
                actual: data.len(),
            });
        }
        Ok(Frame {
            width,
            height,
            format,
            data,
        })
    }

    /// An RGB8 frame.
    pub fn rgb(width: u32, height: u32, data: impl Into<Bytes>) -> Result<Frame, FrameError> {
        Frame::new(width, height, PixelFormat::Rgb8, data)
    }

    /// An RGBA8 frame.
    pub fn rgba(width: u32, height: u32, data: impl Into<Bytes>) -> Result<Frame, FrameError> {
        Frame::new(width, height, PixelFormat::Rgba8, data)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// `(width, height)`.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The pixels.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixels as RGB8: borrowed when already RGB8, converted when RGBA8.
    pub fn to_rgb8(&self) -> std::borrow::Cow<'_, [u8]> {
        match self.format {
            PixelFormat::Rgb8 => std::borrow::Cow::Borrowed(&self.data),
            PixelFormat::Rgba8 => std::borrow::Cow::Owned(
                self.data
                    .chunks_exact(4)
                    .flat_map(|px| [px[0], px[1], px[2]])
                    .collect(),
            ),
        }
    }
}

/// A frame as the display stored it: the pixels plus what the publisher said about them.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedFrame {
    /// The pixels.
    pub frame: Frame,
    /// The display's publish counter: 1 for the first frame, +1 per publish.
    pub seq: u64,
    /// Publish time in microseconds on the display's monotonic clock.
    pub timestamp_us: u64,
    /// The frame's render device pixel ratio.
    pub pixel_ratio: f32,
    /// The colour space of the RGB values (a tag; never converted).
    pub color: ColorSpace,
    /// Per viewer, the newest input the frame answers (see [`crate::answers`]).
    pub answers: Answers,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_lengths_and_zero_sizes_are_errors() {
        assert!(Frame::rgb(2, 2, vec![0u8; 12]).is_ok());
        assert!(matches!(
            Frame::rgb(2, 2, vec![0u8; 11]),
            Err(FrameError::WrongLength {
                expected: 12,
                actual: 11,
                ..
            })
        ));
        assert!(matches!(
            Frame::rgba(0, 2, Vec::new()),
            Err(FrameError::ZeroSize { .. })
        ));
    }

    #[test]
    fn rgba_converts_to_rgb() {
        let f = Frame::rgba(2, 1, vec![1, 2, 3, 255, 4, 5, 6, 0]).expect("valid");
        assert_eq!(&*f.to_rgb8(), &[1, 2, 3, 4, 5, 6]);
    }
}
