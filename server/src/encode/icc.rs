//! ICC profiles for the image payloads: browsers colour-manage images by their embedded
//! profile and treat an image without one as sRGB, so a Display P3 frame sent as a bare
//! JPEG/PNG/WebP would be converted from sRGB on a `display-p3` canvas (measured in
//! Chromium: (220, 40, 40) was drawn as (202, 59, 52)). sRGB frames carry no profile.
//!
//! The Display P3 profile ([`display_p3`]) is built by `moxcms` (the colour management
//! crate `image` already depends on): an ICC v4 display-class matrix/TRC profile, the same
//! structure as Apple's "Display P3" profile. Primaries and white are SMPTE EG 432-1's (P3
//! primaries, D65 white), the colorants adapted to the D50 profile connection space with
//! the Bradford transform (recorded in `chad`), and the sRGB curve (IEC 61966-2-1) as a
//! `para` function of type 3. The bytes are pinned by a golden file
//! (`display_p3.icc`), so a `moxcms` upgrade that changes them fails a test.
//!
//! JPEG gets it as `APP2 ICC_PROFILE` segments spliced in after the JFIF header
//! ([`jpeg_with_icc`]), since `turbojpeg`'s safe API has no ICC call; PNG (`iCCP`) and WebP
//! (VP8X + `ICCP`) get it through the `image` crate's encoders.

use std::sync::LazyLock;

use rfb_protocol::{ColorPrimaries, ColorSpace, TransferCharacteristics};

/// The ICC profile an image in `color` must carry: none for sRGB (what browsers assume).
pub fn profile_for(color: ColorSpace) -> Option<&'static [u8]> {
    match (color.primaries, color.transfer) {
        (ColorPrimaries::Bt709, TransferCharacteristics::Srgb) => None,
        (ColorPrimaries::DisplayP3, TransferCharacteristics::Srgb) => display_p3(),
    }
}

/// The ICC profile connection space illuminant, D50 as the ICC spec rounds it.
const PCS_D50: moxcms::Xyzd = moxcms::Xyzd {
    x: 0.9642,
    y: 1.0,
    z: 0.8249,
};

/// The header's creation date: 2026-11-30 00:00:00 (ICC `dateTimeNumber`, big-endian u16s).
const PROFILE_DATE: [u8; 12] = [0x07, 0xea, 0, 11, 0, 30, 0, 0, 0, 0, 0, 0];

/// The Display P3 ICC profile (see the module docs), `None` if it cannot be encoded.
pub fn display_p3() -> Option<&'static [u8]> {
    static PROFILE: LazyLock<Option<Vec<u8>>> = LazyLock::new(|| {
        let mut profile = moxcms::ColorProfile::new_display_p3();
        // moxcms tags its Display P3 with CICP primaries 11 (DCI-P3, DCI white) where
        // Display P3 is 12 (EG 432-1, D65); a reader that prefers the CICP tag would shift
        // every colour, so the profile carries the matrix/TRC description alone.
        profile.cicp = None;
        // ICC v4 display profiles state the PCS white (D50) as their media white point;
        // the D65 adaptation is in `chad`.
        profile.media_white_point = Some(PCS_D50);
        // moxcms 0.8 stores the bare Bradford cone matrix as `chad`; ICC v4 wants the
        // D65 -> D50 adaptation itself (what a CMS reads back to find the source white).
        profile.chromatic_adaptation = Some(moxcms::adaption_matrix_d(
            moxcms::Xyz::new(0.950_47, 1.0, 1.088_83),
            PCS_D50.to_xyz(),
        ));
        // The header's PCS illuminant must be the ICC's D50 exactly (moxcms's own D50 is a
        // few 1e-4 off in X and Z).
        profile.white_point = PCS_D50;
        match profile.encode() {
            Ok(mut bytes) => {
                // moxcms stamps the current time into the header; a fixed date keeps the
                // bytes (and every image that carries them) the same from build to build.
                if let Some(date) = bytes.get_mut(24..36) {
                    date.copy_from_slice(&PROFILE_DATE);
                }
                Some(bytes)
            }
            Err(err) => {
                tracing::error!("cannot encode the Display P3 ICC profile: {err}");
                None
            }
        }
    });
    PROFILE.as_deref()
}

/// The identifier that starts an `APP2` segment holding (part of) an ICC profile.
const ICC_MARKER_ID: &[u8; 12] = b"ICC_PROFILE\0";

/// Most profile bytes one `APP2` segment holds: 65535 minus the length field and the
/// identifier, sequence number and count.
const ICC_CHUNK: usize = 65_535 - 2 - 14;

/// The length of the marker segment at `at` (marker included), if `jpeg` holds it whole.
fn segment_len(jpeg: &[u8], at: usize) -> Option<usize> {
    let len = u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]);
    let end = at + 2 + usize::from(len);
    (len >= 2 && end <= jpeg.len()).then_some(2 + usize::from(len))
}

/// `jpeg` with `icc` embedded as `APP2 ICC_PROFILE` segments (split when over 64 KB),
/// placed right after the SOI marker and any `APP0` (JFIF must come first), which is
/// where libjpeg's `jpeg_write_icc_profile` puts them. `None` when `jpeg` does not start
/// with SOI, its `APP0` is truncated, or `icc` is empty or needs more than 255 segments.
pub fn jpeg_with_icc(jpeg: &[u8], icc: &[u8]) -> Option<Vec<u8>> {
    if !jpeg.starts_with(&[0xff, 0xd8]) || icc.is_empty() {
        return None;
    }
    let count = u8::try_from(icc.len().div_ceil(ICC_CHUNK)).ok()?;
    let mut at = 2;
    while jpeg.get(at..at + 2) == Some(&[0xff, 0xe0]) {
        at += segment_len(jpeg, at)?;
    }
    let mut out = Vec::with_capacity(jpeg.len() + icc.len() + 18 * usize::from(count));
    out.extend_from_slice(&jpeg[..at]);
    for (seq, chunk) in (1..=count).zip(icc.chunks(ICC_CHUNK)) {
        out.extend_from_slice(&[0xff, 0xe2]);
        out.extend_from_slice(&((2 + 14 + chunk.len()) as u16).to_be_bytes());
        out.extend_from_slice(ICC_MARKER_ID);
        out.extend_from_slice(&[seq, count]);
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&jpeg[at..]);
    Some(out)
}

/// The ICC profile embedded in a JPEG's `APP2 ICC_PROFILE` segments (reassembled in
/// sequence order), read up to the start of scan. `None` when there is none or the
/// segments are inconsistent.
pub fn jpeg_icc_profile(jpeg: &[u8]) -> Option<Vec<u8>> {
    if !jpeg.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    let mut chunks: Vec<(u8, u8, &[u8])> = Vec::new();
    let mut at = 2;
    while let Some(&[0xff, marker]) = jpeg.get(at..at + 2) {
        if marker == 0xda || marker == 0xd9 {
            break; // start of scan, end of image
        }
        let len = segment_len(jpeg, at)?;
        let body = &jpeg[at + 4..at + len];
        if marker == 0xe2 && body.len() >= 14 && body.starts_with(ICC_MARKER_ID) {
            chunks.push((body[12], body[13], &body[14..]));
        }
        at += len;
    }
    chunks.sort_by_key(|&(seq, _, _)| seq);
    let count = chunks.first()?.1;
    let complete = chunks.len() == usize::from(count)
        && chunks
            .iter()
            .zip(1..)
            .all(|(&(seq, n, _), want)| seq == want && n == count);
    complete.then(|| chunks.iter().flat_map(|c| c.2).copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::{DISPLAY_P3, SRGB};

    /// The profile, which must encode.
    fn p3() -> &'static [u8] {
        display_p3().expect("the Display P3 profile encodes")
    }

    /// CIE xy of D65.
    const D65: (f64, f64) = (0.3127, 0.3290);

    /// The ICC profile connection space illuminant (D50) as the header and `wtpt` encode it.
    const PCS_D50_XYZ: [f64; 3] = [0.9642, 1.0, 0.8249];

    /// The sRGB curve as an ICC `para` type 3 function.
    const SRGB_CURVE: [f64; 5] = [2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045];

    fn xy_to_xyz((x, y): (f64, f64)) -> [f64; 3] {
        [x / y, 1.0, (1.0 - x - y) / y]
    }

    fn apply(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
        [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
    }

    #[test]
    fn the_profile_bytes_are_pinned() {
        // Regenerate deliberately (and re-run the Chromium colour specs) if this fails:
        // `display_p3.icc` is what every Display P3 image has carried.
        assert_eq!(
            p3(),
            include_bytes!("display_p3.icc"),
            "the profile bytes changed"
        );
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    fn s15f16_at(b: &[u8], at: usize) -> f64 {
        f64::from(u32_at(b, at) as i32) / 65536.0
    }

    /// The tag table: signature -> (offset, size).
    fn tags(profile: &[u8]) -> Vec<([u8; 4], usize, usize)> {
        (0..u32_at(profile, 128) as usize)
            .map(|i| {
                let at = 132 + 12 * i;
                let sig = [0, 1, 2, 3].map(|k| profile[at + k]);
                (
                    sig,
                    u32_at(profile, at + 4) as usize,
                    u32_at(profile, at + 8) as usize,
                )
            })
            .collect()
    }

    fn tag<'a>(profile: &'a [u8], sig: &[u8; 4]) -> &'a [u8] {
        let (_, offset, size) = tags(profile)
            .into_iter()
            .find(|t| &t.0 == sig)
            .unwrap_or_else(|| panic!("tag {}", String::from_utf8_lossy(sig)));
        &profile[offset..offset + size]
    }

    fn xyz(t: &[u8]) -> [f64; 3] {
        assert_eq!(&t[..4], b"XYZ ");
        [8, 12, 16].map(|at| s15f16_at(t, at))
    }

    #[test]
    fn the_display_p3_profile_is_well_formed() {
        let p = p3();
        assert_eq!(u32_at(p, 0) as usize, p.len(), "size field");
        assert!(p.len() < 1024, "compact: {} bytes", p.len());
        assert_eq!(p[8], 4, "ICC v4");
        assert_eq!(&p[12..24], b"mntrRGB XYZ ");
        assert_eq!(&p[36..40], b"acsp");
        assert_eq!(
            [68, 72, 76].map(|at| u32_at(p, at)),
            [0xf6d6, 0x1_0000, 0xd32d]
        );
        let all = tags(p);
        let sigs: Vec<&[u8]> = all.iter().map(|t| &t.0[..]).collect();
        for required in [
            b"desc", b"cprt", b"wtpt", b"chad", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC",
            b"bTRC",
        ] {
            assert!(sigs.contains(&&required[..]));
        }
        for (sig, offset, size) in &all {
            assert_eq!(offset % 4, 0, "{sig:?} aligned");
            assert!(offset + size <= p.len(), "{sig:?} inside the profile");
        }
        let desc = tag(p, b"desc");
        assert_eq!(&desc[..4], b"mluc");
        let text: Vec<u16> = desc[28..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(String::from_utf16_lossy(&text), "Display P3");
        for trc in [b"rTRC", b"gTRC", b"bTRC"] {
            let t = tag(p, trc);
            assert_eq!(&t[..12], b"para\0\0\0\0\0\x03\0\0", "function type 3");
            let params = [12, 16, 20, 24, 28].map(|at| s15f16_at(t, at));
            for (got, want) in params.iter().zip(SRGB_CURVE) {
                assert!((got - want).abs() < 1e-4, "{params:?}");
            }
        }
        assert_eq!(p3(), p, "built once");
        assert!(
            !sigs.contains(&&b"cicp"[..]),
            "no CICP tag (moxcms would say DCI-P3)"
        );
    }

    #[test]
    fn colorants_match_apples_display_p3_profile() {
        // rXYZ, gXYZ, bXYZ of macOS's "Display P3.icc" (ICC v4, Bradford-adapted D50).
        let apple = [
            [0.515_12, 0.241_18, -0.001_05],
            [0.291_97, 0.692_25, 0.041_88],
            [0.157_10, 0.066_58, 0.784_07],
        ];
        let p = p3();
        let mut white = [0.0; 3];
        for (sig, want) in [b"rXYZ", b"gXYZ", b"bXYZ"].into_iter().zip(apple) {
            let got = xyz(tag(p, sig));
            for i in 0..3 {
                assert!(
                    (got[i] - want[i]).abs() < 3e-4,
                    "{sig:?}: {got:?} vs {want:?}"
                );
                white[i] += got[i];
            }
        }
        // RGB (1, 1, 1) is the PCS white (moxcms adapts to its exact D50, whose Z is
        // 3e-4 above the ICC's rounded 0.8249: far below what a display shows).
        for (got, want) in white.iter().zip(PCS_D50_XYZ) {
            assert!((got - want).abs() < 5e-4, "{white:?}");
        }
        assert_eq!(
            xyz(tag(p, b"wtpt")),
            [0xf6d6, 0x1_0000, 0xd32d].map(|v| v as f64 / 65536.0)
        );
        // chad maps D65 to D50.
        let chad = tag(p, b"chad");
        let m = [0, 1, 2].map(|i| [0, 1, 2].map(|j| s15f16_at(chad, 8 + 4 * (3 * i + j))));
        let d50 = apply(&m, xy_to_xyz(D65));
        for (got, want) in d50.iter().zip(PCS_D50_XYZ) {
            assert!((got - want).abs() < 1e-3, "{d50:?}");
        }
    }

    #[test]
    fn only_display_p3_gets_a_profile() {
        assert_eq!(profile_for(SRGB), None);
        assert_eq!(profile_for(DISPLAY_P3), Some(p3()));
    }

    #[test]
    fn jpeg_segments_go_after_jfif_and_read_back() {
        let jfif = [
            0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        ];
        let rest = [0xff, 0xdb, 0, 3, 9, 0xff, 0xda, 0, 2, 0xff, 0xd9];
        let jpeg = [&[0xff, 0xd8][..], &jfif, &rest].concat();
        assert_eq!(jpeg_icc_profile(&jpeg), None);
        let out = jpeg_with_icc(&jpeg, p3()).expect("splice");
        assert_eq!(&out[..20], &jpeg[..20], "SOI and JFIF first");
        assert_eq!(&out[20..22], &[0xff, 0xe2]);
        assert_eq!(&out[24..38], b"ICC_PROFILE\0\x01\x01");
        assert!(out.ends_with(&rest));
        assert_eq!(out.len(), jpeg.len() + 18 + p3().len());
        assert_eq!(jpeg_icc_profile(&out).as_deref(), Some(p3()));

        // A profile over 64 KB takes several segments, reassembled in order.
        let big: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let out = jpeg_with_icc(&jpeg, &big).expect("splice");
        assert_eq!(out.len(), jpeg.len() + 3 * 18 + big.len());
        assert_eq!(jpeg_icc_profile(&out), Some(big));

        assert_eq!(jpeg_with_icc(b"\x89PNG", p3()), None, "not a JPEG");
        assert_eq!(jpeg_with_icc(&jpeg, &[]), None, "no profile");
        assert_eq!(
            jpeg_with_icc(&[0xff, 0xd8, 0xff, 0xe0, 0, 40], b"x"),
            None,
            "cut APP0"
        );
        let huge = vec![0u8; ICC_CHUNK * 256];
        assert_eq!(jpeg_with_icc(&jpeg, &huge), None, "over 255 segments");
    }

    #[test]
    fn incomplete_or_inconsistent_icc_segments_are_no_profile() {
        let segment = |seq: u8, count: u8, body: &[u8]| {
            let mut s = vec![0xff, 0xe2];
            s.extend(((2 + 14 + body.len()) as u16).to_be_bytes());
            s.extend(ICC_MARKER_ID);
            s.extend([seq, count]);
            s.extend(body);
            s
        };
        let soi = [0xffu8, 0xd8];
        let eoi = [0xffu8, 0xd9];
        let two = [&soi[..], &segment(2, 2, b"cd"), &segment(1, 2, b"ab"), &eoi].concat();
        assert_eq!(
            jpeg_icc_profile(&two).as_deref(),
            Some(&b"abcd"[..]),
            "reordered"
        );
        let missing = [&soi[..], &segment(1, 2, b"ab"), &eoi].concat();
        assert_eq!(jpeg_icc_profile(&missing), None);
        let cut = [&soi[..], &segment(1, 1, b"ab")[..6]].concat();
        assert_eq!(jpeg_icc_profile(&cut), None);
    }
}
