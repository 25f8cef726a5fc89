//! RGB8/RGBA8 <-> I420 (planar YUV 4:2:0) conversion with the SIMD kernels of the `yuv`
//! crate, honouring a [`YuvEncoding`] (BT.709 or BT.601 matrix, limited or full range).
//!
//! The forward direction feeds the H.264 encoder; the inverse ([`i420_to_rgb8`]) is what a
//! decoder does, and serves the tests, the bench's PSNR and the native test client. Both
//! directions must use the same encoding, which is also the one the SPS VUI signals.

use rfb_protocol::color::MatrixCoefficients;
use rfb_protocol::YuvEncoding;
use yuv::{
    BufferStoreMut, YuvConversionMode, YuvError, YuvPlanarImage, YuvPlanarImageMut, YuvRange,
    YuvStandardMatrix,
};

use crate::error::EncodeError;
use crate::frame::{Frame, PixelFormat};

/// Name used in [`EncodeError`]s raised by the conversions.
const CONVERTER: &str = "rgb<->yuv";

/// The `yuv` crate's range for an encoding.
fn range(encoding: YuvEncoding) -> YuvRange {
    if encoding.full_range {
        YuvRange::Full
    } else {
        YuvRange::Limited
    }
}

/// The `yuv` crate's matrix for an encoding.
fn matrix(encoding: YuvEncoding) -> YuvStandardMatrix {
    match encoding.matrix {
        MatrixCoefficients::Bt709 => YuvStandardMatrix::Bt709,
        MatrixCoefficients::Bt601 => YuvStandardMatrix::Bt601,
    }
}

fn convert_error(err: YuvError) -> EncodeError {
    EncodeError::Encode {
        encoder: CONVERTER,
        message: err.to_string(),
    }
}

/// Chroma plane side for a luma side (4:2:0 rounds up, so odd sizes work too).
fn chroma_side(side: u32) -> u32 {
    side.div_ceil(2)
}

/// An I420 picture whose planes are reused from one conversion to the next, so a session
/// converting frame after frame of the same size allocates only once.
///
/// Planes are tightly packed: the luma stride is the width and the chroma stride is
/// `ceil(width / 2)`.
#[derive(Debug, Default, Clone)]
pub struct I420Buffer {
    width: u32,
    height: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl I420Buffer {
    /// An empty buffer; the first conversion sizes it.
    pub fn new() -> I420Buffer {
        I420Buffer::default()
    }

    /// Converts `frame` (RGB8 or RGBA8, alpha ignored) into this buffer with `encoding`,
    /// resizing the planes only when the frame size changed.
    pub fn convert_from(
        &mut self,
        frame: &Frame,
        encoding: YuvEncoding,
    ) -> Result<(), EncodeError> {
        let (width, height) = frame.size();
        self.resize(width, height);
        let cw = chroma_side(width);
        let mut planar = YuvPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(&mut self.y),
            y_stride: width,
            u_plane: BufferStoreMut::Borrowed(&mut self.u),
            u_stride: cw,
            v_plane: BufferStoreMut::Borrowed(&mut self.v),
            v_stride: cw,
            width,
            height,
        };
        let stride = width * frame.format().bytes_per_pixel() as u32;
        let mode = YuvConversionMode::Balanced;
        let (range, matrix) = (range(encoding), matrix(encoding));
        match frame.format() {
            PixelFormat::Rgb8 => {
                yuv::rgb_to_yuv420(&mut planar, frame.data(), stride, range, matrix, mode)
            }
            PixelFormat::Rgba8 => {
                yuv::rgba_to_yuv420(&mut planar, frame.data(), stride, range, matrix, mode)
            }
        }
        .map_err(convert_error)
    }

    fn resize(&mut self, width: u32, height: u32) {
        if (width, height) == (self.width, self.height) {
            return;
        }
        let chroma = chroma_side(width) as usize * chroma_side(height) as usize;
        self.y.resize(width as usize * height as usize, 0);
        self.u.resize(chroma, 0);
        self.v.resize(chroma, 0);
        self.width = width;
        self.height = height;
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The luma plane (stride = width).
    pub fn y(&self) -> &[u8] {
        &self.y
    }

    /// The Cb plane (stride = `ceil(width / 2)`).
    pub fn u(&self) -> &[u8] {
        &self.u
    }

    /// The Cr plane (stride = `ceil(width / 2)`).
    pub fn v(&self) -> &[u8] {
        &self.v
    }

    /// A borrowed view of the planes, e.g. for [`i420_to_rgb8`].
    pub fn planes(&self) -> I420Planes<'_> {
        let cw = chroma_side(self.width) as usize;
        I420Planes {
            width: self.width,
            height: self.height,
            y: &self.y,
            y_stride: self.width as usize,
            u: &self.u,
            u_stride: cw,
            v: &self.v,
            v_stride: cw,
        }
    }
}

/// Borrowed I420 planes with arbitrary strides, as a decoder hands them out.
#[derive(Debug, Clone, Copy)]
pub struct I420Planes<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Luma plane.
    pub y: &'a [u8],
    /// Bytes per luma row.
    pub y_stride: usize,
    /// Cb plane.
    pub u: &'a [u8],
    /// Bytes per Cb row.
    pub u_stride: usize,
    /// Cr plane.
    pub v: &'a [u8],
    /// Bytes per Cr row.
    pub v_stride: usize,
}

/// Converts I420 planes back to tightly packed RGB8 in `rgb` (resized to
/// `width * height * 3`), inverting exactly the transform `encoding` describes.
pub fn i420_to_rgb8(
    planes: I420Planes<'_>,
    encoding: YuvEncoding,
    rgb: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let stride = |s: usize| {
        u32::try_from(s).map_err(|_| EncodeError::Encode {
            encoder: CONVERTER,
            message: format!("plane stride {s} is too large"),
        })
    };
    let image = YuvPlanarImage {
        y_plane: planes.y,
        y_stride: stride(planes.y_stride)?,
        u_plane: planes.u,
        u_stride: stride(planes.u_stride)?,
        v_plane: planes.v,
        v_stride: stride(planes.v_stride)?,
        width: planes.width,
        height: planes.height,
    };
    rgb.resize(planes.width as usize * planes.height as usize * 3, 0);
    yuv::yuv420_to_rgb(
        &image,
        rgb,
        planes.width * 3,
        range(encoding),
        matrix(encoding),
    )
    .map_err(convert_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::BT709_LIMITED;

    const ENCODINGS: [YuvEncoding; 4] = [
        BT709_LIMITED,
        YuvEncoding {
            matrix: MatrixCoefficients::Bt709,
            full_range: true,
        },
        YuvEncoding {
            matrix: MatrixCoefficients::Bt601,
            full_range: false,
        },
        YuvEncoding {
            matrix: MatrixCoefficients::Bt601,
            full_range: true,
        },
    ];

    const COLOURS: [[u8; 3]; 8] = [
        [0, 255, 0],
        [220, 40, 40],
        [40, 200, 40],
        [40, 40, 220],
        [220, 200, 40],
        [0, 0, 0],
        [255, 255, 255],
        [128, 128, 128],
    ];

    fn flat(width: u32, height: u32, rgb: [u8; 3], alpha: Option<u8>) -> Frame {
        let px: Vec<u8> = match alpha {
            Some(a) => vec![rgb[0], rgb[1], rgb[2], a],
            None => rgb.to_vec(),
        };
        let data = px.repeat(width as usize * height as usize);
        match alpha {
            Some(_) => Frame::rgba(width, height, data),
            None => Frame::rgb(width, height, data),
        }
        .expect("valid test frame")
    }

    fn assert_close(got: &[u8], want: [u8; 3], tolerance: u8, context: &str) {
        for px in got.chunks_exact(3) {
            for c in 0..3 {
                assert!(
                    px[c].abs_diff(want[c]) <= tolerance,
                    "{context}: got {px:?}, want {want:?}"
                );
            }
        }
    }

    #[test]
    fn flat_colours_round_trip_within_2_for_every_encoding() {
        let mut buf = I420Buffer::new();
        let mut rgb = Vec::new();
        for encoding in ENCODINGS {
            for colour in COLOURS {
                for alpha in [None, Some(0), Some(255)] {
                    buf.convert_from(&flat(16, 8, colour, alpha), encoding)
                        .expect("convert");
                    i420_to_rgb8(buf.planes(), encoding, &mut rgb).expect("invert");
                    assert_close(&rgb, colour, 2, &format!("{encoding:?} alpha {alpha:?}"));
                }
            }
        }
    }

    #[test]
    fn luma_follows_the_range() {
        let mut buf = I420Buffer::new();
        buf.convert_from(&flat(4, 4, [0, 0, 0], None), BT709_LIMITED)
            .expect("convert");
        assert!(
            buf.y().iter().all(|&y| y == 16),
            "limited black is 16: {:?}",
            buf.y()
        );
        let full = YuvEncoding {
            full_range: true,
            ..BT709_LIMITED
        };
        buf.convert_from(&flat(4, 4, [255, 255, 255], None), full)
            .expect("convert");
        assert!(buf.y().iter().all(|&y| y == 255), "full white is 255");
        assert!(buf.u().iter().chain(buf.v()).all(|&c| c.abs_diff(128) <= 1));
    }

    #[test]
    fn luma_of_red_matches_each_standard() {
        // Y' = Kr * R: BT.709 Kr = 0.2126, BT.601 Kr = 0.299; limited range maps 0..255
        // to 16..235.
        let cases = [
            (MatrixCoefficients::Bt709, true, 54),
            (MatrixCoefficients::Bt601, true, 76),
            (MatrixCoefficients::Bt709, false, 63),
            (MatrixCoefficients::Bt601, false, 81),
        ];
        let mut buf = I420Buffer::new();
        for (matrix, full_range, want) in cases {
            let encoding = YuvEncoding { matrix, full_range };
            buf.convert_from(&flat(2, 2, [255, 0, 0], None), encoding)
                .expect("convert");
            let y = buf.y()[0];
            assert!(y.abs_diff(want) <= 1, "{encoding:?}: Y = {y}, want {want}");
        }
    }

    #[test]
    fn matrices_differ_on_saturated_colours() {
        let mut a = I420Buffer::new();
        let mut b = I420Buffer::new();
        let bt601 = YuvEncoding {
            matrix: MatrixCoefficients::Bt601,
            ..BT709_LIMITED
        };
        a.convert_from(&flat(2, 2, [0, 255, 0], None), BT709_LIMITED)
            .expect("convert");
        b.convert_from(&flat(2, 2, [0, 255, 0], None), bt601)
            .expect("convert");
        assert_ne!(
            a.y(),
            b.y(),
            "BT.709 and BT.601 must give different luma for green"
        );
    }

    #[test]
    fn buffers_resize_and_odd_sizes_convert() {
        let mut buf = I420Buffer::new();
        buf.convert_from(&flat(6, 4, [1, 2, 3], None), BT709_LIMITED)
            .expect("convert");
        assert_eq!((buf.y().len(), buf.u().len()), (24, 6));
        buf.convert_from(&flat(5, 3, [220, 40, 40], None), BT709_LIMITED)
            .expect("odd sizes convert");
        assert_eq!(
            (buf.width(), buf.height(), buf.y().len(), buf.u().len()),
            (5, 3, 15, 6)
        );
        let mut rgb = Vec::new();
        i420_to_rgb8(buf.planes(), BT709_LIMITED, &mut rgb).expect("invert");
        assert_close(&rgb, [220, 40, 40], 2, "odd size");
    }

    #[test]
    fn short_planes_are_an_error_not_a_panic() {
        let planes = I420Planes {
            width: 8,
            height: 8,
            y: &[0; 10],
            y_stride: 8,
            u: &[0; 16],
            u_stride: 4,
            v: &[0; 16],
            v_stride: 4,
        };
        assert!(i420_to_rgb8(planes, BT709_LIMITED, &mut Vec::new()).is_err());
    }
}
