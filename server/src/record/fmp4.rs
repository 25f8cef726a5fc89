//! [`Fmp4Sink`]: the fragmented layout (the default). H.264 access units into a fragmented
//! MP4 file that is playable at every moment of the recording, not only once finished.
//!
//! # Layout
//!
//! ```text
//! [ftyp][moov (mvex)][free] | [moof][mdat] [moof][mdat] ... | [mfra]
//!  \___ first 4096 bytes __/   one pair per fragment (<= 1 s)   on finish
//! ```
//!
//! - The first [`HEADER_BYTES`] (one page) hold the init segment, `ftyp` + `moov` with an
//!   `mvex` and the `avc1` sample entries, padded with a `free` box. It is first written
//!   with the first fragment (the sample entry comes from the first IDR's SPS and PPS),
//!   then rewritten whole, in one write within that page, before a fragment that brings a
//!   new sample entry (a colour-tag change) and after each fragment or extension, with the
//!   duration written so far in `mehd` (the spec's place for a fragmented file's duration)
//!   and in `mvhd`, `tkhd` and `mdhd` (players read those: Chromium's `<video>` takes
//!   `mdhd`'s and otherwise reports the first fragment's length). The fragment is written
//!   first, so the header never claims media the file does not hold yet. A page-sized
//!   write cannot be torn by the process dying, so the header is one version or the next.
//! - Each fragment is a `moof` + `mdat` pair built by `shiguredo_mp4`'s
//!   [`Fmp4SegmentMuxer`] (`tfdt` decode time, one `trun` with each sample's duration,
//!   size and sync flag) and written in one `write` as soon as it closes; [`Fragmenter`]
//!   decides when (at most 1 s of publishes; after ~1 s of wall time when the stream is
//!   still). The sample bytes of the open fragment wait in memory until then (at most
//!   [`super::fragmenter::MAX_FRAGMENT_BYTES`]).
//! - The frame still on screen when a fragment closed by wall time has a provisional
//!   duration; [`Step::Extend`] rewrites it in place: the muxer's state from before that
//!   fragment builds it again with the new duration (same size: only a fixed-width field
//!   changes), and only the changed bytes (the 4-byte duration) are written. The next
//!   fragment's `tfdt` then follows from the muxer's state, so decode times stay the sum of
//!   the durations before them.
//! - [`Fmp4Sink::finish`] writes the last fragment, the header with the total duration and
//!   an `mfra` index listing every IDR (time, `moof` offset, sample number) so players seek
//!   without reading every `moof`.
//! - Durability: every fragment reaches the OS as soon as it closes, so a process killed
//!   (SIGKILL, a crash, an abort) loses at most the open fragment, about the last second;
//!   `sync_data` runs at most every [`SYNC_EVERY`] after a write (and on finish), which
//!   bounds what a power cut loses without a disk flush per second.
//! - Memory: the open fragment's sample bytes, the last fragment's header and sample list
//!   (for a rewrite), and per fragment one ~24-byte `tfra` entry in the muxer plus one per
//!   IDR here: about 100 KB per hour of recording, the only part that grows.

use std::fs::File;
use std::io::{Cursor, Seek, SeekFrom, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use shiguredo_mp4::boxes::{
    Brand, FreeBox, FtypBox, MehdBox, MfraBox, MfroBox, MoovBox, SampleEntry, TfraBox, TfraEntry,
};
use shiguredo_mp4::mux::{Fmp4SegmentMuxer, Sample, SegmentMuxerOptions};
use shiguredo_mp4::{Decode, Encode, TrackKind};

use super::avc::{mux_error, AvcSamples};
use super::fragmenter::{Fragmenter, Step, Timed};
use super::mux::SinkSummary;
use super::timeline::{Timeline, TIMESCALE};
use super::RecordError;

/// Bytes at the start of the file for `ftyp` + `moov` + `free`: one page, so a rewrite is
/// one untearable write. One sample entry takes ~800 bytes of it, each more ~150.
pub const HEADER_BYTES: usize = 4096;

/// `sync_data` at most this often (after a write).
pub const SYNC_EVERY: Duration = Duration::from_secs(2);

/// The muxer numbers tracks from 1 in the order it sees them; there is only video.
const TRACK_ID: u32 = 1;

/// A file the sink can make durable.
pub trait SyncData {
    /// Makes what was written durable (`fsync`'s data part for a file).
    fn sync_data(&mut self) -> std::io::Result<()>;
}

impl SyncData for File {
    fn sync_data(&mut self) -> std::io::Result<()> {
        File::sync_data(self)
    }
}

impl SyncData for Cursor<Vec<u8>> {
    fn sync_data(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the fragmenter carries per sample (its bytes wait in `payload`).
#[derive(Debug)]
struct Meta {
    size: usize,
    keyframe: bool,
    entry: Option<SampleEntry>,
}

/// The fragment written last, kept so its last duration can be rewritten.
#[derive(Debug)]
struct Written {
    /// File offset of its `moof`.
    offset: u64,
    /// Its `moof` + `mdat` header as written.
    head: Vec<u8>,
    samples: Vec<Sample>,
    /// The muxer as it was before this fragment.
    before: Fmp4SegmentMuxer,
}

/// Writes one H.264 track as fragmented MP4 into `out`; see the module docs.
#[derive(Debug)]
pub struct Fmp4Sink<W: Write + Seek + SyncData> {
    out: W,
    path: PathBuf,
    avc: AvcSamples,
    fragmenter: Fragmenter<Meta>,
    /// Sample bytes of the open fragment, then of the newest frame.
    payload: Vec<u8>,
    muxer: Fmp4SegmentMuxer,
    /// The init segment in the header region, durations included (`None`: still the
    /// placeholder).
    header: Option<Vec<u8>>,
    last: Option<Written>,
    /// File size: where the next fragment goes.
    end: u64,
    /// Decode time (ticks) of the next fragment.
    decode_ticks: u64,
    /// One `tfra` entry per IDR.
    random_access: Vec<TfraEntry>,
    samples: u64,
    synced: Instant,
    /// A write failed: the file ends in an unknown state, nothing more is written.
    broken: bool,
}

impl<W: Write + Seek + SyncData> Fmp4Sink<W> {
    /// Writes the header region (a placeholder `ftyp` and `free`) into `out` (named `path`
    /// in errors). `record_start_us` and `fps_hint` set up the [`Timeline`].
    pub fn start(
        out: W,
        path: &Path,
        record_start_us: u64,
        fps_hint: f32,
    ) -> Result<Fmp4Sink<W>, RecordError> {
        let creation = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let muxer = Fmp4SegmentMuxer::with_options(SegmentMuxerOptions {
            creation_timestamp: Duration::from_secs(creation.as_secs()),
            ..SegmentMuxerOptions::default()
        })
        .map_err(mux_error)?;
        let mut sink = Fmp4Sink {
            out,
            path: path.to_path_buf(),
            avc: AvcSamples::in_band_on_change(),
            fragmenter: Fragmenter::new(Timeline::new(record_start_us, fps_hint)),
            payload: Vec::new(),
            muxer,
            header: None,
            last: None,
            end: HEADER_BYTES as u64,
            decode_ticks: 0,
            random_access: Vec::new(),
            samples: 0,
            synced: Instant::now(),
            broken: false,
        };
        // What the muxer writes for H.264 (it cannot build its own before a sample).
        let ftyp = FtypBox {
            major_brand: Brand::ISO5,
            minor_version: 0,
            compatible_brands: vec![
                Brand::ISOM,
                Brand::ISO5,
                Brand::ISO6,
                Brand::MP41,
                Brand::AVC1,
            ],
        };
        let placeholder = header_region(&ftyp.encode_to_vec().map_err(mux_error)?)?;
        sink.write_at(0, &placeholder)?;
        Ok(sink)
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
        let meta = Meta {
            size: sample.data.len(),
            keyframe,
            entry: sample.entry,
        };
        // After the open fragment's bytes: a fragment closed by this frame drains its own.
        self.payload.extend_from_slice(sample.data);
        let (size, new_entry) = (meta.size, meta.entry.is_some());
        for step in self.fragmenter.push(timestamp_us, size, new_entry, meta) {
            self.apply(step)?;
        }
        Ok(())
    }

    /// When [`Fmp4Sink::tick`] next has something to do (display clock, µs).
    pub fn deadline_us(&self) -> Option<u64> {
        self.fragmenter.deadline_us()
    }

    /// The clock reads `now_us` (display clock): closes a fragment by wall time or extends
    /// the frame on screen when due.
    pub fn tick(&mut self, now_us: u64) -> Result<(), RecordError> {
        match self.fragmenter.tick(now_us) {
            Some(step) => self.apply(step),
            None => Ok(()),
        }
    }

    /// Writes the last fragment (its last sample lasting until `stop_us`, at least one
    /// period), the total duration and the `mfra` index, and syncs. Returns the writer and
    /// what was written. [`RecordError::NoFrames`] when no sample was written.
    pub fn finish(mut self, stop_us: u64) -> Result<(W, SinkSummary), RecordError> {
        if self.broken {
            return Err(RecordError::Mux(
                "an earlier write failed; the file ends with what was written before it".into(),
            ));
        }
        if let Some(step) = self.fragmenter.finish(stop_us) {
            self.apply(step)?;
        }
        if self.samples == 0 {
            return Err(RecordError::NoFrames {
                path: self.path.clone(),
            });
        }
        let ticks = self.fragmenter.timeline().elapsed_ticks();
        self.update_header()?;
        let mfra = mfra(&self.random_access)?;
        self.write_at(self.end, &mfra)?;
        self.end += mfra.len() as u64;
        if let Err(e) = self.out.flush().and_then(|()| self.out.sync_data()) {
            return Err(self.write_error(e));
        }
        let summary = SinkSummary {
            samples: self.samples,
            duration: Duration::from_micros(ticks * 1_000_000 / u64::from(TIMESCALE)),
            bytes: self.end,
        };
        Ok((self.out, summary))
    }

    fn apply(&mut self, step: Step<Meta>) -> Result<(), RecordError> {
        match step {
            Step::Fragment { samples, .. } => self.write_fragment(samples),
            Step::Extend { duration } => self.extend(duration),
        }
    }

    fn write_fragment(&mut self, timed: Vec<Timed<Meta>>) -> Result<(), RecordError> {
        let timescale = NonZeroU32::new(TIMESCALE).ok_or_else(|| mux_error("zero timescale"))?;
        let mut offset = 0;
        let samples: Vec<Sample> = timed
            .into_iter()
            .map(|t| {
                let sample = Sample {
                    track_kind: TrackKind::Video,
                    sample_entry: t.sample.entry,
                    keyframe: t.sample.keyframe,
                    timescale,
                    duration: t.duration,
                    composition_time_offset: None,
                    data_offset: offset as u64,
                    data_size: t.sample.size,
                };
                offset += t.sample.size;
                sample
            })
            .collect();
        if offset > self.payload.len() {
            return Err(mux_error(
                "the fragment's samples outgrew the buffered bytes",
            ));
        }
        let before = self.muxer.clone();
        let head = self
            .muxer
            .create_media_segment_metadata(&samples)
            .map_err(mux_error)?;
        // A new sample entry must be in `moov` before a fragment refers to it (the duration
        // is still the one before this fragment).
        self.update_header()?;
        let mut bytes = Vec::with_capacity(head.len() + offset);
        bytes.extend_from_slice(&head);
        bytes.extend(self.payload.drain(..offset));
        let at = self.end;
        self.write_at(at, &bytes)?;
        let mut time = self.decode_ticks;
        for (i, sample) in samples.iter().enumerate() {
            if sample.keyframe {
                self.random_access.push(TfraEntry {
                    time,
                    moof_offset: at,
                    traf_number: 1,
                    trun_number: 1,
                    sample_number: u32::try_from(i + 1).map_err(mux_error)?,
                });
            }
            time += u64::from(sample.duration);
        }
        self.decode_ticks = time;
        self.end += bytes.len() as u64;
        self.samples += samples.len() as u64;
        self.last = Some(Written {
            offset: at,
            head,
            samples,
            before,
        });
        self.update_header()?;
        self.sync_if_due()
    }

    /// Gives the last written sample a new duration, rewriting its bytes in place.
    fn extend(&mut self, duration: u32) -> Result<(), RecordError> {
        let mut last = self
            .last
            .take()
            .ok_or_else(|| mux_error("no written sample to extend"))?;
        let sample = last
            .samples
            .last_mut()
            .ok_or_else(|| mux_error("an empty fragment"))?;
        let old = sample.duration;
        sample.duration = duration;
        let mut muxer = last.before.clone();
        let head = muxer
            .create_media_segment_metadata(&last.samples)
            .map_err(mux_error)?;
        if head.len() != last.head.len() {
            return Err(mux_error("a rewritten fragment header changed size"));
        }
        let changed = head.iter().zip(&last.head).position(|(a, b)| a != b);
        let until = head.iter().zip(&last.head).rposition(|(a, b)| a != b);
        if let (Some(from), Some(until)) = (changed, until) {
            self.write_at(last.offset + from as u64, &head[from..=until])?;
        }
        self.decode_ticks = self.decode_ticks - u64::from(old) + u64::from(duration);
        self.muxer = muxer;
        last.head = head;
        self.last = Some(last);
        self.update_header()?;
        self.sync_if_due()
    }

    /// Rewrites the header region when the init segment changed: the sample entries the
    /// muxer has seen, or the duration of what is written (`decode_ticks`).
    fn update_header(&mut self) -> Result<(), RecordError> {
        let init = self.muxer.init_segment_bytes().map_err(mux_error)?;
        let init = with_duration(&init, self.decode_ticks)?;
        if self.header.as_ref() == Some(&init) {
            return Ok(());
        }
        let region = header_region(&init)?;
        self.write_at(0, &region)?;
        self.header = Some(init);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), RecordError> {
        if self.broken {
            return Err(mux_error("an earlier write failed"));
        }
        let io = |out: &mut W| -> std::io::Result<()> {
            out.seek(SeekFrom::Start(offset))?;
            out.write_all(bytes)?;
            out.flush()
        };
        io(&mut self.out).map_err(|e| {
            self.broken = true;
            self.write_error(e)
        })
    }

    fn sync_if_due(&mut self) -> Result<(), RecordError> {
        if self.synced.elapsed() < SYNC_EVERY {
            return Ok(());
        }
        self.synced = Instant::now();
        self.out.sync_data().map_err(|e| self.write_error(e))
    }

    fn write_error(&self, source: std::io::Error) -> RecordError {
        RecordError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

/// `init` (`ftyp` + `moov`) padded with a `free` box to [`HEADER_BYTES`].
fn header_region(init: &[u8]) -> Result<Vec<u8>, RecordError> {
    const FREE_HEADER: usize = 8;
    let room = HEADER_BYTES
        .checked_sub(init.len() + FREE_HEADER)
        .ok_or_else(|| {
            RecordError::Mux(format!(
                "the MP4 header ({} bytes, too many sample entries) outgrew its {HEADER_BYTES} bytes",
                init.len()
            ))
        })?;
    let mut region = init.to_vec();
    let free = FreeBox {
        payload: vec![0; room],
    };
    region.extend_from_slice(&free.encode_to_vec().map_err(mux_error)?);
    Ok(region)
}

/// The init segment saying the movie lasts `ticks` (track timescale): in `mehd`, `mvhd`
/// and `tkhd` (movie timescale) and `mdhd`.
fn with_duration(init: &[u8], ticks: u64) -> Result<Vec<u8>, RecordError> {
    let (ftyp, used) = FtypBox::decode(init).map_err(mux_error)?;
    let (mut moov, _) = MoovBox::decode(&init[used..]).map_err(mux_error)?;
    let rescale = |timescale: u32| {
        let value = u128::from(ticks) * u128::from(timescale) / u128::from(TIMESCALE);
        u64::try_from(value).unwrap_or(u64::MAX)
    };
    let movie = rescale(moov.mvhd_box.timescale.get());
    moov.mvhd_box.duration = movie;
    for trak in &mut moov.trak_boxes {
        trak.tkhd_box.duration = movie;
        trak.mdia_box.mdhd_box.duration = rescale(trak.mdia_box.mdhd_box.timescale.get());
    }
    if let Some(mvex) = moov.mvex_box.as_mut() {
        mvex.mehd_box = Some(MehdBox {
            fragment_duration: movie,
        });
    }
    let mut bytes = ftyp.encode_to_vec().map_err(mux_error)?;
    bytes.extend_from_slice(&moov.encode_to_vec().map_err(mux_error)?);
    Ok(bytes)
}

/// The `mfra` box listing `entries` (one per IDR).
fn mfra(entries: &[TfraEntry]) -> Result<Vec<u8>, RecordError> {
    let wide = entries
        .iter()
        .any(|e| e.time > u64::from(u32::MAX) || e.moof_offset > u64::from(u32::MAX));
    let largest = entries.iter().map(|e| e.sample_number).max().unwrap_or(0);
    let sample_number_bytes = match largest {
        0..=0xFF => 0,
        0x100..=0xFFFF => 1,
        0x1_0000..=0xFF_FFFF => 2,
        _ => 3,
    };
    let mut mfra = MfraBox {
        tfra_boxes: vec![TfraBox {
            version: u8::from(wide),
            track_id: TRACK_ID,
            length_size_of_traf_num: 0,
            length_size_of_trun_num: 0,
            length_size_of_sample_num: sample_number_bytes,
            entries: entries.to_vec(),
        }],
        mfro_box: MfroBox { size: 0 },
    };
    let size = mfra.encode_to_vec().map_err(mux_error)?.len();
    mfra.mfro_box.size = u32::try_from(size).map_err(mux_error)?;
    mfra.encode_to_vec().map_err(mux_error)
}

#[cfg(test)]
#[path = "fmp4_tests.rs"]
mod tests;
