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
    nal_ranges(stream)
        .into_iter()
        .map(|(begin, end)| &stream[begin..end])
        .collect()
}

/// The byte ranges of [`nal_units`] within `stream`.
fn nal_ranges(stream: &[u8]) -> Vec<(usize, usize)> {
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
        let mut end = starts.get(k + 1).map_or(stream.len(), |&(code, _)| code);
        while end > begin && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > begin {
            nals.push((begin, end));
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

/// The `nal_ref_idc` of a NAL unit (its first byte's bits 5-6): 0 for a slice no later
/// picture references.
pub fn nal_ref_idc(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| (b >> 5) & 3)
}

/// True when a later picture may reference this access unit: one of its slices has a
/// non-zero `nal_ref_idc`. An access unit without slices is not a reference.
pub fn is_reference(access_unit: &[u8]) -> bool {
    nal_units(access_unit).into_iter().any(|nal| {
        matches!(nal_type(nal), Some(NAL_SLICE | NAL_IDR)) && nal_ref_idc(nal) != Some(0)
    })
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
    parse_rbsp(&unescape(&nal[1..])).map(|(info, _)| info)
}

/// Parses an SPS RBSP (the bytes after the NAL header, unescaped). Also returns the bit
/// offset of `colour_primaries` in `rbsp` when the VUI carries a colour description.
fn parse_rbsp(rbsp: &[u8]) -> Option<(SpsInfo, Option<usize>)> {
    let mut r = BitReader::new(rbsp);
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
    let (video_signal, primaries_at) = if r.bits(1)? == 1 {
        read_video_signal(&mut r)?
    } else {
        (None, None)
    };
    let info = SpsInfo {
        profile_idc,
        constraint_flags,
        level_idc,
        width,
        height,
        video_signal,
    };
    Some((info, primaries_at))
}

/// Reads the start of `vui_parameters()` up to the colour description; also returns the
/// bit offset of `colour_primaries` when there is one.
fn read_video_signal(r: &mut BitReader<'_>) -> Option<(Option<VideoSignal>, Option<usize>)> {
    if r.bits(1)? == 1 && r.bits(8)? == 255 {
        r.bits(32)?; // sar_width, sar_height
    }
    if r.bits(1)? == 1 {
        r.bits(1)?; // overscan_appropriate_flag
    }
    if r.bits(1)? == 0 {
        return Some((None, None));
    }
    r.bits(3)?; // video_format
    let full_range = r.bits(1)? == 1;
    let (colour, primaries_at) = if r.bits(1)? == 1 {
        let at = r.pos;
        let colour = (r.bits(8)? as u8, r.bits(8)? as u8, r.bits(8)? as u8);
        (Some(colour), Some(at))
    } else {
        (None, None)
    };
    Some((Some(VideoSignal { full_range, colour }), primaries_at))
}

/// The SPS NAL unit `sps_nal` with its VUI `colour_primaries` set to the H.273 code
/// `primaries`, everything else bit for bit the same. `None` when `sps_nal` is not an SPS
/// or its VUI has no colour description to rewrite.
///
/// openh264 cannot write every code (its enum stops at BT.2020, 9; Display P3 is 12), so
/// the encoders let it write another and rewrite the field here. The field is a fixed
/// 8 bits, so the RBSP keeps its length and only the emulation prevention bytes around
/// it can change: the NAL unit is unescaped, patched and escaped again, which reproduces
/// an encoder's escaping exactly (the escaping is minimal, as H.264 7.4.1 requires).
pub fn set_colour_primaries(sps_nal: &[u8], primaries: u8) -> Option<Vec<u8>> {
    if nal_type(sps_nal)? != NAL_SPS {
        return None;
    }
    let mut rbsp = unescape(&sps_nal[1..]);
    let at = parse_rbsp(&rbsp)?.1?;
    for i in 0..8 {
        let (byte, bit) = ((at + i) / 8, 7 - (at + i) % 8);
        let value = (primaries >> (7 - i)) & 1;
        rbsp[byte] = (rbsp[byte] & !(1 << bit)) | (value << bit);
    }
    let mut nal = Vec::with_capacity(sps_nal.len() + 2);
    nal.push(sps_nal[0]);
    nal.extend_from_slice(&escape(&rbsp));
    Some(nal)
}

/// `access_unit` (Annex B) with [`set_colour_primaries`] applied to every SPS NAL unit in
/// it; every other byte (start codes, other NAL units) is copied unchanged. `None` when an
/// SPS cannot be rewritten.
pub fn with_colour_primaries(access_unit: &[u8], primaries: u8) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(access_unit.len() + 2);
    let mut copied = 0;
    for (begin, end) in nal_ranges(access_unit) {
        let nal = &access_unit[begin..end];
        if nal_type(nal) == Some(NAL_SPS) {
            out.extend_from_slice(&access_unit[copied..begin]);
            out.extend_from_slice(&set_colour_primaries(nal, primaries)?);
            copied = end;
        }
    }
    out.extend_from_slice(&access_unit[copied..]);
    Some(out)
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

/// Adds emulation prevention bytes, the inverse of [`unescape`]: a `03` wherever two zero
/// bytes would be followed by a byte of at most 3 (which would read as a start code or an
/// escape), and after trailing `00 00` (H.264 7.4.1). Nothing else is added.
fn escape(rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 64 + 1);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    if zeros >= 2 {
        out.push(3);
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
    use openh264::formats::{YUVBuffer, YUVSource};

    #[test]
    fn reference_marks_come_from_the_slices_nal_ref_idc() {
        // SPS (ref_idc 3) + a non-reference P slice (0x01: ref_idc 0, type 1).
        let non_ref = [0, 0, 0, 1, 0x67, 9, 0, 0, 1, 0x01, 7];
        assert_eq!(nal_ref_idc(&[0x41]), Some(2));
        assert_eq!(nal_ref_idc(&[]), None);
        assert!(!is_reference(&non_ref), "parameter sets do not count");
        // A referenced P slice (0x41: ref_idc 2) and an IDR slice (0x65: ref_idc 3).
        assert!(is_reference(&[0, 0, 1, 0x41, 7]));
        assert!(is_reference(&[0, 0, 1, 0x65, 7]));
        assert!(!is_reference(&[]), "no slices");
    }

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

    /// Writes bits big-endian, for building synthetic SPS RBSPs.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        len: usize,
    }

    impl BitWriter {
        fn bits(&mut self, n: u32, value: u64) -> &mut Self {
            for i in (0..n).rev() {
                if self.len.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                let bit = ((value >> i) & 1) as u8;
                let last = self.bytes.len() - 1;
                self.bytes[last] |= bit << (7 - self.len % 8);
                self.len += 1;
            }
            self
        }

        fn ue(&mut self, value: u32) -> &mut Self {
            let x = u64::from(value) + 1;
            let len = 64 - x.leading_zeros();
            self.bits(len - 1, 0).bits(len, x)
        }
    }

    /// A baseline SPS NAL unit (escaped) whose `colour_primaries` is byte aligned, whose
    /// RBSP has `00 00 01` right after `level_idc` (so it carries an emulation prevention
    /// byte before the VUI) and whose VUI ends with the given colour description.
    fn synthetic_sps(colour: (u8, u8, u8)) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.bits(8, 66).bits(8, 0).bits(8, 0); // profile, constraints, level_idc 0
        w.ue(127); // seq_parameter_set_id: 7 zero bits, so the next byte is 01
        w.ue(0).ue(2).ue(1).bits(1, 0); // frame_num, poc type 2, one ref, no gaps
        w.ue(39).ue(29); // 640 x 480
        w.bits(1, 1).bits(1, 1).bits(1, 0); // frame_mbs_only, direct_8x8, no cropping
        w.bits(1, 1); // vui_parameters_present_flag
        w.bits(1, 0).bits(1, 1).bits(1, 0); // no aspect ratio, overscan info: not appropriate
        w.bits(1, 1).bits(3, 5).bits(1, 0).bits(1, 1); // video signal: unspecified, limited
        assert_eq!(w.len % 8, 0, "colour_primaries starts a byte");
        w.bits(8, colour.0.into())
            .bits(8, colour.1.into())
            .bits(8, colour.2.into());
        w.bits(6, 0); // no chroma loc, timing, HRDs, pic_struct, bitstream restriction
        w.bits(1, 1); // rbsp_stop_one_bit
        while w.len % 8 != 0 {
            w.bits(1, 0);
        }
        let mut nal = vec![0x67];
        nal.extend(escape(&w.bytes));
        nal
    }

    #[test]
    fn escape_inverts_unescape_and_is_minimal() {
        let cases: [&[u8]; 9] = [
            &[0, 0, 0],
            &[0, 0, 1],
            &[0, 0, 2, 0, 0, 3],
            &[0, 0, 4],
            &[0, 0, 0, 0, 0],
            &[7, 0, 0],
            &[0, 3, 0, 0, 3, 0, 0],
            &[],
            &[0],
        ];
        let escaped: [&[u8]; 9] = [
            &[0, 0, 3, 0],
            &[0, 0, 3, 1],
            &[0, 0, 3, 2, 0, 0, 3, 3],
            &[0, 0, 4],
            &[0, 0, 3, 0, 0, 3, 0],
            &[7, 0, 0, 3],
            &[0, 3, 0, 0, 3, 3, 0, 0, 3],
            &[],
            &[0],
        ];
        for (rbsp, want) in cases.into_iter().zip(escaped) {
            assert_eq!(escape(rbsp), want, "{rbsp:?}");
            assert_eq!(unescape(&escape(rbsp)), rbsp, "{rbsp:?}");
        }
        // Pseudo-random bytes, dense in zeros and small values.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200 {
            let rbsp: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    [0, 0, 0, 1, 2, 3, 4, 0xff][(x >> 61) as usize]
                })
                .collect();
            let escaped = escape(&rbsp);
            assert_eq!(unescape(&escaped), rbsp);
            assert!(
                !escaped
                    .windows(3)
                    .any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2),
                "no start code emulation in {escaped:?}"
            );
        }
    }

    #[test]
    fn patches_colour_primaries_of_a_real_sps_and_nothing_else() {
        for profile in [Profile::Baseline, Profile::High] {
            let sps = openh264_sps(profile);
            let before = parse_sps(&sps).expect("parse");
            let patched = set_colour_primaries(&sps, 12).expect("patch");
            let after = parse_sps(&patched).expect("parse patched");
            assert_eq!(after.video_signal.and_then(|v| v.colour), Some((12, 13, 6)));
            let unchanged = SpsInfo {
                video_signal: before.video_signal.map(|v| VideoSignal {
                    colour: Some((12, 13, 6)),
                    ..v
                }),
                ..before
            };
            assert_eq!(after, unchanged, "only the primaries change");
            assert_eq!(codec_string(&patched), codec_string(&sps));
            assert_eq!(patched.len(), sps.len());
            let differing = sps.iter().zip(&patched).filter(|(a, b)| a != b).count();
            assert!((1..=2).contains(&differing), "8 bits span at most 2 bytes");
            // Idempotent, and patching back restores the encoder's bytes.
            assert_eq!(set_colour_primaries(&patched, 12), Some(patched.clone()));
            assert_eq!(set_colour_primaries(&patched, 6), Some(sps.clone()));
            assert_eq!(set_colour_primaries(&sps, 6), Some(sps.clone()));
        }
    }

    #[test]
    fn patching_adds_and_removes_emulation_prevention_bytes() {
        // colour_primaries 12, transfer 0, matrix 1, then 0x02 (flags and stop bit):
        // `0c 00 01 02` needs no escape; primaries 0 makes `00 00 01`, which does.
        let p3 = synthetic_sps((12, 0, 1));
        assert!(
            p3.starts_with(&[0x67, 66, 0, 0, 3, 1]),
            "escape before the VUI"
        );
        assert!(p3.ends_with(&[12, 0, 1, 2]), "{p3:02x?}");
        let info = parse_sps(&p3).expect("parse");
        assert_eq!((info.width, info.height), (640, 480));
        assert_eq!(info.video_signal.and_then(|v| v.colour), Some((12, 0, 1)));

        let zero = set_colour_primaries(&p3, 0).expect("patch");
        assert_eq!(
            zero.len(),
            p3.len() + 1,
            "one emulation prevention byte more"
        );
        assert!(zero.ends_with(&[0, 0, 3, 1, 2]), "{zero:02x?}");
        assert!(
            zero.starts_with(&[0x67, 66, 0, 0, 3, 1]),
            "the earlier escape stays"
        );
        let info = parse_sps(&zero).expect("parse");
        assert_eq!(info.video_signal.and_then(|v| v.colour), Some((0, 0, 1)));
        assert_eq!(
            set_colour_primaries(&zero, 12),
            Some(p3.clone()),
            "and removed"
        );
        // Splitting an access unit finds the patched SPS whole.
        let au = [&[0, 0, 0, 1][..], &zero, &[0, 0, 1, 0x68, 0xce]].concat();
        assert_eq!(nal_units(&au), vec![&zero[..], &[0x68, 0xce][..]]);
    }

    #[test]
    fn an_sps_without_a_colour_description_or_another_nal_is_not_patched() {
        let mut w = BitWriter::default();
        w.bits(8, 66).bits(8, 0xc0).bits(8, 30);
        w.ue(0).ue(0).ue(2).ue(1).bits(1, 0).ue(19).ue(14);
        w.bits(1, 1).bits(1, 1).bits(1, 0).bits(1, 0); // no VUI
        w.bits(1, 1).bits(7, 0);
        let sps = [&[0x67][..], &w.bytes].concat();
        assert_eq!(
            parse_sps(&sps).map(|i| (i.width, i.height)),
            Some((320, 240))
        );
        assert_eq!(set_colour_primaries(&sps, 12), None);
        assert_eq!(set_colour_primaries(&[0x68, 0xce, 0x38, 0x80], 12), None);
        assert_eq!(set_colour_primaries(&[0x67, 0x42], 12), None, "truncated");
        let au = [&[0, 0, 0, 1][..], &sps].concat();
        assert_eq!(with_colour_primaries(&au, 12), None);
    }

    #[test]
    fn patches_every_sps_of_an_access_unit_and_copies_the_rest() {
        let api = openh264::OpenH264API::from_source();
        let config = EncoderConfig::new().vui(VuiConfig::bt709());
        let mut encoder = Encoder::with_api_config(api, config).expect("encoder");
        let idr = encoder
            .encode(&YUVBuffer::new(320, 240))
            .expect("encode")
            .to_vec();
        let p = encoder
            .encode(&YUVBuffer::new(320, 240))
            .expect("encode")
            .to_vec();
        let patched = with_colour_primaries(&idr, 12).expect("patch");
        let sps = find_sps(&patched).expect("sps");
        let colour = parse_sps(sps).and_then(|i| i.video_signal?.colour);
        assert_eq!(colour, Some((12, 1, 1)));
        assert_eq!(nal_types(&patched), nal_types(&idr));
        let (old, new) = (nal_units(&idr), nal_units(&patched));
        for (a, b) in old.iter().zip(&new) {
            if nal_type(a) != Some(NAL_SPS) {
                assert_eq!(a, b, "non-SPS NAL units are copied");
            }
        }
        assert!(patched.starts_with(&[0, 0, 0, 1]), "start codes are kept");
        assert_eq!(with_colour_primaries(&patched, 12), Some(patched.clone()));
        assert_eq!(with_colour_primaries(&patched, 1), Some(idr.clone()));
        assert_eq!(with_colour_primaries(&p, 12), Some(p.clone()), "no SPS");
        // Two parameter sets in one access unit (repeated SPS): both patched.
        let twice = [&idr[..], &idr[..]].concat();
        let both = with_colour_primaries(&twice, 12).expect("patch");
        assert_eq!(both, [&patched[..], &patched[..]].concat());
        // openh264 decodes the patched stream.
        let mut decoder = openh264::decoder::Decoder::new().expect("decoder");
        let picture = decoder.decode(&patched).expect("decode").expect("picture");
        assert_eq!(picture.dimensions(), (320, 240));
    }
}
