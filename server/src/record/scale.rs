//! Frame sizes for recording: the file's size, and [`Scaler`], which fits frames of any
//! other size into it.
//!
//! An MP4 track keeps one picture size here (players handle mid-stream size changes
//! unevenly), so when the publisher changes size mid-recording every later frame is scaled
//! to the recording's size, keeping its aspect ratio, centred, with black bars
//! ("letterbox"). The recording's size is the first recorded frame's, rounded down to even
//! sides and shrunk to fit 3840x2160 (what openh264 and 4:2:0 need); frames of exactly that
//! size are passed through untouched.
//!
//! Scaling uses `fast_image_resize` (SIMD convolution, bilinear here): a recorder keeps
//! scaling every frame for as long as the publisher stays at the other size, so it has to
//! be cheap. The `image` crate's `imageops::resize`, already a dependency, is scalar and
//! an order of magnitude slower at 720p, which would make the recorder skip frames.

use fast_image_resize::images::{CroppedImageMut, Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::RecordError;
use crate::frame::Frame;

/// Largest long side openh264 encodes.
const MAX_LONG: u32 = 3840;
/// Largest short side openh264 encodes.
const MAX_SHORT: u32 = 2160;

fn scale_error(err: impl std::fmt::Display) -> RecordError {
    RecordError::Scale(err.to_string())
}

/// The size a recording that starts with a `width` x `height` frame is encoded at: even
/// sides, within 3840x2160 either way. `None` when a side would be zero.
pub fn record_size(width: u32, height: u32) -> Option<(u32, u32)> {
    let (long, short) = (width.max(height), width.min(height));
    let factor = (f64::from(MAX_LONG) / f64::from(long.max(1)))
        .min(f64::from(MAX_SHORT) / f64::from(short.max(1)))
        .min(1.0);
    let fit = |side: u32| ((f64::from(side) * factor) as u32) & !1;
    let size = (fit(width), fit(height));
    (size.0 > 0 && size.1 > 0).then_some(size)
}

/// Where a `src` picture goes inside `dst` when scaled to fit with its aspect ratio kept:
/// `(left, top, width, height)`, each side at least 1.
pub fn letterbox(src: (u32, u32), dst: (u32, u32)) -> (u32, u32, u32, u32) {
    let (sw, sh) = (u64::from(src.0.max(1)), u64::from(src.1.max(1)));
    let (dw, dh) = (u64::from(dst.0), u64::from(dst.1));
    // Compare sw/sh with dw/dh without floats: full width or full height.
    let (w, h) = if sw * dh >= sh * dw {
        (dw, (sh * dw / sw).clamp(1, dh))
    } else {
        ((sw * dh / sh).clamp(1, dw), dh)
    };
    let (w, h) = (w as u32, h as u32);
    ((dst.0 - w) / 2, (dst.1 - h) / 2, w, h)
}

/// Fits frames into one size; see the module docs.
pub struct Scaler {
    size: (u32, u32),
    resizer: Resizer,
}

impl std::fmt::Debug for Scaler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scaler").field("size", &self.size).finish()
    }
}

impl Scaler {
    /// A scaler to `size` (from [`record_size`]).
    pub fn new(size: (u32, u32)) -> Scaler {
        Scaler {
            size,
            resizer: Resizer::new(),
        }
    }

    /// The target size.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// `None` when `frame` already has the target size; otherwise the frame letterboxed
    /// into it as RGB8.
    pub fn fit(&mut self, frame: &Frame) -> Result<Option<Frame>, RecordError> {
        if frame.size() == self.size {
            return Ok(None);
        }
        let rgb = frame.to_rgb8();
        let (sw, sh) = frame.size();
        let src = ImageRef::new(sw, sh, &rgb, PixelType::U8x3).map_err(scale_error)?;
        let (w, h) = self.size;
        let mut dst = Image::new(w, h, PixelType::U8x3);
        let (left, top, fw, fh) = letterbox((sw, sh), self.size);
        let mut area = CroppedImageMut::new(&mut dst, left, top, fw, fh).map_err(scale_error)?;
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        self.resizer
            .resize(&src, &mut area, &options)
            .map_err(scale_error)?;
        Frame::rgb(w, h, dst.into_vec())
            .map(Some)
            .map_err(scale_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::{expected_quadrant_color, test_card};

    #[test]
    fn record_sizes_are_even_and_within_4k() {
        assert_eq!(record_size(1280, 720), Some((1280, 720)));
        assert_eq!(record_size(641, 479), Some((640, 478)));
        assert_eq!(record_size(7680, 4320), Some((3840, 2160)));
        assert_eq!(
            record_size(2160, 3840),
            Some((2160, 3840)),
            "portrait 4K fits"
        );
        assert_eq!(record_size(4000, 100), Some((3840, 96)));
        assert_eq!(record_size(1, 480), None);
        assert_eq!(record_size(0, 0), None);
    }

    #[test]
    fn letterbox_keeps_the_aspect_ratio_centred() {
        assert_eq!(letterbox((640, 480), (640, 480)), (0, 0, 640, 480));
        assert_eq!(
            letterbox((320, 240), (640, 480)),
            (0, 0, 640, 480),
            "same ratio"
        );
        assert_eq!(
            letterbox((480, 480), (640, 480)),
            (80, 0, 480, 480),
            "pillarbox"
        );
        assert_eq!(
            letterbox((1280, 480), (640, 480)),
            (0, 120, 640, 240),
            "letterbox"
        );
        assert_eq!(
            letterbox((10_000, 1), (64, 64)),
            (0, 31, 64, 1),
            "at least 1 px"
        );
    }

    #[test]
    fn fitting_keeps_quadrant_colours_and_blacks_the_bars() {
        let mut scaler = Scaler::new((640, 480));
        let same = Frame::rgb(640, 480, test_card(0, 640, 480)).expect("frame");
        assert!(
            scaler.fit(&same).expect("fit").is_none(),
            "no copy at the size"
        );

        let square = Frame::rgb(240, 240, test_card(3, 240, 240)).expect("frame");
        let fitted = scaler.fit(&square).expect("fit").expect("scaled");
        assert_eq!(fitted.size(), (640, 480));
        let px = |x: u32, y: u32| {
            let i = (y as usize * 640 + x as usize) * 3;
            [fitted.data()[i], fitted.data()[i + 1], fitted.data()[i + 2]]
        };
        assert_eq!(px(10, 240), [0, 0, 0], "left bar");
        assert_eq!(px(630, 240), [0, 0, 0], "right bar");
        // The picture spans x 80..560: quadrant centres at x 200 / 440, y 120 / 360.
        for (q, (x, y)) in [(200, 120), (440, 120), (200, 360), (440, 360)]
            .into_iter()
            .enumerate()
        {
            assert_eq!(
                px(x, y),
                expected_quadrant_color(3, q as u8),
                "quadrant {q}"
            );
        }
    }

    #[test]
    fn rgba_frames_are_scaled_too() {
        let rgba: Vec<u8> = test_card(1, 64, 32)
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let frame = Frame::rgba(64, 32, rgba).expect("frame");
        let fitted = Scaler::new((128, 64))
            .fit(&frame)
            .expect("fit")
            .expect("scaled");
        assert_eq!(fitted.size(), (128, 64));
        assert_eq!(&fitted.data()[..3], &expected_quadrant_color(1, 0));
    }
}
