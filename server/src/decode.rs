//! Decoding payloads back to RGB8: what the native test client, the tests and the bench
//! use to check pixels without a browser. H.264 goes through openh264's decoder and the
//! inverse of the YUV transform the stream signals; images through the `image` crate.

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use rfb_protocol::{Rgb, YuvEncoding};

use crate::encode::yuv::{i420_to_rgb8, I420Planes};

/// A payload that did not decode.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// openh264 refused the access unit or could not start.
    #[error("H.264 decode failed: {0}")]
    H264(String),
    /// The image did not decode.
    #[error("image decode failed: {0}")]
    Image(String),
    /// YUV -> RGB conversion failed.
    #[error("YUV conversion failed: {0}")]
    Convert(String),
}

/// A decoded frame as tightly packed RGB8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGB8 rows.
    pub rgb: Vec<u8>,
}

impl DecodedFrame {
    /// The pixel at `(x, y)`.
    pub fn pixel(&self, x: u32, y: u32) -> Rgb {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The centre pixel of quadrant `q` (0 top-left, 1 top-right, 2 bottom-left,
    /// 3 bottom-right), where the test card's colours are checked.
    pub fn quadrant_centre(&self, q: u8) -> Rgb {
        let x = if q.is_multiple_of(2) {
            self.width / 4
        } else {
            self.width * 3 / 4
        };
        let y = if q < 2 {
            self.height / 4
        } else {
            self.height * 3 / 4
        };
        self.pixel(x, y)
    }

    /// The largest per-channel difference between quadrant `q`'s centre and `expected`.
    pub fn quadrant_error(&self, q: u8, expected: Rgb) -> u8 {
        let got = self.quadrant_centre(q);
        (0..3)
            .map(|c| got[c].abs_diff(expected[c]))
            .max()
            .unwrap_or(0)
    }
}

/// A stateful H.264 decoder (one per stream of access units).
pub struct H264Decoder {
    decoder: Decoder,
    rgb: Vec<u8>,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder").finish_non_exhaustive()
    }
}

impl H264Decoder {
    /// A fresh decoder.
    pub fn new() -> Result<H264Decoder, DecodeError> {
        Ok(H264Decoder {
            decoder: Decoder::new().map_err(|e| DecodeError::H264(e.to_string()))?,
            rgb: Vec::new(),
        })
    }

    /// Decodes one Annex B access unit; `None` when it produced no picture yet.
    pub fn decode(
        &mut self,
        access_unit: &[u8],
        yuv: YuvEncoding,
    ) -> Result<Option<DecodedFrame>, DecodeError> {
        let decoded = self
            .decoder
            .decode(access_unit)
            .map_err(|e| DecodeError::H264(e.to_string()))?;
        let Some(picture) = decoded else {
            return Ok(None);
        };
        let (width, height) = picture.dimensions();
        let (y_stride, u_stride, v_stride) = picture.strides();
        let planes = I420Planes {
            width: width as u32,
            height: height as u32,
            y: picture.y(),
            y_stride,
            u: picture.u(),
            u_stride,
            v: picture.v(),
            v_stride,
        };
        i420_to_rgb8(planes, yuv, &mut self.rgb)
            .map_err(|e| DecodeError::Convert(e.to_string()))?;
        Ok(Some(DecodedFrame {
            width: width as u32,
            height: height as u32,
            rgb: self.rgb.clone(),
        }))
    }
}

/// Decodes a JPEG (libjpeg-turbo), PNG or WebP (`image`) image to RGB8.
pub fn decode_image(payload: &[u8]) -> Result<DecodedFrame, DecodeError> {
    if payload.starts_with(&[0xff, 0xd8]) {
        let image = turbojpeg::decompress(payload, turbojpeg::PixelFormat::RGB)
            .map_err(|e| DecodeError::Image(e.to_string()))?;
        let (width, height) = (image.width as u32, image.height as u32);
        let rgb = if image.pitch == image.width * 3 {
            image.pixels
        } else {
            image
                .pixels
                .chunks(image.pitch)
                .flat_map(|row| &row[..image.width * 3])
                .copied()
                .collect()
        };
        return Ok(DecodedFrame { width, height, rgb });
    }
    let image = image::load_from_memory(payload).map_err(|e| DecodeError::Image(e.to_string()))?;
    let rgb = image.to_rgb8();
    Ok(DecodedFrame {
        width: rgb.width(),
        height: rgb.height(),
        rgb: rgb.into_raw(),
    })
}

/// Peak signal-to-noise ratio of `decoded` against `source` (RGB8 of the same size), in
/// dB over all samples; identical inputs give 99 dB.
pub fn psnr(source: &[u8], decoded: &[u8]) -> f64 {
    let n = source.len().min(decoded.len());
    if n == 0 {
        return 0.0;
    }
    let sse: f64 = source[..n]
        .iter()
        .zip(&decoded[..n])
        .map(|(a, b)| {
            let d = f64::from(*a) - f64::from(*b);
            d * d
        })
        .sum();
    if sse == 0.0 {
        return 99.0;
    }
    let mse = sse / n as f64;
    (10.0 * (255.0f64 * 255.0 / mse).log10()).min(99.0)
}
