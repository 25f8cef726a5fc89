//! What the `openh264` crate does not expose, set through its raw API: temporal layers and
//! the number of slices per picture.
//!
//! The crate initialises openh264 on the first `encode` call with one temporal layer and
//! one slice, hard-coded. [`restructure`] changes both afterwards: it reads the encoder's
//! parameters (`GetOption(ENCODER_OPTION_SVC_ENCODE_PARAM_EXT)`), sets
//! `iTemporalLayerNum` and the first spatial layer's slice mode, and writes them back
//! (`SetOption`), which makes openh264 rebuild its context: the next access unit is an IDR
//! with new parameter sets. [`super::OpenH264Encoder`] does this once, right after it
//! primed a fresh encoder with one flat picture, so no access unit of the old structure
//! ever leaves it.
//!
//! With two temporal layers openh264 codes pictures T0, T1, T0, T1... (a GOP of 2): a T0
//! picture references the previous T0 only, a T1 picture references the previous T0 and
//! is itself never referenced (its slices carry `nal_ref_idc = 0`, and `frame_num` does
//! not advance after it). A viewer may therefore skip any T1 access unit and still decode
//! everything after it. No prefix NAL units are written (they belong to SVC streams with
//! more than one spatial layer), so the stream stays plain constrained-baseline H.264.
//! The temporal id of each access unit comes from openh264's bitstream info
//! ([`temporal_id`]).

// The one place in the server that needs `unsafe`: openh264's option calls take raw
// pointers. Each block says why it is sound.
#![allow(unsafe_code)]

use openh264::encoder::{EncodedBitStream, Encoder};
use openh264_sys2::{
    SEncParamExt, AUTO_REF_PIC_COUNT, ENCODER_OPTION_SVC_ENCODE_PARAM_EXT, SM_FIXEDSLCNUM_SLICE,
    SM_SINGLE_SLICE, VIDEO_CODING_LAYER,
};

/// The most temporal layers `restructure` sets (openh264 takes up to 4; rfb uses 2).
pub const MAX_TEMPORAL_LAYERS: u8 = 4;

/// The most slices per picture `restructure` sets (openh264's limit for a fixed count
/// is 35; more than one per core buys nothing).
pub const MAX_SLICES: u16 = 32;

/// Changes an initialised encoder (one that encoded at least one frame) to
/// `temporal_layers` temporal layers and `slices` slices per picture. The next access
/// unit is an IDR. An error says which call openh264 refused.
pub(super) fn restructure(
    encoder: &mut Encoder,
    temporal_layers: u8,
    slices: u16,
) -> Result<(), String> {
    if !(1..=MAX_TEMPORAL_LAYERS).contains(&temporal_layers) {
        return Err(format!(
            "temporal layers must be 1..={MAX_TEMPORAL_LAYERS}, got {temporal_layers}"
        ));
    }
    if !(1..=MAX_SLICES).contains(&slices) {
        return Err(format!("slices must be 1..={MAX_SLICES}, got {slices}"));
    }
    let mut params = SEncParamExt::default();
    // SAFETY: `raw_api` only hands out the encoder's function table; we change no state the
    // crate relies on except through the documented option below, which the crate itself
    // uses on a resize. GetOption copies `sizeof(SEncParamExt)` bytes into `params`, a
    // valid, aligned `SEncParamExt` that outlives the call; it fails cleanly (non-zero
    // return) on an encoder that was never initialised.
    let got = unsafe {
        encoder.raw_api().get_option(
            ENCODER_OPTION_SVC_ENCODE_PARAM_EXT,
            (&raw mut params).cast(),
        )
    };
    if got != 0 {
        return Err(format!(
            "openh264 GetOption(SVC_ENCODE_PARAM_EXT) failed ({got})"
        ));
    }
    params.iTemporalLayerNum = i32::from(temporal_layers);
    // Let openh264 size the reference list for the new GOP structure.
    params.iNumRefFrame = AUTO_REF_PIC_COUNT;
    let slice = &mut params.sSpatialLayers[0].sSliceArgument;
    if slices > 1 {
        slice.uiSliceMode = SM_FIXEDSLCNUM_SLICE;
        slice.uiSliceNum = u32::from(slices);
    } else {
        slice.uiSliceMode = SM_SINGLE_SLICE;
        slice.uiSliceNum = 1;
    }
    // SAFETY: as above; SetOption reads `sizeof(SEncParamExt)` bytes from `params`, which
    // is fully initialised (read back from the encoder, then edited field by field), and
    // validates every value before it rebuilds its context.
    let set = unsafe {
        encoder.raw_api().set_option(
            ENCODER_OPTION_SVC_ENCODE_PARAM_EXT,
            (&raw mut params).cast(),
        )
    };
    if set != 0 {
        return Err(format!(
            "openh264 refused {temporal_layers} temporal layers and {slices} slices ({set})"
        ));
    }
    Ok(())
}

/// The temporal id of an encoded access unit: that of its video coding layer (0 for the
/// base layer; parameter sets carry none).
pub(super) fn temporal_id(stream: &EncodedBitStream<'_>) -> u8 {
    (0..stream.num_layers())
        .filter_map(|i| stream.layer(i))
        .map(|layer| layer.raw_info())
        .filter(|info| i32::from(info.uiLayerType) == VIDEO_CODING_LAYER)
        .map(|info| info.uiTemporalId)
        .max()
        .unwrap_or(0)
}

/// A flat mid-grey I420 picture, what [`prime`] encodes.
struct Grey {
    width: usize,
    height: usize,
    luma: Vec<u8>,
    chroma: Vec<u8>,
}

impl openh264::formats::YUVSource for Grey {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let c = self.width.div_ceil(2);
        (self.width, c, c)
    }

    fn y(&self) -> &[u8] {
        &self.luma
    }

    fn u(&self) -> &[u8] {
        &self.chroma
    }

    fn v(&self) -> &[u8] {
        &self.chroma
    }
}

/// Makes the crate initialise a fresh encoder for `width` x `height` by encoding one flat
/// picture (whose access unit is thrown away), so that [`restructure`] can change it
/// before the first real frame. A flat picture costs a fraction of a real IDR (measured
/// in `config()`'s docs in [`super`]).
pub(super) fn prime(encoder: &mut Encoder, width: u32, height: u32) -> Result<(), String> {
    let (w, h) = (width as usize, height as usize);
    let grey = Grey {
        width: w,
        height: h,
        luma: vec![128; w * h],
        chroma: vec![128; w.div_ceil(2) * h.div_ceil(2)],
    };
    encoder
        .encode(&grey)
        .map(|_| ())
        .map_err(|e| format!("openh264 could not encode the priming picture: {e}"))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{card, decode, one, pixel, spec};
    use super::super::OpenH264Encoder;
    use crate::encode::{sps, EncodedPayload, Encoder, EncoderSpec, H264Tuning};
    use openh264::decoder::Decoder;
    use rfb_protocol::{expected_quadrant_color, BT601_LIMITED};

    const W: u32 = 320;
    const H: u32 = 240;

    /// True when every quadrant centre of a decoded picture shows test card `seq`.
    fn shows_card(rgb: &[u8], seq: u64) -> bool {
        let centres = [
            (W / 4, H / 4),
            (3 * W / 4, H / 4),
            (W / 4, 3 * H / 4),
            (3 * W / 4, 3 * H / 4),
        ];
        centres.into_iter().enumerate().all(|(q, (x, y))| {
            let got = pixel(rgb, W, x, y);
            got.iter()
                .zip(expected_quadrant_color(seq, q as u8))
                .all(|(g, e)| g.abs_diff(e) <= 6)
        })
    }

    fn encode_all(spec: &EncoderSpec, frames: u64, force: &[u64]) -> Vec<EncodedPayload> {
        let mut encoder = OpenH264Encoder::new(spec).expect("encoder");
        (0..frames)
            .map(|seq| {
                one(encoder
                    .encode(&card(seq, W, H), force.contains(&seq))
                    .expect("encode"))
            })
            .collect()
    }

    #[test]
    fn two_layers_alternate_and_layer_1_is_never_referenced() {
        let spec = EncoderSpec {
            temporal_layers: 2,
            keyframe_interval: 10,
            ..spec(W, H)
        };
        let aus = encode_all(&spec, 26, &[7]);
        let keyframes: Vec<usize> = (0..aus.len()).filter(|&i| aus[i].keyframe).collect();
        assert_eq!(
            keyframes,
            [0, 7, 17],
            "the IDR schedule is the one-layer one"
        );
        let mut since_idr = 0;
        for (seq, au) in aus.iter().enumerate() {
            if au.keyframe {
                since_idr = 0;
                assert!(sps::has_sps_pps_idr(&au.data), "IDR {seq} starts a stream");
            }
            assert_eq!(
                au.layer,
                since_idr % 2,
                "frame {seq}: T0, T1, T0... counted from each IDR"
            );
            assert_eq!(
                sps::is_reference(&au.data),
                au.layer == 0,
                "frame {seq}: exactly the base layer is referenced"
            );
            since_idr += 1;
        }
        // A viewer that skips every layer-1 access unit still decodes every other one to
        // the right picture, and so does one that takes them all.
        let mut base_only = Decoder::new().expect("decoder");
        let mut all = Decoder::new().expect("decoder");
        for (seq, au) in aus.iter().enumerate() {
            let (_, _, rgb) = decode(&mut all, &au.data, BT601_LIMITED);
            assert!(shows_card(&rgb, seq as u64), "all: frame {seq}");
            if au.layer == 0 {
                let (_, _, rgb) = decode(&mut base_only, &au.data, BT601_LIMITED);
                assert!(shows_card(&rgb, seq as u64), "base only: frame {seq}");
            }
        }
    }

    #[test]
    fn one_layer_keeps_every_access_unit_a_reference() {
        for au in encode_all(&spec(W, H), 6, &[]) {
            assert_eq!(au.layer, 0);
            assert!(sps::is_reference(&au.data));
        }
    }

    #[test]
    fn slices_split_each_picture_and_decode() {
        let tuning: H264Tuning = "camera/low/3".parse().expect("tuning");
        let spec = EncoderSpec {
            tuning: Some(tuning),
            temporal_layers: 2,
            ..spec(W, H)
        };
        let mut decoder = Decoder::new().expect("decoder");
        for (seq, au) in encode_all(&spec, 4, &[]).iter().enumerate() {
            let slices = sps::nal_types(&au.data)
                .into_iter()
                .filter(|t| matches!(*t, sps::NAL_SLICE | sps::NAL_IDR))
                .count();
            assert_eq!(slices, 3, "frame {seq}: {:?}", sps::nal_types(&au.data));
            let (_, _, rgb) = decode(&mut decoder, &au.data, BT601_LIMITED);
            assert!(shows_card(&rgb, seq as u64), "frame {seq}");
        }
    }

    #[test]
    fn bad_layer_counts_are_configuration_errors() {
        for layers in [0, super::MAX_TEMPORAL_LAYERS + 1] {
            let err = OpenH264Encoder::new(&EncoderSpec {
                temporal_layers: layers,
                ..spec(W, H)
            })
            .expect_err("refused");
            assert!(err.to_string().contains("temporal layers"), "{err}");
        }
    }
}
