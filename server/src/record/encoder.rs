//! [`RecordEncoder`]: openh264 set up for files rather than for live viewers.
//!
//! The sessions' [`crate::encode::h264::OpenH264Encoder`] only does bitrate control; a
//! recording may ask for constant quality instead, so this wraps openh264 directly with
//! the same speed settings (camera usage, low complexity, one slice, no scene-change
//! detection, no frame skipping: see `encode/h264.rs` for the measurements behind them)
//! and the rate control of [`RateControl`]. It encodes at one fixed size (the worker
//! scales frames to it first), so its SPS never changes.
//!
//! Colour: RGB -> I420 with [`RECORD_YUV`] (BT.601, limited range), signalled in the SPS
//! VUI. Decoders that read the VUI get it right whatever it says (Debian 12's ffmpeg 5.1
//! converts test cards back within 3 per channel with BT.601 and BT.709 alike); BT.601
//! limited is also what ffmpeg's `swscale` assumes for a stream that says nothing, so it is
//! the choice that is right in the most players. The VUI also carries the frames' colour
//! space (sRGB transfer; BT.709 or Display P3 primaries), written the way the live encoder
//! writes it (`encode/h264.rs`: [`vui`], [`signal_primaries`]).

use openh264::encoder::{
    BitRate, Complexity, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, QpRange,
    RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::Timestamp;
use rfb_protocol::color::MatrixCoefficients;
use rfb_protocol::{ColorSpace, YuvEncoding};

use super::{RateControl, RecordError, RecordOptions};
use crate::encode::h264::{signal_primaries, vui, I420Source};
use crate::encode::yuv::I420Buffer;
use crate::error::EncodeError;
use crate::frame::Frame;

/// The RGB -> YUV conversion recordings use and signal (see the module docs).
pub const RECORD_YUV: YuvEncoding = YuvEncoding {
    matrix: MatrixCoefficients::Bt601,
    full_range: false,
};

const NAME: &str = "openh264 (record)";

/// H.264 Table A-1 for constrained baseline: (MaxMBPS, MaxFS, MaxBR in bit/s) per level.
const LEVELS: [(u64, u64, u32); 16] = [
    (1_485, 99, 64_000),
    (3_000, 396, 192_000),
    (6_000, 396, 384_000),
    (11_880, 396, 768_000),
    (11_880, 396, 2_000_000),
    (19_800, 792, 4_000_000),
    (20_250, 1_620, 4_000_000),
    (40_500, 1_620, 10_000_000),
    (108_000, 3_600, 14_000_000),
    (216_000, 5_120, 20_000_000),
    (245_760, 8_192, 20_000_000),
    (245_760, 8_192, 50_000_000),
    (522_240, 8_704, 50_000_000),
    (589_824, 22_080, 135_000_000),
    (983_040, 36_864, 240_000_000),
    (2_073_600, 36_864, 240_000_000),
];

/// Index in [`LEVELS`] of level 3.0, which every H.264 decoder of the last 15 years takes.
const LEVEL_3_0: usize = 7;

/// The bitrate openh264's quality mode is given: the maximum of the smallest level, from
/// 3.0 up, that holds `width` x `height` at `fps`. openh264 picks the level from the
/// bitrate, so this keeps the SPS level what the picture needs (a 720p clip is not tagged
/// level 5.1, which small hardware decoders refuse) with room for quality below 3.0's
/// sizes; the QP range decides below that ceiling.
fn quality_ceiling_bps(width: u32, height: u32, fps: f32) -> u32 {
    let mbs = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
    let mbps = (mbs as f64 * f64::from(fps)).ceil() as u64;
    LEVELS[LEVEL_3_0..]
        .iter()
        .find(|(max_mbps, max_fs, _)| mbs <= *max_fs && mbps <= *max_mbps)
        .map_or(240_000_000, |level| level.2)
}

/// The lowest QP openh264 is allowed. Below it, noise-like content overflows openh264's
/// per-frame output buffer (a macroblock past the 3200 bits of H.264 Annex A), after which
/// openh264 tears the encoder down. Measured on uniform RGB noise, the worst case: QP 19
/// fails, QP 20 takes 1.0 byte per pixel, at 320x240 and 1280x720 alike.
pub const MIN_QP: u8 = 20;

fn encode_error(message: impl ToString) -> RecordError {
    RecordError::Encode(EncodeError::Encode {
        encoder: NAME,
        message: message.to_string(),
    })
}

/// The openh264 configuration for validated options, the picture size and colour.
fn config(width: u32, height: u32, options: &RecordOptions, color: ColorSpace) -> EncoderConfig {
    let base = EncoderConfig::new()
        .usage_type(UsageType::CameraVideoRealTime)
        .complexity(Complexity::Low)
        .max_frame_rate(FrameRate::from_hz(options.fps))
        .skip_frames(false)
        .sps_pps_strategy(SpsPpsStrategy::ConstantId)
        .intra_frame_period(IntraFramePeriod::auto())
        .scene_change_detect(false)
        .adaptive_quantization(false)
        .background_detection(false)
        .num_threads(1)
        .vui(vui(RECORD_YUV, color));
    match options.rate_control {
        RateControl::Bitrate(bps) => base
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(bps))
            .qp(QpRange::new(MIN_QP, 51)),
        // Quality mode within the range (validated: MIN_QP <= min <= max <= 51), under the
        // level's bitrate ceiling (see `quality_ceiling_bps`).
        RateControl::Quality { min_qp, max_qp } => base
            .rate_control_mode(RateControlMode::Quality)
            .bitrate(BitRate::from_bps(quality_ceiling_bps(
                width,
                height,
                options.fps,
            )))
            .qp(QpRange::new(min_qp, max_qp)),
    }
}

/// One encoded frame.
#[derive(Debug)]
pub struct Encoded<'a> {
    /// The Annex B access unit (SPS and PPS in band on IDRs).
    pub data: &'a [u8],
    /// True for an IDR.
    pub keyframe: bool,
}

/// openh264 at a fixed size and colour with the recording's rate control and IDR cadence.
pub struct RecordEncoder {
    encoder: openh264::encoder::Encoder,
    size: (u32, u32),
    color: ColorSpace,
    yuv: I420Buffer,
    keyframe_interval: u32,
    /// Frames since the last IDR; `None` before the first frame.
    since_idr: Option<u32>,
    out: Vec<u8>,
}

impl std::fmt::Debug for RecordEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordEncoder")
            .field("size", &self.size)
            .field("color", &self.color)
            .field("keyframe_interval", &self.keyframe_interval)
            .finish_non_exhaustive()
    }
}

impl RecordEncoder {
    /// An encoder for `width` x `height` frames (even, at most 3840x2160) in `color`, and
    /// options already checked by [`RecordOptions::validate`].
    pub fn new(
        width: u32,
        height: u32,
        options: &RecordOptions,
        color: ColorSpace,
    ) -> Result<RecordEncoder, RecordError> {
        let configure_error = |message: String| {
            RecordError::Encode(EncodeError::Configure {
                encoder: NAME,
                message,
            })
        };
        let api = crate::encode::library::openh264_api().map_err(configure_error)?;
        let encoder =
            openh264::encoder::Encoder::with_api_config(api, config(width, height, options, color))
                .map_err(|e| configure_error(e.to_string()))?;
        Ok(RecordEncoder {
            encoder,
            size: (width, height),
            color,
            yuv: I420Buffer::new(),
            keyframe_interval: options.keyframe_interval,
            since_idr: None,
            out: Vec::new(),
        })
    }

    /// The colour space the SPS signals.
    pub fn color(&self) -> ColorSpace {
        self.color
    }

    /// Encodes a frame of the encoder's size published at `timestamp_us`. `None` when
    /// openh264 produced nothing (not expected with frame skipping off).
    pub fn encode(
        &mut self,
        frame: &Frame,
        timestamp_us: u64,
    ) -> Result<Option<Encoded<'_>>, RecordError> {
        if frame.size() != self.size {
            return Err(encode_error(format!(
                "frame is {:?}, the encoder {:?}",
                frame.size(),
                self.size
            )));
        }
        self.yuv
            .convert_from(frame, RECORD_YUV)
            .map_err(RecordError::Encode)?;
        let interval = self.keyframe_interval;
        if self
            .since_idr
            .is_some_and(|n| interval > 0 && n >= interval)
        {
            self.encoder.force_intra_frame();
        }
        let stream = self
            .encoder
            .encode_at(
                &I420Source(&self.yuv),
                Timestamp::from_millis(timestamp_us / 1000),
            )
            .map_err(encode_error)?;
        let frame_type = stream.frame_type();
        self.out.clear();
        stream.write_vec(&mut self.out);
        if frame_type == FrameType::Skip || self.out.is_empty() {
            self.since_idr = self.since_idr.map(|n| n.saturating_add(1));
            return Ok(None);
        }
        let keyframe = frame_type == FrameType::IDR;
        if keyframe {
            signal_primaries(&mut self.out, self.color).map_err(encode_error)?;
        }
        self.since_idr = Some(if keyframe {
            1
        } else {
            self.since_idr.unwrap_or(0).saturating_add(1)
        });
        Ok(Some(Encoded {
            data: &self.out,
            keyframe,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::sps;
    use rfb_protocol::{test_card, DISPLAY_P3, SRGB};

    fn options(rate_control: RateControl, keyframe_interval: u32) -> RecordOptions {
        RecordOptions {
            rate_control,
            keyframe_interval,
            ..RecordOptions::default()
        }
    }

    fn card(seq: u64) -> Frame {
        Frame::rgb(320, 240, test_card(seq, 320, 240)).expect("frame")
    }

    fn sizes_and_keyframes(options: &RecordOptions, frames: u64) -> (usize, Vec<u64>) {
        let mut encoder = RecordEncoder::new(320, 240, options, SRGB).expect("encoder");
        let (mut bytes, mut keyframes) = (0, Vec::new());
        for seq in 0..frames {
            let au = encoder
                .encode(&card(seq), seq * 33_333)
                .expect("encode")
                .expect("one access unit per frame");
            assert_eq!(au.keyframe, sps::is_idr(au.data), "flag matches at {seq}");
            if au.keyframe {
                assert!(sps::has_sps_pps_idr(au.data), "IDR {seq} has SPS+PPS");
                keyframes.push(seq);
            }
            bytes += au.data.len();
        }
        (bytes, keyframes)
    }

    fn pinned(qp: u8) -> RateControl {
        RateControl::Quality {
            min_qp: qp,
            max_qp: qp,
        }
    }

    #[test]
    fn keyframes_follow_the_interval() {
        let (_, keyframes) = sizes_and_keyframes(&options(pinned(26), 10), 25);
        assert_eq!(keyframes, vec![0, 10, 20]);
        let (_, keyframes) = sizes_and_keyframes(&options(pinned(26), 0), 25);
        assert_eq!(keyframes, vec![0], "0 = only the first frame");
    }

    #[test]
    fn a_lower_qp_spends_more_bytes_and_bitrate_mode_works() {
        let (fine, _) = sizes_and_keyframes(&options(pinned(18), 30), 10);
        let (coarse, _) = sizes_and_keyframes(&options(pinned(40), 30), 10);
        assert!(fine > coarse, "qp 18: {fine} bytes, qp 40: {coarse} bytes");
        let (bytes, _) = sizes_and_keyframes(&options(RateControl::Bitrate(500_000), 30), 10);
        assert!(bytes > 0);
    }

    fn noise(seed: u64) -> Frame {
        let mut x = 0x2545_f491_4f6c_dd1d_u64 ^ seed;
        let pixels: Vec<u8> = (0..320 * 240 * 3)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        Frame::rgb(320, 240, pixels).expect("frame")
    }

    #[test]
    fn noise_encodes_at_the_lowest_allowed_qp_and_at_a_huge_bitrate() {
        for rate_control in [pinned(MIN_QP), RateControl::Bitrate(200_000_000)] {
            let mut encoder =
                RecordEncoder::new(320, 240, &options(rate_control, 30), SRGB).expect("encoder");
            for seq in 0..3 {
                let au = encoder.encode(&noise(seq), seq * 33_333).expect("encode");
                assert!(au.is_some(), "{rate_control:?} frame {seq}");
            }
        }
    }

    #[test]
    fn quality_mode_signals_the_level_the_picture_needs() {
        assert_eq!(
            quality_ceiling_bps(320, 240, 30.0),
            10_000_000,
            "level 3.0 at least"
        );
        assert_eq!(
            quality_ceiling_bps(1280, 720, 30.0),
            14_000_000,
            "level 3.1"
        );
        assert_eq!(
            quality_ceiling_bps(1280, 720, 60.0),
            20_000_000,
            "level 3.2"
        );
        assert_eq!(
            quality_ceiling_bps(1920, 1080, 30.0),
            20_000_000,
            "level 4.0"
        );
        assert_eq!(
            quality_ceiling_bps(3840, 2160, 60.0),
            240_000_000,
            "level 5.2"
        );
        assert_eq!(
            quality_ceiling_bps(3840, 2160, 1000.0),
            240_000_000,
            "beyond: 5.2"
        );
        let mut encoder =
            RecordEncoder::new(1280, 720, &RecordOptions::default(), SRGB).expect("encoder");
        let card = Frame::rgb(1280, 720, test_card(0, 1280, 720)).expect("frame");
        let au = encoder.encode(&card, 0).expect("encode").expect("au");
        let info = sps::parse_sps(sps::find_sps(au.data).expect("sps")).expect("parse");
        assert_eq!(info.level_idc, 31);
    }

    #[test]
    fn the_sps_signals_bt601_limited() {
        let mut encoder =
            RecordEncoder::new(320, 240, &RecordOptions::default(), SRGB).expect("encoder");
        let au = encoder.encode(&card(0), 0).expect("encode").expect("au");
        let info = sps::parse_sps(sps::find_sps(au.data).expect("sps")).expect("parse");
        assert_eq!((info.width, info.height), (320, 240));
        let signal = info.video_signal.expect("VUI");
        assert!(!signal.full_range);
        assert_eq!(signal.colour, Some((1, 13, 6)));
    }

    #[test]
    fn a_p3_recording_signals_smpte_eg_432_primaries() {
        let mut encoder =
            RecordEncoder::new(320, 240, &options(pinned(26), 2), DISPLAY_P3).expect("encoder");
        assert_eq!(encoder.color(), DISPLAY_P3);
        let mut decoder = openh264::decoder::Decoder::new().expect("decoder");
        for seq in 0..3 {
            let au = encoder
                .encode(&card(seq), seq * 33_333)
                .expect("encode")
                .expect("au");
            if au.keyframe {
                let info = sps::parse_sps(sps::find_sps(au.data).expect("sps")).expect("parse");
                let signal = info.video_signal.expect("VUI");
                assert_eq!(
                    (signal.full_range, signal.colour),
                    (false, Some((12, 13, 6)))
                );
            }
            assert!(decoder.decode(au.data).expect("decode").is_some());
        }
    }

    #[test]
    fn a_frame_of_another_size_is_an_error() {
        let mut encoder =
            RecordEncoder::new(320, 240, &RecordOptions::default(), SRGB).expect("encoder");
        let other = Frame::rgb(64, 64, test_card(0, 64, 64)).expect("frame");
        assert!(matches!(
            encoder.encode(&other, 0),
            Err(RecordError::Encode(_))
        ));
    }
}
