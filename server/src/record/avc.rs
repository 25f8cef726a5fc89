//! [`AvcSamples`]: Annex B access units from the encoder into MP4 samples as AVC, the one
//! conversion both layouts (`mux.rs`, `fmp4.rs`) share.
//!
//! A sample holds the access unit's NAL units, each prefixed by its 4-byte length. SPS and
//! PPS NAL units are taken out (they live in the `avc1` sample entry's `avcC`, built by
//! `shiguredo_mp4`'s `build_avc1_box`), and so are access unit delimiters (MP4 samples
//! delimit access units). An IDR whose parameter sets differ from the current ones starts
//! a new sample entry: a colour-tag change restarts the encoder, whose SPS then signals the
//! new primaries.
//!
//! With [`AvcSamples::in_band_on_change`] (the fragmented layout), that IDR also keeps its
//! SPS and PPS in the sample, identical to the new entry's `avcC`: ffmpeg 5.1 does not
//! switch decoder configuration on a fragment's `tfhd` sample description index, so
//! without them it would keep decoding with the first entry's SPS and report the old
//! colour primaries (the pixels are the same either way; `server/tests/suite/color.rs` checks
//! the primaries).

use shiguredo_mp4::bitstream::h264::{build_avc1_box, H264SampleEntryConfig, LengthSize};
use shiguredo_mp4::boxes::{Avc1Box, SampleEntry};

use super::RecordError;
use crate::encode::sps::{nal_type, nal_units, NAL_PPS, NAL_SPS};

/// NAL type of an access unit delimiter (dropped: MP4 samples delimit access units).
const NAL_AUD: u8 = 9;

/// An MP4 error from `shiguredo_mp4`, as a [`RecordError::Mux`].
pub fn mux_error(err: impl std::fmt::Display) -> RecordError {
    RecordError::Mux(err.to_string())
}

/// One access unit as an MP4 sample.
#[derive(Debug)]
pub struct AvcSample<'a> {
    /// Length-prefixed NAL units (never empty).
    pub data: &'a [u8],
    /// A new sample entry starts with this sample (the first sample, or new parameter sets).
    pub entry: Option<SampleEntry>,
}

/// Turns access units into samples; remembers the current sample entry.
#[derive(Debug, Default)]
pub struct AvcSamples {
    entry: Option<Avc1Box>,
    in_band_on_change: bool,
    scratch: Vec<u8>,
}

impl AvcSamples {
    /// Samples that keep their SPS and PPS when they start a sample entry other than the
    /// first (see the module docs).
    pub fn in_band_on_change() -> AvcSamples {
        AvcSamples {
            in_band_on_change: true,
            ..AvcSamples::default()
        }
    }

    /// Converts one Annex B access unit. `None` when it holds no picture data (parameter
    /// sets or delimiters alone). [`RecordError::Mux`] when no IDR with SPS and PPS came
    /// first.
    pub fn convert(
        &mut self,
        access_unit: &[u8],
        keyframe: bool,
    ) -> Result<Option<AvcSample<'_>>, RecordError> {
        let nals = nal_units(access_unit);
        let first = self.entry.is_none();
        let entry = if keyframe {
            self.update_entry(&nals)?
        } else {
            None
        };
        if self.entry.is_none() {
            return Err(RecordError::Mux(
                "the first access unit is not an IDR with SPS and PPS".to_string(),
            ));
        }
        let in_band = self.in_band_on_change && entry.is_some() && !first;
        self.scratch.clear();
        for nal in nals {
            let parameter_set = matches!(nal_type(nal), Some(NAL_SPS | NAL_PPS));
            if nal_type(nal) == Some(NAL_AUD) || (parameter_set && !in_band) {
                continue;
            }
            let len = u32::try_from(nal.len()).map_err(mux_error)?;
            self.scratch.extend_from_slice(&len.to_be_bytes());
            self.scratch.extend_from_slice(nal);
        }
        if self.scratch.is_empty() {
            return Ok(None);
        }
        Ok(Some(AvcSample {
            data: &self.scratch,
            entry,
        }))
    }

    /// Builds the sample entry from an IDR's parameter sets; `Some` when it changed.
    fn update_entry(&mut self, nals: &[&[u8]]) -> Result<Option<SampleEntry>, RecordError> {
        let of_type = |t: u8| -> Vec<Vec<u8>> {
            nals.iter()
                .filter(|n| nal_type(n) == Some(t))
                .map(|n| n.to_vec())
                .collect()
        };
        let (sps, pps) = (of_type(NAL_SPS), of_type(NAL_PPS));
        if sps.is_empty() || pps.is_empty() {
            return Ok(None);
        }
        let config = H264SampleEntryConfig {
            length_size: LengthSize::FourBytes,
        };
        let avc1 = build_avc1_box(&sps, &pps, &config).map_err(mux_error)?;
        if self.entry.as_ref() == Some(&avc1) {
            return Ok(None);
        }
        self.entry = Some(avc1.clone());
        Ok(Some(SampleEntry::Avc1(avc1)))
    }
}
