//! H.264 Annex B helpers: splitting an access unit into NAL units, NAL types, and reading
//! the sequence parameter set (profile, level, size and the VUI colour fields).
//!
//! The viewer's WebCodecs `codec` string must describe the stream it gets, so
//! [`codec_string`] reads it from the SPS the encoder actually emitted instead of assuming
//! a profile and level.

/// NAL type of a non-IDR slice.
pub const NAL_SLICE: u8 = 1;
/// NAL type of an IDR slice.
pub const NAL_IDR: u8 = 5;
/// NAL type of supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// NAL type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL type of a picture parameter set.
pub const NAL_PPS: u8 = 8;

/// Splits an Annex B byte stream into NAL units (without their 3- or 4-byte start codes).
/// Bytes before the first start code are ignored, as are the zero bytes that pad a NAL
/// unit before the next start code.
pub fn nal_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &(_, begin)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(stream.len(), |&(code, _)| code);
        let mut nal = &stream[begin..end];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if !nal.is_empty() {
            nals.push(nal);
        }
    }
    nals
}

/// The `nal_unit_type` of a NAL unit (its first byte's low five bits).
pub fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| b & 0x1f)
}

/// The NAL types of an access unit, in order.
pub fn nal_types(access_unit: &[u8]) -> Vec<u8> {
    nal_units(access_unit)
        .into_iter()
        .filter_map(nal_type)
        .collect()
}

/// True when the access unit carries an SPS, a PPS and an IDR slice, in that order: it can
/// start a stream on its own.
pub fn has_sps_pps_idr(access_unit: &[u8]) -> bool {
    let types = nal_types(access_unit);
    let pos = |t: u8| types.iter().position(|&x| x == t);
    matches!((pos(NAL_SPS), pos(NAL_PPS), pos(NAL_IDR)), (Some(s), Some(p), Some(i)) if s < p && p < i)
}

/// True when the access unit contains an IDR slice.
pub fn is_idr(access_unit: &[u8]) -> bool {
    nal_types(access_unit).contains(&NAL_IDR)
}

/// The first SPS NAL unit of an access unit.
pub fn find_sps(access_unit: &[u8]) -> Option<&[u8]> {
    nal_units(access_unit)
        .into_iter()
        .find(|n| nal_type(n) == Some(NAL_SPS))
}

/// The WebCodecs codec string `avc1.PPCCLL` (hex profile_idc, constraint flags, level_idc)
/// of an SPS NAL unit, or an empty string when `sps_nal` is not a (complete enough) SPS,
/// the same "unknown" the encoders report before their first IDR.
pub fn codec_string(sps_nal: &[u8]) -> String {
    match parse_sps(sps_nal) {
        Some(sps) => format!(
            "avc1.{:02x}{:02x}{:02x}",
            sps.profile_idc, sps.constraint_flags, sps.level_idc
        ),
        None => String::new(),
    }
}

/// The VUI's `video_signal_type` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSignal {
    /// `video_full_range_flag`.
    pub full_range: bool,
    /// `colour_primaries`, `transfer_characteristics`, `matrix_coefficients` (H.273 codes),
    /// when `colour_description_present_flag` is set.
    pub colour: Option<(u8, u8, u8)>,
}

/// What this module reads from an SPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpsInfo {
    /// `profile_idc` (66 baseline, 77 main, 100 high...).
    pub profile_idc: u8,
    /// The `constraint_set0..5` flags byte.
    pub constraint_flags: u8,
    /// `level_idc` (31 = level 3.1).
    pub level_idc: u8,
    /// Picture width after cropping.
    pub width: u32,
    /// Picture height after cropping.
    pub height: u32,
    /// The VUI `video_signal_type`, when the SPS has a VUI that carries one.
    pub video_signal: Option<VideoSignal>,
}

/// Parses an SPS NAL unit (header byte included, no start code). `None` when it is not an
/// SPS or is truncated.
pub fn parse_sps(nal: &[u8]) -> Option<SpsInfo> {
    if nal_type(nal)? != NAL_SPS {
        return None;
    }
    let rbsp = unescape(&nal[1..]);
    let mut r = BitReader::new(&rbsp);
    let profile_idc = r.bits(8)? as u8;
    let constraint_flags = r.bits(8)? as u8;
    let level_idc = r.bits(8)? as u8;
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            r.bits(1)?; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1)? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bits(1)? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bits(1)?; // delta_pic_order_always_zero_flag
            r.se()?; // offset_for_non_ref_pic
            r.se()?; // offset_for_top_to_bottom_field
            for _ in 0..r.ue()? {
                r.se()?; // offset_for_ref_frame
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = r.ue()? + 1;
    let height_map_units = r.ue()? + 1;
    let frame_mbs_only = r.bits(1)?;
    if frame_mbs_only == 0 {
        r.bits(1)?; // mb_adaptive_frame_field_flag
    }
    r.bits(1)?; // direct_8x8_inference_flag
    let mut crop = [0u32; 4];
    if r.bits(1)? == 1 {
        for c in &mut crop {
            *c = r.ue()?;
        }
    }
    let (crop_x, crop_y) = match chroma_format_idc {
        0 | 3 => (1, 2 - frame_mbs_only),
        2 => (2, 2 - frame_mbs_only),
        _ => (2, 2 * (2 - frame_mbs_only)),
    };
    let width = (width_mbs * 16).checked_sub(crop_x * (crop[0] + crop[1]))?;
    let height =
        (height_map_units * 16 * (2 - frame_mbs_only)).checked_sub(crop_y * (crop[2] + crop[3]))?;
    let video_signal = if r.bits(1)? == 1 {
        read_video_signal(&mut r)?
    } else {
        None
    };
    Some(SpsInfo {
        profile_idc,
        constraint_flags,
        level_idc,
        width,
        height,
        video_signal,
    })
}

/// Reads the start of `vui_parameters()` up to the colour description.
fn read_video_signal(r: &mut BitReader<'_>) -> Option<Option<VideoSignal>> {
    if r.bits(1)? == 1 && r.bits(8)? == 255 {
        r.bits(32)?; // sar_width, sar_height
    }
    if r.bits(1)? == 1 {
        r.bits(1)?; // overscan_appropriate_flag
    }
    if r.bits(1)? == 0 {
        return Some(None);
    }
    r.bits(3)?; // video_format
    let full_range = r.bits(1)? == 1;
    let colour = if r.bits(1)? == 1 {
        Some((r.bits(8)? as u8, r.bits(8)? as u8, r.bits(8)? as u8))
    } else {
        None
    };
    Some(Some(VideoSignal { full_range, colour }))
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + r.se()? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// Removes emulation prevention bytes (`00 00 03` -> `00 00`).
fn unescape(escaped: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(escaped.len());
    let mut zeros = 0;
    for &b in escaped {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// A big-endian bit reader with Exp-Golomb codes; every read is `None` past the end.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(bit))
    }

    /// Reads `n <= 32` bits.
    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some((acc << 1) | self.bit()?))
    }

    /// Unsigned Exp-Golomb.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some(((1u64 << zeros) - 1 + u64::from(self.bits(zeros)?)) as u32)
    }

    /// Signed Exp-Golomb.
    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openh264::encoder::{Encoder, EncoderConfig, Profile, VuiConfig};
    use openh264::formats::YUVBuffer;

    #[test]
    fn splits_on_three_and_four_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        let nals = nal_units(&stream);
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
        assert_eq!(nal_types(&stream), vec![NAL_SPS, NAL_PPS, NAL_IDR]);
        assert!(has_sps_pps_idr(&stream));
        assert!(is_idr(&stream));
        assert!(!has_sps_pps_idr(&[0, 0, 1, 0x41, 9]));
        assert!(nal_units(&[1, 2, 3]).is_empty());
        assert!(nal_units(&[]).is_empty());
    }

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        // ue: 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3; packed as "1 010 011 00100".
        let data = [0b1010_0110, 0b0100_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(
            (r.ue(), r.ue(), r.ue(), r.ue()),
            (Some(0), Some(1), Some(2), Some(3))
        );
        // se: codeNum 3 (00100) -> +2, codeNum 4 (00101) -> -2.
        let mut r = BitReader::new(&[0b0010_0001, 0b0100_0000]);
        assert_eq!((r.se(), r.se()), (Some(2), Some(-2)));
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
        assert_eq!(BitReader::new(&[0]).ue(), None, "runs off the end");
    }

    #[test]
    fn garbage_is_not_an_sps() {
        assert_eq!(codec_string(&[]), "");
        assert_eq!(codec_string(&[0x67, 0x42]), "");
        assert_eq!(codec_string(&[0x68, 0x42, 0, 0x1f, 0xff]), "");
        assert!(parse_sps(&[0x67, 0x42, 0xc0, 0x1f]).is_none(), "truncated");
    }

    /// A real SPS from openh264 at 640x360 with a VUI (BT.601, full range, sRGB transfer).
    fn openh264_sps(profile: Profile) -> Vec<u8> {
        let vui = VuiConfig::bt601()
            .full_range(true)
            .transfer_characteristics(openh264::encoder::TransferCharacteristics::Srgb);
        let config = EncoderConfig::new().vui(vui).profile(profile);
        let api = openh264::OpenH264API::from_source();
        let mut encoder = Encoder::with_api_config(api, config).expect("encoder");
        let yuv = YUVBuffer::new(640, 360);
        let au = encoder.encode(&yuv).expect("encode").to_vec();
        assert!(has_sps_pps_idr(&au), "first AU {:?}", nal_types(&au));
        find_sps(&au).expect("sps").to_vec()
    }

    #[test]
    fn reads_openh264_sps_including_cropping_and_vui() {
        let sps = openh264_sps(Profile::Baseline);
        let info = parse_sps(&sps).expect("parse");
        assert_eq!(
            (info.width, info.height),
            (640, 360),
            "360 is cropped from 368"
        );
        assert_eq!(
            info.video_signal,
            Some(VideoSignal {
                full_range: true,
                colour: Some((6, 13, 6))
            })
        );
        let expected = format!("avc1.{:02x}{:02x}{:02x}", sps[1], sps[2], sps[3]);
        assert_eq!(codec_string(&sps), expected);
        assert!(
            codec_string(&sps).starts_with("avc1.42"),
            "openh264 emits baseline"
        );
    }

    #[test]
    fn reads_a_high_profile_sps() {
        let sps = openh264_sps(Profile::High);
        let info = parse_sps(&sps).expect("parse");
        assert_eq!(info.profile_idc, 100, "openh264 honours the High profile");
        assert_eq!((info.width, info.height), (640, 360));
        assert_eq!(info.video_signal.and_then(|v| v.colour), Some((6, 13, 6)));
        assert!(codec_string(&sps).starts_with("avc1.64"));
    }
}
