//! [`ImageEncoder`]: one independent image per frame, for viewers without WebCodecs or for
//! exact stills. JPEG goes through libjpeg-turbo (`turbojpeg`, 4:2:0, quality from the
//! spec); PNG and lossless WebP through the `image` crate. Every payload is a keyframe.
//!
//! PNG uses the `image` crate's `Fast` compression (fdeflate) with adaptive filtering.
//! Measured at 1280x720 (release, 2 cores): 0.5-0.7 ms and 15-21 KB per frame on the
//! gradient, test card and checkerboard patterns, where `Level(1)` takes 1.1-2.0 ms for
//! about the same size, `Default` compression 5-6 ms for 4-5 KB, and `Fast` with a single
//! fixed filter (`Up`, `Sub`) is as quick but 7-40x bigger on some of them.
//!
//! RGBA input is accepted; alpha is dropped, since the viewer draws opaque frames.
//!
//! Colour: a Display P3 spec embeds the Display P3 ICC profile ([`super::icc`]) in every
//! image (JPEG `APP2`, PNG `iCCP`, WebP `ICCP`), since browsers colour-manage images by
//! their profile and take a bare image as sRGB; sRGB images carry none. Pixels are never
//! converted.

use bytes::Bytes;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder as _};
use rfb_protocol::{ImageFormat, Transport};
use turbojpeg::{Compressor, Subsamp};

use super::{icc, EncodedPayload, Encoder, EncoderSpec};
use crate::error::EncodeError;
use crate::frame::{Frame, PixelFormat};

/// Name used in errors.
const NAME: &str = "image";

fn encode_error(message: impl ToString) -> EncodeError {
    EncodeError::Encode {
        encoder: NAME,
        message: message.to_string(),
    }
}

fn configure_error(message: impl ToString) -> EncodeError {
    EncodeError::Configure {
        encoder: NAME,
        message: message.to_string(),
    }
}

/// Encodes frames as JPEG, PNG or lossless WebP.
pub struct ImageEncoder {
    format: ImageFormat,
    /// The libjpeg-turbo handle, kept across frames (JPEG only).
    jpeg: Option<Compressor>,
    jpeg_quality: u8,
    /// The ICC profile every image carries (Display P3), or none (sRGB).
    icc: Option<&'static [u8]>,
    /// RGB8 copy of an RGBA8 frame for the PNG/WebP path, reused across frames.
    rgb: Vec<u8>,
}

impl std::fmt::Debug for ImageEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageEncoder")
            .field("format", &self.format)
            .field("jpeg_quality", &self.jpeg_quality)
            .field("icc", &self.icc.map(<[u8]>::len))
            .finish_non_exhaustive()
    }
}

impl ImageEncoder {
    /// Builds an encoder for `spec` (which must ask for an image transport).
    pub fn new(spec: &EncoderSpec) -> Result<ImageEncoder, EncodeError> {
        let Transport::Image(format) = spec.transport else {
            return Err(EncodeError::Unknown(format!(
                "{NAME} cannot produce {}",
                spec.transport.name()
            )));
        };
        let mut encoder = ImageEncoder {
            format,
            jpeg: None,
            jpeg_quality: spec.jpeg_quality,
            icc: icc::profile_for(spec.color),
            rgb: Vec::new(),
        };
        if format == ImageFormat::Jpeg {
            let mut compressor = Compressor::new().map_err(configure_error)?;
            compressor
                .set_subsamp(Subsamp::Sub2x2)
                .map_err(configure_error)?;
            encoder.jpeg = Some(compressor);
            encoder.set_jpeg_quality(spec.jpeg_quality)?;
        }
        Ok(encoder)
    }

    /// [`ImageEncoder::new`], boxed for the [`super::EncoderRegistry`].
    pub fn boxed(spec: &EncoderSpec) -> Result<Box<dyn Encoder>, EncodeError> {
        Ok(Box::new(ImageEncoder::new(spec)?))
    }

    /// The format this encoder produces.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// Changes the JPEG quality (1..=100) for the following frames, e.g. when a session
    /// adapts to its link; ignored by the lossless formats.
    pub fn set_jpeg_quality(&mut self, quality: u8) -> Result<(), EncodeError> {
        if !(1..=100).contains(&quality) {
            return Err(configure_error(format!(
                "JPEG quality must be 1..=100, got {quality}"
            )));
        }
        if let Some(jpeg) = &mut self.jpeg {
            jpeg.set_quality(i32::from(quality))
                .map_err(configure_error)?;
        }
        self.jpeg_quality = quality;
        Ok(())
    }

    /// The JPEG quality in force.
    pub fn jpeg_quality(&self) -> u8 {
        self.jpeg_quality
    }

    fn encode_jpeg(&mut self, frame: &Frame) -> Result<Vec<u8>, EncodeError> {
        let jpeg = self
            .jpeg
            .as_mut()
            .ok_or_else(|| encode_error("no JPEG compressor"))?;
        let format = match frame.format() {
            PixelFormat::Rgb8 => turbojpeg::PixelFormat::RGB,
            PixelFormat::Rgba8 => turbojpeg::PixelFormat::RGBX,
        };
        let image = turbojpeg::Image {
            pixels: frame.data(),
            width: frame.width() as usize,
            pitch: frame.width() as usize * frame.format().bytes_per_pixel(),
            height: frame.height() as usize,
            format,
        };
        let jpeg = jpeg.compress_to_vec(image).map_err(encode_error)?;
        match self.icc {
            Some(profile) => icc::jpeg_with_icc(&jpeg, profile)
                .ok_or_else(|| encode_error("cannot embed the ICC profile in the JPEG")),
            None => Ok(jpeg),
        }
    }

    /// The frame as tightly packed RGB8, copying only RGBA8 frames (into a reused buffer).
    fn rgb8<'a>(rgb: &'a mut Vec<u8>, frame: &'a Frame) -> &'a [u8] {
        match frame.format() {
            PixelFormat::Rgb8 => frame.data(),
            PixelFormat::Rgba8 => {
                rgb.clear();
                rgb.extend(
                    frame
                        .data()
                        .chunks_exact(4)
                        .flat_map(|px| [px[0], px[1], px[2]]),
                );
                rgb
            }
        }
    }

    fn encode_lossless(&mut self, frame: &Frame) -> Result<Vec<u8>, EncodeError> {
        let pixels = Self::rgb8(&mut self.rgb, frame);
        let (w, h) = frame.size();
        // PNG shrinks rendered content to ~1/10 and WebP further; start at 1/8 to avoid
        // most regrowth.
        let mut out = Vec::with_capacity(pixels.len() / 8);
        let icc = self.icc.map(<[u8]>::to_vec);
        match self.format {
            ImageFormat::Png => {
                let mut png = PngEncoder::new_with_quality(
                    &mut out,
                    CompressionType::Fast,
                    FilterType::Adaptive,
                );
                if let Some(icc) = icc {
                    png.set_icc_profile(icc).map_err(encode_error)?;
                }
                png.write_image(pixels, w, h, ExtendedColorType::Rgb8)
            }
            ImageFormat::Webp => {
                let mut webp = WebPEncoder::new_lossless(&mut out);
                if let Some(icc) = icc {
                    webp.set_icc_profile(icc).map_err(encode_error)?;
                }
                webp.write_image(pixels, w, h, ExtendedColorType::Rgb8)
            }
            ImageFormat::Jpeg => return Err(encode_error("JPEG is not lossless")),
        }
        .map_err(encode_error)?;
        Ok(out)
    }
}

impl Encoder for ImageEncoder {
    fn encode(
        &mut self,
        frame: &Frame,
        _force_keyframe: bool,
    ) -> Result<Vec<EncodedPayload>, EncodeError> {
        let data = match self.format {
            ImageFormat::Jpeg => self.encode_jpeg(frame)?,
            ImageFormat::Png | ImageFormat::Webp => self.encode_lossless(frame)?,
        };
        Ok(vec![EncodedPayload::base(Bytes::from(data), true)])
    }

    fn codec_string(&self) -> String {
        self.format.mime().to_string()
    }

    fn transport(&self) -> Transport {
        Transport::Image(self.format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::{expected_quadrant_color, test_card, VideoCodec};

    fn spec(format: ImageFormat) -> EncoderSpec {
        EncoderSpec::new(Transport::Image(format), 96, 64)
    }

    fn frames(seq: u64) -> [Frame; 2] {
        let rgb = test_card(seq, 96, 64);
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 7])
            .collect();
        [
            Frame::rgb(96, 64, rgb).expect("valid frame"),
            Frame::rgba(96, 64, rgba).expect("valid frame"),
        ]
    }

    fn encode_and_decode(encoder: &mut ImageEncoder, frame: &Frame) -> image::RgbImage {
        let payloads = encoder.encode(frame, false).expect("encode");
        assert_eq!(payloads.len(), 1);
        assert!(payloads[0].keyframe, "every image is a keyframe");
        let data = &payloads[0].data;
        if encoder.format() == ImageFormat::Jpeg {
            // The `image` crate is built without its JPEG decoder; libjpeg-turbo decodes.
            let decoded =
                turbojpeg::decompress(data, turbojpeg::PixelFormat::RGB).expect("decode JPEG");
            let (w, h) = (decoded.width as u32, decoded.height as u32);
            return image::RgbImage::from_raw(w, h, decoded.pixels).expect("tightly packed RGB");
        }
        let format = image::guess_format(data).expect("known format");
        assert_eq!(format.to_mime_type(), encoder.codec_string());
        image::load_from_memory_with_format(data, format)
            .expect("decode")
            .to_rgb8()
    }

    fn check_quadrants(decoded: &image::RgbImage, seq: u64, tolerance: u8, context: &str) {
        assert_eq!(decoded.dimensions(), (96, 64));
        for (q, (x, y)) in [(24, 16), (72, 16), (24, 48), (72, 48)]
            .into_iter()
            .enumerate()
        {
            let got = decoded.get_pixel(x, y).0;
            let want = expected_quadrant_color(seq, q as u8);
            let ok = got
                .iter()
                .zip(want)
                .all(|(g, w)| g.abs_diff(w) <= tolerance);
            assert!(ok, "{context} seq {seq} q {q}: got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn jpeg_quadrants_within_6() {
        let mut encoder = ImageEncoder::new(&spec(ImageFormat::Jpeg)).expect("encoder");
        assert_eq!(encoder.codec_string(), "image/jpeg");
        for seq in 0..4 {
            for frame in frames(seq) {
                let decoded = encode_and_decode(&mut encoder, &frame);
                check_quadrants(&decoded, seq, 6, &format!("jpeg {:?}", frame.format()));
            }
        }
    }

    #[test]
    fn png_and_webp_are_exact() {
        for format in [ImageFormat::Png, ImageFormat::Webp] {
            let mut encoder = ImageEncoder::new(&spec(format)).expect("encoder");
            assert_eq!(encoder.transport(), Transport::Image(format));
            for seq in 0..4 {
                for frame in frames(seq) {
                    let decoded = encode_and_decode(&mut encoder, &frame);
                    assert_eq!(
                        decoded.as_raw(),
                        &test_card(seq, 96, 64),
                        "{format:?} {:?}",
                        frame.format()
                    );
                    check_quadrants(&decoded, seq, 0, &format!("{format:?}"));
                }
            }
        }
    }

    /// The ICC profile an image carries, read by the decoders (`image` for PNG and WebP;
    /// the `APP2` reader for JPEG, `image` being built without JPEG).
    fn embedded_profile(format: ImageFormat, data: &[u8]) -> Option<Vec<u8>> {
        use image::ImageDecoder as _;
        let cursor = std::io::Cursor::new(data);
        match format {
            ImageFormat::Jpeg => icc::jpeg_icc_profile(data),
            ImageFormat::Png => image::codecs::png::PngDecoder::new(cursor)
                .expect("PNG")
                .icc_profile()
                .expect("read iCCP"),
            ImageFormat::Webp => image::codecs::webp::WebPDecoder::new(cursor)
                .expect("WebP")
                .icc_profile()
                .expect("read ICCP"),
        }
    }

    /// The PNG chunk types in order, or the RIFF chunk FourCCs of a WebP.
    fn chunks(format: ImageFormat, data: &[u8]) -> Vec<String> {
        let word = |at: usize| [data[at], data[at + 1], data[at + 2], data[at + 3]];
        let mut at = if format == ImageFormat::Png { 8 } else { 12 };
        let mut names = Vec::new();
        while at + 8 <= data.len() {
            // PNG: length, type, data, CRC. RIFF: FourCC, length, data padded to even.
            let (name, next) = if format == ImageFormat::Png {
                let len = u32::from_be_bytes(word(at)) as usize;
                (word(at + 4), at + 12 + len)
            } else {
                let len = u32::from_le_bytes(word(at + 4)) as usize;
                (word(at), at + 8 + len.next_multiple_of(2))
            };
            names.push(String::from_utf8_lossy(&name).into_owned());
            at = next;
        }
        names
    }

    #[test]
    fn display_p3_images_carry_the_profile_and_srgb_images_none() {
        for format in ImageFormat::ALL {
            let p3_spec = EncoderSpec {
                color: rfb_protocol::DISPLAY_P3,
                ..spec(format)
            };
            let mut srgb = ImageEncoder::new(&spec(format)).expect("encoder");
            let mut p3 = ImageEncoder::new(&p3_spec).expect("encoder");
            for frame in frames(2) {
                let plain = srgb.encode(&frame, false).expect("encode")[0].data.clone();
                let tagged = p3.encode(&frame, false).expect("encode")[0].data.clone();
                assert_eq!(embedded_profile(format, &plain), None, "{format:?} sRGB");
                assert_eq!(
                    embedded_profile(format, &tagged).as_deref(),
                    icc::display_p3(),
                    "{format:?} P3"
                );
                // Same pixels, decoded by the same decoders: a tag, not a conversion.
                let a = encode_and_decode(&mut srgb, &frame);
                let b = encode_and_decode(&mut p3, &frame);
                assert_eq!(a, b, "{format:?}");
                check_quadrants(&b, 2, if format == ImageFormat::Jpeg { 6 } else { 0 }, "P3");
                match format {
                    ImageFormat::Jpeg => {
                        // SOI, JFIF APP0, then the profile.
                        assert_eq!(&tagged[..4], &[0xff, 0xd8, 0xff, 0xe0]);
                        let app2 = 4 + usize::from(u16::from_be_bytes([tagged[4], tagged[5]]));
                        assert_eq!(&tagged[app2..app2 + 2], &[0xff, 0xe2]);
                        assert_eq!(
                            tagged.len(),
                            plain.len() + 18 + icc::display_p3().map_or(0, <[u8]>::len)
                        );
                    }
                    ImageFormat::Png => {
                        let names = chunks(format, &tagged);
                        assert_eq!(&names[..2], ["IHDR", "iCCP"], "{names:?}");
                        assert!(!chunks(format, &plain).contains(&"iCCP".to_string()));
                    }
                    ImageFormat::Webp => {
                        assert_eq!(chunks(format, &tagged), ["VP8X", "ICCP", "VP8L"]);
                        assert_eq!(chunks(format, &plain), ["VP8L"]);
                        assert_eq!(tagged[20] & 0x20, 0x20, "VP8X ICC flag");
                    }
                }
            }
        }
    }

    #[test]
    fn jpeg_quality_changes_the_size_and_is_validated() {
        let frame =
            Frame::rgb(96, 64, rfb_protocol::pattern::gradient(3, 96, 64)).expect("valid frame");
        let mut encoder = ImageEncoder::new(&EncoderSpec {
            jpeg_quality: 95,
            ..spec(ImageFormat::Jpeg)
        })
        .expect("encoder");
        let big = encoder.encode(&frame, false).expect("encode")[0].data.len();
        encoder.set_jpeg_quality(20).expect("valid quality");
        let small = encoder.encode(&frame, false).expect("encode")[0].data.len();
        assert!(small < big, "q20 {small} bytes, q95 {big} bytes");
        assert!(encoder.set_jpeg_quality(0).is_err());
        assert!(encoder.set_jpeg_quality(101).is_err());
        assert!(ImageEncoder::new(&EncoderSpec {
            jpeg_quality: 0,
            ..spec(ImageFormat::Jpeg)
        })
        .is_err());
        let video = EncoderSpec::new(Transport::Video(VideoCodec::H264AnnexB), 96, 64);
        assert!(ImageEncoder::new(&video).is_err());
    }

    #[test]
    fn odd_sizes_work() {
        for format in ImageFormat::ALL {
            let mut encoder = ImageEncoder::new(&EncoderSpec::new(Transport::Image(format), 5, 3))
                .expect("encoder");
            let frame = Frame::rgb(5, 3, vec![200u8; 45]).expect("valid frame");
            assert_eq!(
                encoder.encode(&frame, true).expect("encode").len(),
                1,
                "{format:?}"
            );
        }
    }
}
