//! Colour descriptors: which space a publisher's pixels are in (a tag, never a conversion)
//! and how the video path maps YUV samples back to RGB. Codes follow ITU-T H.273, the same
//! numbers the H.264 VUI carries.

use serde::{Deserialize, Serialize};

/// Colour primaries (H.273 `colour_primaries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColorPrimaries {
    /// BT.709 / sRGB primaries (code 1).
    Bt709,
    /// Display P3: SMPTE EG 432-1, D65 white (code 12).
    DisplayP3,
}

impl ColorPrimaries {
    /// The H.273 code point.
    pub fn h273_code(self) -> u8 {
        match self {
            ColorPrimaries::Bt709 => 1,
            ColorPrimaries::DisplayP3 => 12,
        }
    }

    /// The WebCodecs `VideoColorPrimaries` string.
    pub fn webcodecs_name(self) -> &'static str {
        match self {
            ColorPrimaries::Bt709 => "bt709",
            ColorPrimaries::DisplayP3 => "smpte432",
        }
    }
}

/// Transfer characteristics (H.273 `transfer_characteristics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransferCharacteristics {
    /// The sRGB curve, IEC 61966-2-1 (code 13); Display P3 uses it too.
    Srgb,
}

impl TransferCharacteristics {
    /// The H.273 code point.
    pub fn h273_code(self) -> u8 {
        match self {
            TransferCharacteristics::Srgb => 13,
        }
    }

    /// The WebCodecs `VideoTransferCharacteristics` string.
    pub fn webcodecs_name(self) -> &'static str {
        match self {
            TransferCharacteristics::Srgb => "iec61966-2-1",
        }
    }
}

/// The colour space a frame's RGB pixels are in. The library carries it to the viewer,
/// which draws on a matching canvas; it never converts pixels between spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ColorSpace {
    /// Primaries of the RGB values.
    pub primaries: ColorPrimaries,
    /// Transfer curve of the RGB values.
    pub transfer: TransferCharacteristics,
}

/// sRGB: the default.
pub const SRGB: ColorSpace = ColorSpace {
    primaries: ColorPrimaries::Bt709,
    transfer: TransferCharacteristics::Srgb,
};

/// Display P3 (Apple wide-gamut SDR): P3 primaries, sRGB transfer.
pub const DISPLAY_P3: ColorSpace = ColorSpace {
    primaries: ColorPrimaries::DisplayP3,
    transfer: TransferCharacteristics::Srgb,
};

impl Default for ColorSpace {
    fn default() -> Self {
        SRGB
    }
}

impl ColorSpace {
    /// The canvas `colorSpace` that shows these pixels unconverted (`srgb` or `display-p3`).
    pub fn canvas_color_space(self) -> &'static str {
        match self.primaries {
            ColorPrimaries::Bt709 => "srgb",
            ColorPrimaries::DisplayP3 => "display-p3",
        }
    }
}

/// YUV matrix coefficients (H.273 `matrix_coefficients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatrixCoefficients {
    /// BT.709 (code 1).
    Bt709,
    /// BT.601 / SMPTE 170M (code 6).
    Bt601,
}

impl MatrixCoefficients {
    /// The H.273 code point.
    pub fn h273_code(self) -> u8 {
        match self {
            MatrixCoefficients::Bt709 => 1,
            MatrixCoefficients::Bt601 => 6,
        }
    }

    /// The WebCodecs `VideoMatrixCoefficients` string.
    pub fn webcodecs_name(self) -> &'static str {
        match self {
            MatrixCoefficients::Bt709 => "bt709",
            MatrixCoefficients::Bt601 => "smpte170m",
        }
    }
}

/// How the video path turned RGB into YUV: the same values the H.264 VUI signals, so a
/// decoder inverts exactly the transform the encoder applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct YuvEncoding {
    /// RGB <-> YUV matrix.
    pub matrix: MatrixCoefficients,
    /// True for full range (0..255), false for limited/video range (16..235 luma).
    pub full_range: bool,
}

/// BT.709 matrix, limited range.
pub const BT709_LIMITED: YuvEncoding = YuvEncoding {
    matrix: MatrixCoefficients::Bt709,
    full_range: false,
};

/// BT.601 matrix, limited range: what the server's H.264 path uses by default.
///
/// Measured in headless Chromium 156 without a GPU: its software YUV -> RGB path converts
/// BT.709-tagged 4:2:0 with a blue coefficient near BT.601's (about 2.0 instead of 2.112),
/// so flat BT.709 colours came back with blue up to 10 off, while BT.601-tagged streams
/// decode within 1 everywhere (GPU paths honour either). BT.601 is therefore the encoding
/// that reproduces colours on every decoder we target.
pub const BT601_LIMITED: YuvEncoding = YuvEncoding {
    matrix: MatrixCoefficients::Bt601,
    full_range: false,
};
