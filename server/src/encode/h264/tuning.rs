//! [`H264Tuning`]: openh264's usage type, complexity and slices per picture, and the preset
//! for each [`Content`] ([`H264Tuning::for_content`]). The measurements behind the presets
//! are in the docs of `config()` in [`super`].

use std::fmt;
use std::str::FromStr;

use crate::encode::Content;

/// openh264's usage type (`iUsageType`): which tools and rate-control model it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Usage {
    /// `CAMERA_VIDEO_REAL_TIME`: natural video.
    Camera,
    /// `SCREEN_CONTENT_REAL_TIME`: screen content (its own motion search and skip
    /// decisions for text and static areas).
    Screen,
}

/// openh264's complexity mode (`iComplexityMode`): encoder effort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effort {
    /// `LOW_COMPLEXITY`: the fastest.
    Low,
    /// `MEDIUM_COMPLEXITY`.
    Medium,
    /// `HIGH_COMPLEXITY`: the slowest.
    High,
}

/// How openh264 encodes: usage type, complexity and slices per picture. Written
/// `usage/effort/slices` (`camera/low/1`) on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct H264Tuning {
    /// The usage type.
    pub usage: Usage,
    /// The complexity mode.
    pub effort: Effort,
    /// Slices per picture (1..=[`super::raw::MAX_SLICES`]); openh264 encodes the slices of
    /// a picture in parallel when it has threads for them (`EncoderSpec::threads`).
    pub slices: u16,
}

impl H264Tuning {
    /// The preset for a kind of content (see `config()` in [`super`] for the measurements):
    ///
    /// | content    | tuning          |
    /// |------------|-----------------|
    /// | `rendered` | `camera/low/1`  |
    /// | `screen`   | `screen/low/1`  |
    /// | `camera`   | `camera/low/1`  |
    pub fn for_content(content: Content) -> H264Tuning {
        let (usage, effort) = match content {
            Content::Rendered => (Usage::Camera, Effort::Low),
            Content::Screen => (Usage::Screen, Effort::Low),
            Content::Camera => (Usage::Camera, Effort::Low),
        };
        H264Tuning {
            usage,
            effort,
            slices: 1,
        }
    }
}

impl fmt::Display for H264Tuning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let usage = match self.usage {
            Usage::Camera => "camera",
            Usage::Screen => "screen",
        };
        let effort = match self.effort {
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
        };
        write!(f, "{usage}/{effort}/{}", self.slices)
    }
}

impl FromStr for H264Tuning {
    type Err = String;

    /// Parses `usage/effort/slices`, e.g. `screen/medium/2`.
    fn from_str(text: &str) -> Result<H264Tuning, String> {
        let bad = || {
            format!(
                "expected USAGE/EFFORT/SLICES such as camera/low/1 (usage camera or screen, \
                 effort low, medium or high, slices 1..={}), got {text:?}",
                super::raw::MAX_SLICES
            )
        };
        let mut parts = text.trim().split('/');
        let (Some(usage), Some(effort), Some(slices), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let usage = match usage {
            "camera" => Usage::Camera,
            "screen" => Usage::Screen,
            _ => return Err(bad()),
        };
        let effort = match effort {
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" => Effort::High,
            _ => return Err(bad()),
        };
        let slices: u16 = slices.parse().map_err(|_| bad())?;
        if !(1..=super::raw::MAX_SLICES).contains(&slices) {
            return Err(bad());
        }
        Ok(H264Tuning {
            usage,
            effort,
            slices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_content_gets_the_documented_preset() {
        let preset = |c| H264Tuning::for_content(c).to_string();
        assert_eq!(preset(Content::Rendered), "camera/low/1");
        assert_eq!(preset(Content::Screen), "screen/low/1");
        assert_eq!(preset(Content::Camera), "camera/low/1");
        assert_eq!(Content::default(), Content::Rendered, "the measured winner");
    }

    #[test]
    fn tunings_parse_and_print_the_same() {
        for text in ["camera/low/1", "screen/medium/2", "camera/high/4"] {
            let tuning: H264Tuning = text.parse().expect(text);
            assert_eq!(tuning.to_string(), text);
        }
        for bad in [
            "",
            "camera",
            "camera/low",
            "camera/low/0",
            "camera/low/33",
            "camera/low/1/2",
            "webcam/low/1",
            "camera/max/1",
        ] {
            assert!(bad.parse::<H264Tuning>().is_err(), "{bad:?}");
        }
    }
}
