//! [`OpenH264Encoder`]: RGB frames to low-latency H.264 (Annex B, baseline, no B-frames)
//! with Cisco's openh264, built from source by the `openh264` crate.
//!
//! Every [`Encoder::encode`] call converts the frame to I420 with the spec's matrix and
//! range ([`super::yuv`]), encodes it and returns exactly one access unit: frame skipping
//! is off, so the bitrate target is met by quantisation alone. IDR access units carry their
//! SPS and PPS in band, which openh264 does on every IDR, so any keyframe starts a stream.
//!
//! Keyframes are scheduled here rather than by openh264: one every
//! `spec.keyframe_interval` frames counted from the previous IDR (forced or periodic), and
//! scene-change detection is off, so IDRs happen exactly when the session expects them.
//!
//! A frame of another size than the encoder's rebuilds the openh264 encoder, so the next
//! access unit is an IDR with a new SPS (sessions rebuild encoders on resize anyway; this
//! keeps a direct caller correct too). Odd sides and sizes above 3840x2160 are errors.
//!
//! Colour: the SPS VUI signals the spec's YUV matrix and range (what the RGB -> I420
//! conversion did) and the spec's colour space: the sRGB transfer curve and the primaries,
//! BT.709 (1) or Display P3 (SMPTE EG 432-1, 12). Browsers take the primaries from the
//! bitstream, not from the decoder config, so they must be in the SPS; openh264 cannot
//! write 12, so `signal_primaries` rewrites the field in the SPS it emitted
//! ([`sps::set_colour_primaries`]). The recorder (`record/encoder.rs`) shares `vui`,
//! `signal_primaries` and `I420Source`.
//!
//! Tuning: openh264's usage type, complexity and slices per picture follow the spec's
//! [`Content`](super::Content) ([`tuning`]; the measurements are in `config()`'s docs).
//! Temporal layers: with `spec.temporal_layers = 2`, every other access unit is on layer 1
//! and referenced by nothing (`h264/raw.rs`), and [`EncodedPayload::layer`] says which layer
//! each access unit is on. Both the slice count and the temporal layers are set through
//! openh264's raw API after priming a fresh encoder with one flat picture (the crate
//! hard-codes one slice and one layer).

mod raw;
pub mod tuning;

use bytes::Bytes;
use openh264::encoder::{
    BitRate, Complexity, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
    SpsPpsStrategy, UsageType, VuiConfig,
};
use openh264::formats::YUVSource;
use openh264::Timestamp;
pub use raw::{MAX_SLICES, MAX_TEMPORAL_LAYERS};
use rfb_protocol::color::{MatrixCoefficients, TransferCharacteristics};
use rfb_protocol::{ColorSpace, Transport, VideoCodec, YuvEncoding};
use tuning::{Effort, Usage};

use super::sps;
use super::yuv::I420Buffer;
use super::{EncodedPayload, Encoder, EncoderSpec};
use crate::error::EncodeError;
use crate::frame::Frame;

/// Name used in errors.
const NAME: &str = "openh264";

/// Largest side openh264 accepts (level 5.2).
const MAX_LONG_SIDE: u32 = 3840;
/// Largest short side openh264 accepts.
const MAX_SHORT_SIDE: u32 = 2160;

fn configure_error(message: impl ToString) -> EncodeError {
    EncodeError::Configure {
        encoder: NAME,
        message: message.to_string(),
    }
}

fn encode_error(message: impl ToString) -> EncodeError {
    EncodeError::Encode {
        encoder: NAME,
        message: message.to_string(),
    }
}

/// Checks that openh264 can take a frame of this size (even sides, at most 4K).
fn check_size(width: u32, height: u32) -> Result<(), EncodeError> {
    if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
        return Err(encode_error(format!(
            "H.264 needs even, non-zero sides, got {width}x{height}"
        )));
    }
    if width.min(height) < crate::sizing::H264_MIN_SIDE {
        return Err(encode_error(format!(
            "{width}x{height} is below openh264's smallest picture, {0}x{0}",
            crate::sizing::H264_MIN_SIDE
        )));
    }
    if width.max(height) > MAX_LONG_SIDE || width.min(height) > MAX_SHORT_SIDE {
        return Err(encode_error(format!(
            "{width}x{height} exceeds openh264's limit of 3840x2160"
        )));
    }
    Ok(())
}

/// The VUI that tells the decoder exactly what [`I420Buffer::convert_from`] did (`yuv`'s
/// matrix and range) and what the RGB values were (`color`'s transfer curve). The
/// primaries are written as BT.709 here, openh264's enum having no Display P3:
/// [`signal_primaries`] sets the real ones in the emitted SPS.
pub(crate) fn vui(yuv: YuvEncoding, color: ColorSpace) -> VuiConfig {
    use openh264::encoder::{
        ColorPrimaries as Cp, MatrixCoefficients as Mc, TransferCharacteristics as Tc,
    };
    let matrix = match yuv.matrix {
        MatrixCoefficients::Bt709 => Mc::Bt709,
        MatrixCoefficients::Bt601 => Mc::Smpte170M,
    };
    let transfer = match color.transfer {
        TransferCharacteristics::Srgb => Tc::Srgb,
    };
    VuiConfig::new()
        .color_primaries(Cp::Bt709)
        .transfer_characteristics(transfer)
        .matrix_coefficients(matrix)
        .full_range(yuv.full_range)
}

/// Makes the SPS in the access unit `au` (if any: IDRs carry one) signal `color`'s
/// primaries, rewriting the field openh264 wrote (see [`vui`]) when it differs. An error
/// when the SPS has no colour description, which [`vui`] always asks for.
pub(crate) fn signal_primaries(au: &mut Vec<u8>, color: ColorSpace) -> Result<(), &'static str> {
    let code = color.primaries.h273_code();
    let Some(sps_nal) = sps::find_sps(au) else {
        return Ok(());
    };
    let written = sps::parse_sps(sps_nal).and_then(|info| info.video_signal?.colour);
    if written.is_some_and(|(primaries, _, _)| primaries == code) {
        return Ok(());
    }
    *au = sps::with_colour_primaries(au, code)
        .ok_or("the emitted SPS has no colour description to set the primaries in")?;
    Ok(())
}

/// The openh264 configuration for a spec.
///
/// Speed/quality choices, measured with `rfb bench` (release, this 2-core box, gradient,
/// 1280x720, 8 Mbit/s, 120 frames; three interleaved runs while other builds shared the
/// machine, hence ranges). Mean encode ms including RGB -> I420 (0.3 ms of it), KB/frame,
/// PSNR:
///
/// | usage / complexity / threads | ms      | KB  | dB    |
/// |------------------------------|---------|-----|-------|
/// | camera / low / 1 (chosen)    | 3.9-5.3 | 8.0 | 47.98 |
/// | camera / low / 2             | 3.6-4.4 | 8.0 | 47.98 |
/// | camera / low / auto          | 4.2-4.8 | 8.0 | 47.98 |
/// | camera / low / 1, AQ + bg    | 4.2-4.9 | 8.0 | 47.98 |
/// | screen / low / 1             | 4.5-6.7 | 4.1 | 44.77 |
/// | camera / medium / 1          | 6.8-9.4 | 7.2 | 48.15 |
///
/// Screen-content mode halves the bytes but costs 3 dB and time; medium complexity costs
/// 60-80 % more time for 0.2 dB. With one slice per frame (what the `openh264` crate
/// configures) extra threads produce the same bitstream for at most noise-level gains,
/// so the spec's thread count is passed through and its default stays 1, which leaves the
/// other core to the other viewers. Adaptive quantisation and background detection
/// changed nothing measurable and are off; scene-change detection is off so that IDRs
/// come only from the schedule in [`OpenH264Encoder`].
///
/// Content presets ([`tuning::H264Tuning::for_content`]), measured 2026-11-30 at 8 Mbit/s,
/// 120 frames, one thread unless `thr2`, two interleaved runs while other engineers'
/// builds kept the load average at 3-7 (so the ms ranges are wide; KB and dB repeat
/// exactly). `camera` is the bench's own noisy panning pattern. Command, per pattern:
/// `rfb bench --pattern P --sizes 1280x720,1920x1080 --h264-bitrate 8M --tuning
/// camera/low/1,screen/low/1,camera/medium/1,camera/low/2 --jpeg-quality 80` (and
/// `--tuning camera/low/2 --threads 2`). Encode ms / KB per frame / PSNR dB:
///
/// | pattern, size        | camera/low/1 (chosen)  | screen/low/1          | camera/medium/1        | camera/low/2           | camera/low/2 thr2      |
/// |----------------------|------------------------|-----------------------|------------------------|------------------------|------------------------|
/// | test_card 1280x720   | 7.6-10.3 / 4.3 / 48.05 | 13.5-20.5 / 2.9 / 45.09 | 8.1-10.0 / 4.3 / 48.06 | 6.3-8.9 / 4.4 / 48.04 | 4.4-13.3 / 4.4 / 48.04 |
/// | test_card 1920x1080  | 13.4-22.4 / 9.6 / 48.05 | 26.0-46.7 / 6.4 / 45.92 | 16.2-27.3 / 9.6 / 48.05 | 16.4-22.9 / 9.8 / 48.03 | 14.8-26.8 / 9.8 / 48.03 |
/// | gradient 1280x720    | 5.5-8.2 / 7.2 / 48.37  | 6.1-11.4 / 4.5 / 45.21 | 8.0-12.8 / 6.8 / 48.44 | 4.7-7.4 / 7.6 / 48.36  | 7.1-13.0 / 7.6 / 48.36 |
/// | gradient 1920x1080   | 12.2-24.4 / 16.4 / 48.36 | 21.2-29.2 / 10.1 / 45.00 | 18.4-32.4 / 15.1 / 48.39 | 13.7-17.4 / 16.8 / 48.36 | 15.4-32.9 / 16.8 / 48.36 |
/// | camera 1280x720      | 20.3-30.5 / 33.3 / 36.90 | 9.6-13.5 / 2.2 / 34.52 | 24.5-33.9 / 33.3 / 36.91 | 16.3-30.8 / 33.0 / 36.87 | 22.9-31.1 / 33.0 / 36.87 |
/// | camera 1920x1080     | 36.2-47.1 / 33.3 / 36.50 | 19.1-27.7 / 4.7 / 34.43 | 50.1-58.0 / 33.4 / 36.52 | 41.1-45.6 / 33.0 / 36.48 | 44.3-63.0 / 33.0 / 36.48 |
///
/// camera/low/1 wins for rendered and camera content: medium complexity buys at most
/// 0.07 dB for 10-60 % more time; two slices cost 2-6 % bytes (gradient, test card) and
/// gain no time that survives the noise, with or without a second thread. Screen-content
/// mode undershoots the bitrate (it skips what it deems unchanged) and loses 2.4-3 dB on
/// every pattern here; it stays the preset for `Content::Screen` (desktops, text: static
/// areas it may skip cheaply), which none of these patterns is, so that preset is
/// openh264's recommendation, not a measurement. The noisy pattern's PSNR is capped near
/// 37 dB by its sensor noise whatever the bitrate, which is why screen mode's 15x fewer
/// bytes cost only 2.4 dB there.
///
/// Two temporal layers (lanes) at equal bitrate, `--layers 1,2 --h264-bitrate 2M,8M` on
/// the same patterns (KB per frame equal within 3 %, rate control holds; PSNR L1 -> L2):
/// test card -0.03..-0.06 dB (+0.3 at 1080p 2M), gradient -0.4..-0.6 dB (-1.0 at 1080p 2M),
/// camera +0.2..+0.5 dB; encode ms within the noise; the encoder's start (build + first
/// frame) grows by the priming picture, 5-60 ms. Private encoders keep one layer (they
/// drop before encoding instead), so only shared lanes pay this.
fn config(spec: &EncoderSpec) -> EncoderConfig {
    let tuning = spec.h264_tuning();
    EncoderConfig::new()
        .usage_type(match tuning.usage {
            Usage::Camera => UsageType::CameraVideoRealTime,
            Usage::Screen => UsageType::ScreenContentRealTime,
        })
        .complexity(match tuning.effort {
            Effort::Low => Complexity::Low,
            Effort::Medium => Complexity::Medium,
            Effort::High => Complexity::High,
        })
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(spec.bitrate_bps))
        .max_frame_rate(FrameRate::from_hz(spec.fps))
        .skip_frames(false)
        .sps_pps_strategy(SpsPpsStrategy::ConstantId)
        .intra_frame_period(IntraFramePeriod::auto())
        .scene_change_detect(false)
        .adaptive_quantization(false)
        .background_detection(false)
        .num_threads(spec.threads)
        .vui(vui(spec.yuv, spec.color))
}

/// Builds an openh264 encoder.
fn build(spec: &EncoderSpec) -> Result<openh264::encoder::Encoder, EncodeError> {
    if !spec.fps.is_finite() || spec.fps <= 0.0 {
        return Err(configure_error(format!(
            "frame rate must be positive, got {}",
            spec.fps
        )));
    }
    if spec.bitrate_bps == 0 {
        return Err(configure_error("bitrate must be positive"));
    }
    if !(1..=MAX_TEMPORAL_LAYERS).contains(&spec.temporal_layers) {
        return Err(configure_error(format!(
            "temporal layers must be 1..={MAX_TEMPORAL_LAYERS}, got {}",
            spec.temporal_layers
        )));
    }
    check_size(spec.width, spec.height).map_err(|e| configure_error(e.to_string()))?;
    let api = super::library::openh264_api().map_err(configure_error)?;
    let mut encoder =
        openh264::encoder::Encoder::with_api_config(api, config(spec)).map_err(configure_error)?;
    let slices = spec.h264_tuning().slices;
    if spec.temporal_layers > 1 || slices > 1 {
        raw::prime(&mut encoder, spec.width, spec.height).map_err(configure_error)?;
        raw::restructure(&mut encoder, spec.temporal_layers, slices).map_err(configure_error)?;
        // The rebuilt context starts with an IDR anyway; asking makes it certain.
        encoder.force_intra_frame();
    }
    Ok(encoder)
}

/// Lets openh264 read an [`I420Buffer`] without copying it.
pub(crate) struct I420Source<'a>(pub(crate) &'a I420Buffer);

impl YUVSource for I420Source<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let w = self.0.width() as usize;
        (w, w.div_ceil(2), w.div_ceil(2))
    }

    fn y(&self) -> &[u8] {
        self.0.y()
    }

    fn u(&self) -> &[u8] {
        self.0.u()
    }

    fn v(&self) -> &[u8] {
        self.0.v()
    }
}

/// H.264 through openh264; see the module docs for the guarantees.
pub struct OpenH264Encoder {
    spec: EncoderSpec,
    encoder: openh264::encoder::Encoder,
    yuv: I420Buffer,
    /// Frames encoded since the encoder was built (drives the timestamps).
    frames: u64,
    /// Frames encoded since the last IDR; `None` before the first frame.
    since_idr: Option<u32>,
    codec: String,
    out: Vec<u8>,
}

impl std::fmt::Debug for OpenH264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenH264Encoder")
            .field("spec", &self.spec)
            .field("frames", &self.frames)
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

impl OpenH264Encoder {
    /// Builds an encoder for `spec` (which must ask for H.264).
    pub fn new(spec: &EncoderSpec) -> Result<OpenH264Encoder, EncodeError> {
        if spec.transport != Transport::Video(VideoCodec::H264AnnexB) {
            return Err(EncodeError::Unknown(format!(
                "{NAME} cannot produce {}",
                spec.transport.name()
            )));
        }
        Ok(OpenH264Encoder {
            encoder: build(spec)?,
            spec: spec.clone(),
            yuv: I420Buffer::new(),
            frames: 0,
            since_idr: None,
            codec: String::new(),
            out: Vec::new(),
        })
    }

    /// [`OpenH264Encoder::new`], boxed for the [`super::EncoderRegistry`].
    pub fn boxed(spec: &EncoderSpec) -> Result<Box<dyn Encoder>, EncodeError> {
        Ok(Box::new(OpenH264Encoder::new(spec)?))
    }

    /// The spec in force (its size follows the frames).
    pub fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    /// Rebuilds openh264 for a new frame size; the next frame is then an IDR.
    fn resize(&mut self, width: u32, height: u32) -> Result<(), EncodeError> {
        let spec = EncoderSpec {
            width,
            height,
            ..self.spec.clone()
        };
        self.encoder = build(&spec)?;
        self.spec = spec;
        self.frames = 0;
        self.since_idr = None;
        Ok(())
    }

    /// True when this frame must be forced to an IDR: asked for, or the interval is up.
    /// A fresh encoder needs no forcing: its first frame is always an IDR.
    fn idr_due(&self, force_keyframe: bool) -> bool {
        let interval = self.spec.keyframe_interval;
        match self.since_idr {
            None => false,
            Some(n) => force_keyframe || (interval > 0 && n >= interval),
        }
    }
}

impl Encoder for OpenH264Encoder {
    fn encode(
        &mut self,
        frame: &Frame,
        force_keyframe: bool,
    ) -> Result<Vec<EncodedPayload>, EncodeError> {
        let (width, height) = frame.size();
        check_size(width, height)?;
        if (width, height) != (self.spec.width, self.spec.height) {
            self.resize(width, height)?;
        }
        self.yuv.convert_from(frame, self.spec.yuv)?;
        if self.idr_due(force_keyframe) {
            self.encoder.force_intra_frame();
        }
        let millis = (self.frames as f64 * 1000.0 / f64::from(self.spec.fps)) as u64;
        let stream = self
            .encoder
            .encode_at(&I420Source(&self.yuv), Timestamp::from_millis(millis))
            .map_err(encode_error)?;
        let frame_type = stream.frame_type();
        let layer = raw::temporal_id(&stream);
        self.out.clear();
        stream.write_vec(&mut self.out);
        self.frames += 1;
        if frame_type == FrameType::Skip || self.out.is_empty() {
            // Not expected with frame skipping off; nothing to send for this frame.
            self.since_idr = self.since_idr.map(|n| n.saturating_add(1));
            return Ok(Vec::new());
        }
        let keyframe = frame_type == FrameType::IDR;
        if keyframe {
            self.since_idr = Some(1);
            signal_primaries(&mut self.out, self.spec.color).map_err(encode_error)?;
            if let Some(sps) = sps::find_sps(&self.out) {
                self.codec = sps::codec_string(sps);
            }
        } else {
            self.since_idr = self.since_idr.map(|n| n.saturating_add(1));
        }
        Ok(vec![EncodedPayload {
            data: Bytes::copy_from_slice(&self.out),
            keyframe,
            layer,
        }])
    }

    fn codec_string(&self) -> String {
        self.codec.clone()
    }

    fn transport(&self) -> Transport {
        Transport::Video(VideoCodec::H264AnnexB)
    }

    fn yuv_encoding(&self) -> Option<YuvEncoding> {
        Some(self.spec.yuv)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::encode::yuv::{i420_to_rgb8, I420Planes};
    use openh264::decoder::Decoder;
    use rfb_protocol::{
        expected_quadrant_color, test_card, BT601_LIMITED, BT709_LIMITED, DISPLAY_P3,
    };

    pub(super) fn spec(width: u32, height: u32) -> EncoderSpec {
        EncoderSpec::new(Transport::Video(VideoCodec::H264AnnexB), width, height)
    }

    pub(super) fn card(seq: u64, width: u32, height: u32) -> Frame {
        Frame::rgb(width, height, test_card(seq, width, height)).expect("valid frame")
    }

    pub(super) fn one(payloads: Vec<EncodedPayload>) -> EncodedPayload {
        assert_eq!(payloads.len(), 1, "exactly one access unit per frame");
        payloads.into_iter().next().expect("one payload")
    }

    /// Decodes one access unit to RGB8 with the encoding the encoder reports.
    pub(super) fn decode(
        decoder: &mut Decoder,
        au: &[u8],
        yuv: YuvEncoding,
    ) -> (u32, u32, Vec<u8>) {
        let picture = decoder
            .decode(au)
            .expect("decode")
            .expect("a picture per access unit");
        let (w, h) = picture.dimensions();
        let (ys, us, vs) = picture.strides();
        let planes = I420Planes {
            width: w as u32,
            height: h as u32,
            y: picture.y(),
            y_stride: ys,
            u: picture.u(),
            u_stride: us,
            v: picture.v(),
            v_stride: vs,
        };
        let mut rgb = Vec::new();
        i420_to_rgb8(planes, yuv, &mut rgb).expect("yuv -> rgb");
        (w as u32, h as u32, rgb)
    }

    pub(super) fn pixel(rgb: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
        let i = (y * width + x) as usize * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    }

    #[test]
    fn test_card_survives_30_frames_within_6_per_channel() {
        let (w, h) = (640, 480);
        for yuv in [
            BT709_LIMITED,
            YuvEncoding {
                matrix: MatrixCoefficients::Bt601,
                full_range: true,
            },
        ] {
            let mut encoder =
                OpenH264Encoder::new(&EncoderSpec { yuv, ..spec(w, h) }).expect("encoder");
            assert_eq!(encoder.yuv_encoding(), Some(yuv));
            let mut decoder = Decoder::new().expect("decoder");
            for seq in 0..30 {
                let au = one(encoder.encode(&card(seq, w, h), false).expect("encode"));
                assert_eq!(
                    au.keyframe,
                    seq == 0,
                    "only the first frame is an IDR (seq {seq})"
                );
                let (dw, dh, rgb) = decode(&mut decoder, &au.data, yuv);
                assert_eq!((dw, dh), (w, h));
                let centres = [
                    (w / 4, h / 4),
                    (3 * w / 4, h / 4),
                    (w / 4, 3 * h / 4),
                    (3 * w / 4, 3 * h / 4),
                ];
                for (q, (x, y)) in centres.into_iter().enumerate() {
                    let got = pixel(&rgb, w, x, y);
                    let want = expected_quadrant_color(seq, q as u8);
                    let ok = got.iter().zip(want).all(|(g, e)| g.abs_diff(e) <= 6);
                    assert!(
                        ok,
                        "{yuv:?} seq {seq} quadrant {q}: got {got:?}, want {want:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn first_au_is_idr_with_sps_pps_and_codec_string_matches_the_sps() {
        let mut encoder = OpenH264Encoder::new(&spec(640, 480)).expect("encoder");
        assert_eq!(encoder.codec_string(), "", "unknown before the first IDR");
        let au = one(encoder.encode(&card(0, 640, 480), false).expect("encode"));
        assert!(au.keyframe);
        assert!(
            sps::has_sps_pps_idr(&au.data),
            "{:?}",
            sps::nal_types(&au.data)
        );
        let sps_nal = sps::find_sps(&au.data).expect("sps");
        let want = format!(
            "avc1.{:02x}{:02x}{:02x}",
            sps_nal[1], sps_nal[2], sps_nal[3]
        );
        assert_eq!(encoder.codec_string(), want);
        let info = sps::parse_sps(sps_nal).expect("parse sps");
        assert_eq!((info.width, info.height), (640, 480));
        let p = one(encoder.encode(&card(1, 640, 480), false).expect("encode"));
        assert!(
            !p.keyframe && !sps::is_idr(&p.data),
            "{:?}",
            sps::nal_types(&p.data)
        );
        assert_eq!(
            sps::find_sps(&p.data),
            None,
            "no parameter sets on P frames"
        );
    }

    #[test]
    fn vui_signals_the_conversion() {
        for yuv in [
            BT709_LIMITED,
            YuvEncoding {
                matrix: MatrixCoefficients::Bt709,
                full_range: true,
            },
            YuvEncoding {
                matrix: MatrixCoefficients::Bt601,
                full_range: false,
            },
        ] {
            let mut encoder = OpenH264Encoder::new(&EncoderSpec {
                yuv,
                ..spec(320, 240)
            })
            .expect("encoder");
            let au = one(encoder.encode(&card(0, 320, 240), false).expect("encode"));
            let info = sps::parse_sps(sps::find_sps(&au.data).expect("sps")).expect("parse");
            let signal = info.video_signal.expect("VUI video signal type");
            assert_eq!(signal.full_range, yuv.full_range);
            assert_eq!(
                signal.colour,
                Some((1, 13, yuv.matrix.h273_code())),
                "{yuv:?}"
            );
        }
    }

    /// The VUI colour description of an access unit's SPS.
    fn colour(au: &[u8]) -> Option<(u8, u8, u8)> {
        sps::parse_sps(sps::find_sps(au)?)?.video_signal?.colour
    }

    #[test]
    fn display_p3_is_in_every_sps_and_nothing_else_changes() {
        let (w, h) = (320, 240);
        let mut srgb = OpenH264Encoder::new(&spec(w, h)).expect("encoder");
        let p3_spec = EncoderSpec {
            color: DISPLAY_P3,
            keyframe_interval: 4,
            ..spec(w, h)
        };
        let mut p3 = OpenH264Encoder::new(&p3_spec).expect("encoder");
        srgb.spec.keyframe_interval = 4;
        let mut decoder = Decoder::new().expect("decoder");
        let mut idrs = 0;
        for seq in 0..10u64 {
            let force = seq == 6;
            let a = one(srgb.encode(&card(seq, w, h), force).expect("encode"));
            let b = one(p3.encode(&card(seq, w, h), force).expect("encode"));
            assert_eq!(a.keyframe, b.keyframe, "seq {seq}");
            if b.keyframe {
                idrs += 1;
                assert_eq!(colour(&a.data), Some((1, 13, 6)));
                assert_eq!(colour(&b.data), Some((12, 13, 6)), "IDR {seq}");
                // Same encoder state, same input: only the SPS differs.
                let (na, nb) = (sps::nal_units(&a.data), sps::nal_units(&b.data));
                assert_eq!(na.len(), nb.len());
                for (x, y) in na.iter().zip(&nb) {
                    if sps::nal_type(x) != Some(sps::NAL_SPS) {
                        assert_eq!(x, y, "seq {seq}: only the SPS is rewritten");
                    }
                }
            } else {
                assert_eq!(a.data, b.data, "P frames are untouched (seq {seq})");
            }
            assert_eq!(p3.codec_string(), srgb.codec_string(), "same codec string");
            // openh264 decodes it, and the pixels are the publisher's: a tag, no conversion.
            let (_, _, rgb) = decode(&mut decoder, &b.data, BT601_LIMITED);
            let got = pixel(&rgb, w, w / 4, h / 4);
            let want = expected_quadrant_color(seq, 0);
            assert!(
                got.iter().zip(want).all(|(g, e)| g.abs_diff(e) <= 6),
                "{got:?}"
            );
        }
        assert_eq!(idrs, 3, "frames 0, 4 (periodic) and 6 (forced)");
        // A resize rebuilds openh264; the colour stays.
        let au = one(p3.encode(&card(10, 160, 96), false).expect("encode"));
        assert!(au.keyframe);
        assert_eq!(colour(&au.data), Some((12, 13, 6)));
        assert_eq!(p3.spec().color, DISPLAY_P3);
    }

    #[test]
    fn forced_and_periodic_keyframes_are_idrs_with_parameter_sets() {
        let mut encoder = OpenH264Encoder::new(&EncoderSpec {
            keyframe_interval: 10,
            ..spec(320, 240)
        })
        .expect("encoder");
        let mut decoder = Decoder::new().expect("decoder");
        let mut keyframes = Vec::new();
        for seq in 0..25u64 {
            let au = one(encoder
                .encode(&card(seq, 320, 240), seq == 4)
                .expect("encode"));
            assert_eq!(
                au.keyframe,
                sps::is_idr(&au.data),
                "flag matches the bitstream at {seq}"
            );
            if au.keyframe {
                assert!(sps::has_sps_pps_idr(&au.data), "IDR {seq} carries SPS+PPS");
                keyframes.push(seq);
            }
            decode(&mut decoder, &au.data, BT601_LIMITED);
        }
        // Frame 0, the forced one at 4, then every 10 frames counted from it.
        assert_eq!(keyframes, vec![0, 4, 14, 24]);
        // A forced keyframe decodes on its own in a fresh decoder.
        let au = one(encoder.encode(&card(25, 320, 240), true).expect("encode"));
        let (_, _, rgb) = decode(
            &mut Decoder::new().expect("decoder"),
            &au.data,
            BT601_LIMITED,
        );
        let got = pixel(&rgb, 320, 80, 60);
        assert!(got
            .iter()
            .zip(expected_quadrant_color(25, 0))
            .all(|(g, e)| g.abs_diff(e) <= 6));
    }

    #[test]
    fn resize_rebuilds_with_an_idr_and_bad_sizes_are_errors() {
        let mut encoder = OpenH264Encoder::new(&spec(320, 240)).expect("encoder");
        one(encoder.encode(&card(0, 320, 240), false).expect("encode"));
        one(encoder.encode(&card(1, 320, 240), false).expect("encode"));
        let au = one(encoder.encode(&card(2, 160, 96), false).expect("encode"));
        assert!(au.keyframe && sps::has_sps_pps_idr(&au.data));
        let info = sps::parse_sps(sps::find_sps(&au.data).expect("sps")).expect("parse");
        assert_eq!((info.width, info.height), (160, 96));
        assert_eq!(encoder.spec().width, 160);
        assert!(
            encoder.encode(&card(3, 161, 96), false).is_err(),
            "odd width"
        );
        assert!(
            encoder.encode(&card(3, 160, 95), false).is_err(),
            "odd height"
        );
        assert!(
            OpenH264Encoder::new(&spec(3842, 2160)).is_err(),
            "too large"
        );
        assert!(OpenH264Encoder::new(&spec(641, 480)).is_err(), "odd spec");
        let image = EncoderSpec::new(Transport::Image(rfb_protocol::ImageFormat::Png), 64, 64);
        assert!(OpenH264Encoder::new(&image).is_err(), "wrong transport");
    }

    #[test]
    fn rgba_frames_encode() {
        let (w, h) = (64, 64);
        let rgba: Vec<u8> = test_card(0, w, h)
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 0])
            .collect();
        let frame = Frame::rgba(w, h, rgba).expect("valid frame");
        let mut encoder = OpenH264Encoder::new(&spec(w, h)).expect("encoder");
        let au = one(encoder.encode(&frame, false).expect("encode"));
        let (_, _, rgb) = decode(
            &mut Decoder::new().expect("decoder"),
            &au.data,
            BT601_LIMITED,
        );
        let got = pixel(&rgb, w, 48, 48);
        assert!(
            got.iter()
                .zip(expected_quadrant_color(0, 3))
                .all(|(g, e)| g.abs_diff(e) <= 6),
            "{got:?}"
        );
    }
}
