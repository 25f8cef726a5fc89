//! [`Mp4Sink`]: the classic layout ([`super::Mp4Layout::Classic`]; the default is
//! `fmp4.rs`'s fragmented one). H.264 access units into an MP4 file (ISO BMFF), as AVC:
//! an `avc1` sample entry whose `avcC` holds the SPS and PPS, length-prefixed NAL units in
//! `mdat`, one duration per sample in `stts` (variable frame rate, see
//! [`super::timeline`]) and the IDR access units listed in `stss`.
//!
//! # Why `shiguredo_mp4`
//!
//! Candidates on crates.io, read at the versions current when this was written:
//! - `mp4` 0.14 (alfg/mp4-rust): writes `avcC`, `stts`, `stss`; no release since 2023,
//!   its `AvcCBox::new` indexes the SPS unchecked (a panic on a short one) and it brings
//!   `serde_json`, `num-rational` and a second `thiserror`.
//! - `muxide` 0.5: keeps every sample's bytes in memory until `finish()` (a long
//!   recording grows without bound) and is months old with one author.
//! - `mp4-atom` 0.17: typed boxes that encode and decode well, but the sample tables
//!   (`stts`, `stsz`, `stco`, `stss`, `stsc`) are left to the caller: a hand-written
//!   muxer on top of typed boxes.
//! - `shiguredo_mp4` 2026.5 (chosen): maintained by Shiguredo (WebRTC SFU vendor) with
//!   releases through 2026, no dependencies at all, Apache-2.0, and a sans-I/O
//!   `Mp4FileMuxer`: we write the sample bytes ourselves (so I/O errors are plain
//!   `io::Error`s and nothing is buffered in the library but ~16 bytes of metadata per
//!   sample), it builds `moov` with per-sample durations, `stss`, `co64` and a 64-bit
//!   `mdat` size, and its `build_avc1_box` derives `avcC` and the picture size from the
//!   SPS. Its MSRV (1.93) is above the workspace's declared 1.85, like `image` and `wide`
//!   already are.
//!
//! # Layout and what an interrupted file looks like
//!
//! `ftyp`, a `free` placeholder, `mdat` (samples appended as they come), then `moov`
//! written by [`Mp4Sink::finish`] at the end of the file (not fast-start: the sample count
//! is unknown in advance). Until `finish` runs the file has no `moov` and players refuse
//! it; see [`super::Recorder`] for when `finish` runs.
//!
//! Samples come from [`AvcSamples`] (`record/avc.rs`, shared with the fragmented layout):
//! SPS and PPS live in `avcC`, and an IDR with new parameter sets starts a new sample entry.

use std::io::{Seek, SeekFrom, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use shiguredo_mp4::boxes::SampleEntry;
use shiguredo_mp4::mux::{Mp4FileMuxer, Mp4FileMuxerOptions, Sample};
use shiguredo_mp4::TrackKind;

use super::avc::{mux_error, AvcSamples};
use super::timeline::{Timeline, TIMESCALE};
use super::RecordError;

/// What [`Mp4Sink::finish`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkSummary {
    /// Samples in the file.
    pub samples: u64,
    /// Sum of the sample durations.
    pub duration: Duration,
    /// File size in bytes.
    pub bytes: u64,
}

/// A sample whose bytes are written and whose duration is not known yet.
#[derive(Debug)]
struct Pending {
    offset: u64,
    size: usize,
    keyframe: bool,
    entry: Option<SampleEntry>,
}

/// Writes one H.264 track into `out`; see the module docs.
#[derive(Debug)]
pub struct Mp4Sink<W: Write + Seek> {
    out: W,
    path: PathBuf,
    muxer: Mp4FileMuxer,
    timeline: Timeline,
    avc: AvcSamples,
    pending: Option<Pending>,
    position: u64,
    samples: u64,
}

impl<W: Write + Seek> Mp4Sink<W> {
    /// Writes the file header into `out` (named `path` in errors). `record_start_us` and
    /// `fps_hint` set up the [`Timeline`].
    pub fn start(
        mut out: W,
        path: &Path,
        record_start_us: u64,
        fps_hint: f32,
    ) -> Result<Mp4Sink<W>, RecordError> {
        let creation = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let muxer = Mp4FileMuxer::with_options(Mp4FileMuxerOptions {
            creation_timestamp: Duration::from_secs(creation.as_secs()),
            ..Mp4FileMuxerOptions::default()
        })
        .map_err(mux_error)?;
        let head = muxer.initial_boxes_bytes();
        let write = |e| RecordError::Write {
            path: path.to_path_buf(),
            source: e,
        };
        out.write_all(head).map_err(write)?;
        out.flush().map_err(write)?;
        Ok(Mp4Sink {
            position: head.len() as u64,
            out,
            path: path.to_path_buf(),
            muxer,
            timeline: Timeline::new(record_start_us, fps_hint),
            avc: AvcSamples::default(),
            pending: None,
            samples: 0,
        })
    }

    fn write_error(&self, source: std::io::Error) -> RecordError {
        RecordError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends an Annex B access unit published at `timestamp_us` (display clock). The
    /// first one must be an IDR carrying SPS and PPS.
    pub fn write(
        &mut self,
        access_unit: &[u8],
        keyframe: bool,
        timestamp_us: u64,
    ) -> Result<(), RecordError> {
        let Some(sample) = self.avc.convert(access_unit, keyframe)? else {
            return Ok(());
        };
        let (size, new_entry) = (sample.data.len(), sample.entry);
        if let Err(e) = self.out.write_all(sample.data) {
            return Err(self.write_error(e));
        }
        let offset = self.position;
        self.position += size as u64;
        if let Some(duration) = self.timeline.place(timestamp_us) {
            self.append_pending(duration)?;
        }
        self.pending = Some(Pending {
            offset,
            size,
            keyframe,
            entry: new_entry,
        });
        Ok(())
    }

    fn append_pending(&mut self, duration: u32) -> Result<(), RecordError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let timescale = NonZeroU32::new(TIMESCALE).ok_or_else(|| mux_error("zero timescale"))?;
        self.muxer
            .append_sample(&Sample {
                track_kind: TrackKind::Video,
                sample_entry: pending.entry,
                keyframe: pending.keyframe,
                timescale,
                duration,
                composition_time_offset: None,
                data_offset: pending.offset,
                data_size: pending.size,
            })
            .map_err(mux_error)?;
        self.samples += 1;
        Ok(())
    }

    /// Gives the last sample its duration (see [`Timeline::finish`]), writes `moov` and
    /// the final `mdat` size, and flushes. Returns the writer (to sync a file) and what
    /// was written. [`RecordError::NoFrames`] when no sample was written.
    pub fn finish(mut self, stop_us: u64) -> Result<(W, SinkSummary), RecordError> {
        let duration = self
            .timeline
            .finish(stop_us)
            .ok_or_else(|| RecordError::NoFrames {
                path: self.path.clone(),
            })?;
        self.append_pending(duration)?;
        let finalized = self.muxer.finalize().map_err(mux_error)?;
        let mut io = || -> std::io::Result<u64> {
            for (offset, bytes) in finalized.offset_and_bytes_pairs() {
                self.out.seek(SeekFrom::Start(offset))?;
                self.out.write_all(bytes)?;
            }
            self.out.flush()?;
            self.out.seek(SeekFrom::End(0))
        };
        let bytes = match io() {
            Ok(bytes) => bytes,
            Err(e) => return Err(self.write_error(e)),
        };
        let ticks = self.timeline.elapsed_ticks();
        let summary = SinkSummary {
            samples: self.samples,
            duration: Duration::from_micros(ticks * 1_000_000 / u64::from(TIMESCALE)),
            bytes,
        };
        Ok((self.out, summary))
    }
}

#[cfg(test)]
#[path = "mux_tests.rs"]
mod tests;
