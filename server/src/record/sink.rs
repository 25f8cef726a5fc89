//! [`Sink`]: the recording thread's file, in either [`Mp4Layout`]: one interface over the
//! fragmented writer (`fmp4.rs`) and the classic one (`mux.rs`), which creates the file and
//! leaves it synced when finished.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use super::fmp4::Fmp4Sink;
use super::mux::{Mp4Sink, SinkSummary};
use super::{Mp4Layout, RecordError};

/// Buffered bytes between the encoder and the file (classic layout: samples are appended
/// one by one; the fragmented layout writes whole fragments and needs no buffer).
const WRITE_BUFFER: usize = 1 << 20;

/// The file being recorded.
#[derive(Debug)]
pub enum Sink {
    /// `moof` + `mdat` fragments, playable at every moment.
    Fragmented(Fmp4Sink<File>),
    /// One `moov`, written by `finish`.
    Classic(Mp4Sink<BufWriter<File>>),
}

impl Sink {
    /// Creates (or truncates) `path` and writes the header of `layout`; `record_start_us`
    /// and `fps_hint` set up the timeline.
    pub fn create(
        path: &Path,
        layout: Mp4Layout,
        record_start_us: u64,
        fps_hint: f32,
    ) -> Result<Sink, RecordError> {
        let file = File::create(path).map_err(|source| RecordError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(match layout {
            Mp4Layout::Fragmented => {
                Sink::Fragmented(Fmp4Sink::start(file, path, record_start_us, fps_hint)?)
            }
            Mp4Layout::Classic => {
                let out = BufWriter::with_capacity(WRITE_BUFFER, file);
                Sink::Classic(Mp4Sink::start(out, path, record_start_us, fps_hint)?)
            }
        })
    }

    /// Appends an Annex B access unit published at `timestamp_us` (display clock).
    pub fn write(
        &mut self,
        access_unit: &[u8],
        keyframe: bool,
        timestamp_us: u64,
    ) -> Result<(), RecordError> {
        match self {
            Sink::Fragmented(sink) => sink.write(access_unit, keyframe, timestamp_us),
            Sink::Classic(sink) => sink.write(access_unit, keyframe, timestamp_us),
        }
    }

    /// When [`Sink::tick`] next has something to do (display clock, µs); never for the
    /// classic layout.
    pub fn deadline_us(&self) -> Option<u64> {
        match self {
            Sink::Fragmented(sink) => sink.deadline_us(),
            Sink::Classic(_) => None,
        }
    }

    /// The clock reads `now_us` (display clock).
    pub fn tick(&mut self, now_us: u64) -> Result<(), RecordError> {
        match self {
            Sink::Fragmented(sink) => sink.tick(now_us),
            Sink::Classic(_) => Ok(()),
        }
    }

    /// Finalises the file at `stop_us` and syncs it to disk.
    pub fn finish(self, stop_us: u64, path: &Path) -> Result<SinkSummary, RecordError> {
        let write = |source| RecordError::Write {
            path: path.to_path_buf(),
            source,
        };
        match self {
            Sink::Fragmented(sink) => sink.finish(stop_us).map(|(_, summary)| summary),
            Sink::Classic(sink) => {
                let (out, summary) = sink.finish(stop_us)?;
                let file = out.into_inner().map_err(|e| write(e.into_error()))?;
                file.sync_all().map_err(write)?;
                Ok(summary)
            }
        }
    }
}
