//! [`AvcSamples`]: Annex B access units from the encoder into MP4 samples as AVC, the one
//! conversion both layouts (`mux.rs`, `fmp4.rs`) share.
//!
//! A sample holds the access unit's NAL units, each prefixed by its 4-byte length. SPS and
//! PPS NAL units are taken out (they live in the `avc1` sample entry's `avcC`, built by
//! `shiguredo_mp4`'s `build_avc1_box`), and so are access unit delimiters (MP4 samples
//! delimit access units). An IDR whose parameter sets differ from the current ones starts
//! a new sample entry: a colour-tag change restarts the encoder, whose SPS then signals the
//! new primaries.

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
    scratch: Vec<u8>,
}

impl AvcSamples {
    /// Converts one Annex B access unit. `None` when it holds no picture data (parameter
    /// sets or delimiters alone). [`RecordError::Mux`] when no IDR with SPS and PPS came
    /// first.
    pub fn convert(
        &mut self,
        access_unit: &[u8],
        keyframe: bool,
    ) -> Result<Option<AvcSample<'_>>, RecordError> {
        let nals = nal_units(access_unit);
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
        self.scratch.clear();
        for nal in nals {
            if matches!(nal_type(nal), Some(NAL_SPS | NAL_PPS | NAL_AUD)) {
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
