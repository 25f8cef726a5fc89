//! Recording what a [`Display`] publishes to an MP4 file, with no viewer and no browser:
//! demo clips, CI artifacts, golden frames.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rfb::{Display, Frame, RecordOptions, StreamOptions};
//! let display = Display::headless(640, 480, StreamOptions::default())?;
//! let recorder = display.record("out.mp4", RecordOptions::default())?;
//! for seq in 1..=90 {
//!     display.publish(Frame::rgb(640, 480, rfb_protocol::test_card(seq, 640, 480))?)?;
//!     tokio::time::sleep(std::time::Duration::from_millis(33)).await;
//! }
//! let summary = recorder.stop().await?;
//! println!("{} frames, {:?}", summary.frames_written, summary.duration);
//! # Ok(()) }
//! ```
//!
//! # What is recorded
//!
//! The recorder taps the display's latest-frame channel, the one the viewer sessions read;
//! it is not a session, so it counts in neither [`Display::client_count`] nor the metrics
//! nor any adaptive decision, and it records with or without viewers (and without a server:
//! [`Display::headless`]). It starts with the display's current frame if there is one.
//! Encoding and writing happen on a thread of its own (`record/worker.rs`): latest frame
//! wins, so a recorder that falls behind (slow disk, 4K at a high rate on a small machine)
//! skips frames and counts them in [`RecordSummary::frames_skipped`]; `publish()` and the
//! viewers never wait for it.
//!
//! The file is H.264 (openh264, constrained baseline) as AVC in MP4, timed by the real
//! publish times: variable frame rate, so a frame, 2 s of nothing and a frame play with the
//! 2 s pause (`record/timeline.rs` has every rule, including the last frame's duration:
//! until the stop, at least one `1 / fps` period). Its picture size is the first recorded
//! frame's; frames of another size are scaled into it with their aspect ratio kept
//! (`record/scale.rs`).
//!
//! # Layouts: what survives what
//!
//! [`RecordOptions::layout`] picks one of two [`Mp4Layout`]s:
//!
//! - **Fragmented** (default, `record/fmp4.rs`): `ftyp` + `moov` (with `mvex`, in the
//!   file's first 4 KiB), then one `moof` + `mdat` fragment per second at most, each
//!   written as soon as it closes, then an `mfra` index on stop. The file plays at every
//!   moment: a process killed (SIGKILL, a crash, an OOM kill, a power cut once the disk
//!   caught up: `sync_data` runs at most every 2 s) loses the open fragment, about the
//!   last second, and nothing before it. `record/fragmenter.rs` decides the boundaries:
//!   after 1 s of publishes, or after ~1 s of wall time when nothing new is published, in
//!   which case the frame on screen is written with a provisional duration that grows in
//!   place every second until the next frame arrives, so a still screen is in the file
//!   too and the pause plays exactly as it happened.
//! - **Classic** (`record/mux.rs`): `ftyp`, one `mdat` appended as frames come, and one
//!   `moov` with every sample table written on stop: what every MP4 tool reads, but the
//!   file has no `moov` and does not play until the recording stopped cleanly.
//!
//! `rfb serve --record` and `rfb record` stop cleanly on SIGTERM, SIGINT and SIGHUP;
//! against SIGKILL only the fragmented layout helps.
//!
//! Colour: the SPS signals BT.601 limited range and the frames' colour tag (BT.709 or
//! Display P3 primaries, sRGB transfer; `record/encoder.rs`); pixels are never converted.
//! A frame tagged differently from the one before restarts the encoder, so an IDR with the
//! new SPS starts a new sample entry in the file.
//!
//! # Stopping, dropping, failing
//!
//! - [`Recorder::stop`] records the newest frame published before the call if it was not
//!   yet, finalises the file (fragmented: the last fragment, the total duration in the
//!   header, the `mfra` index; classic: the `moov` box), syncs it and returns a
//!   [`RecordSummary`].
//! - Dropping a [`Recorder`] without `stop()` does the same on the recording thread, in the
//!   background: the drop does not wait. The file is complete once that thread is done
//!   (milliseconds, plus the time to write whatever the disk still buffers); if the process
//!   exits first, a fragmented file ends at its last closed fragment (it plays, without an
//!   index) and a classic one has no `moov` and does not play. Use `stop().await`, or
//!   [`Display::record_while`], where that matters.
//! - Errors come back as [`RecordError`], never as a panic: the path is checked when
//!   [`Display::record`] creates the file and writes its header; a later failure (disk
//!   full) ends the recording and is returned by `stop()` (or logged once with `tracing`
//!   when the recorder was dropped). What was written stays playable: fragmented, every
//!   fragment before the failed write; classic, everything when the `moov` box still fits.
//!   Viewers are unaffected either way.

mod avc;
mod encoder;
mod fmp4;
mod fragmenter;
mod mux;
mod scale;
mod sink;
mod timeline;
mod worker;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

pub use encoder::{MIN_QP, RECORD_YUV};
pub use fmp4::HEADER_BYTES;
pub use fragmenter::{FRAGMENT_TICKS, MAX_FRAGMENT_BYTES};
pub use timeline::TIMESCALE;

use crate::display::Display;
use crate::error::EncodeError;

/// How the MP4 file is laid out; see the module docs for what survives what.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Mp4Layout {
    /// `ftyp` + `moov` (with `mvex`), then a `moof` + `mdat` fragment per second at most,
    /// each written as soon as it closes, then an `mfra` index on stop: playable at every
    /// moment, so a killed process loses at most the last second.
    #[default]
    Fragmented,
    /// One `mdat`, then one `moov` with every sample table, written on stop: what every
    /// MP4 tool reads, but nothing plays until the recording stopped cleanly.
    Classic,
}

impl Mp4Layout {
    /// Both layouts.
    pub const ALL: [Mp4Layout; 2] = [Mp4Layout::Fragmented, Mp4Layout::Classic];

    /// `fragmented` or `classic` (the CLI's spelling).
    pub fn name(self) -> &'static str {
        match self {
            Mp4Layout::Fragmented => "fragmented",
            Mp4Layout::Classic => "classic",
        }
    }
}

impl std::str::FromStr for Mp4Layout {
    type Err = String;

    fn from_str(name: &str) -> Result<Mp4Layout, String> {
        Mp4Layout::ALL
            .into_iter()
            .find(|layout| layout.name() == name)
            .ok_or_else(|| format!("unknown MP4 layout {name:?}; one of fragmented, classic"))
    }
}

impl std::fmt::Display for Mp4Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the recorder spends bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateControl {
    /// Aim at this many bits per second (openh264's bitrate mode, QP kept at least
    /// [`MIN_QP`]; 0 is invalid).
    Bitrate(u32),
    /// Quality first: openh264's quality mode keeps the quantiser within
    /// `min_qp..=max_qp` (lower is better, up to 51) and walks down to `min_qp` as the
    /// content allows, so the size follows the content (a still picture costs almost
    /// nothing). `min_qp == max_qp` pins it. `min_qp` is at least [`MIN_QP`] (20, already
    /// visually transparent for most content): below it openh264 fails on noise-like frames.
    Quality {
        /// The best quality used (the usual QP).
        min_qp: u8,
        /// The worst quality allowed.
        max_qp: u8,
    },
}

/// Options of [`Display::record`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOptions {
    /// Bitrate or constant quality.
    pub rate_control: RateControl,
    /// Expected publish rate: openh264's rate control, and the shortest duration of the
    /// last frame. Every other duration comes from the real publish times.
    pub fps: f32,
    /// An IDR every this many recorded frames (0 = only the first); players seek to IDRs.
    pub keyframe_interval: u32,
    /// Fragmented (default: survives a kill) or classic (one `moov` at the end).
    pub layout: Mp4Layout,
}

impl Default for RecordOptions {
    /// Quality with QP 20..=40, 30 fps, an IDR every 60 frames, fragmented.
    fn default() -> Self {
        RecordOptions {
            rate_control: RateControl::Quality {
                min_qp: 20,
                max_qp: 40,
            },
            fps: 30.0,
            keyframe_interval: 60,
            layout: Mp4Layout::Fragmented,
        }
    }
}

impl RecordOptions {
    /// Checks the ranges: a positive finite fps, a positive bitrate,
    /// `MIN_QP <= min_qp <= max_qp <= 51`.
    pub fn validate(&self) -> Result<(), RecordError> {
        if !self.fps.is_finite() || self.fps <= 0.0 {
            return Err(RecordError::Options(format!(
                "fps must be positive, got {}",
                self.fps
            )));
        }
        match self.rate_control {
            RateControl::Bitrate(0) => Err(RecordError::Options(
                "the bitrate must be positive".to_string(),
            )),
            RateControl::Quality { min_qp, max_qp }
                if min_qp < MIN_QP || min_qp > max_qp || max_qp > 51 =>
            {
                Err(RecordError::Options(format!(
                    "the QP range must satisfy {MIN_QP} <= min <= max <= 51, \
                     got {min_qp}..={max_qp}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    /// The file.
    pub path: PathBuf,
    /// Frames in the file.
    pub frames_written: u64,
    /// Frames published while recording that the recorder never took (it was busy).
    pub frames_skipped: u64,
    /// Recorded frames that were scaled because their size differed from the file's.
    pub frames_scaled: u64,
    /// Playing time: the sum of the sample durations.
    pub duration: Duration,
    /// Picture width in the file.
    pub width: u32,
    /// Picture height in the file.
    pub height: u32,
    /// File size in bytes.
    pub bytes: u64,
    /// Mean time the recorder's thread spent scaling and encoding each written frame
    /// (zero when none was written). Publishing never waits for it.
    pub encode_mean: Duration,
}

/// A recording that failed; the stage names where.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The options are out of range.
    #[error("invalid record options: {0}")]
    Options(String),
    /// The file could not be created (missing directory, no permission...).
    #[error("cannot create {path}: {source}")]
    Create {
        /// The path asked for.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing the file failed (disk full...); the recording ended there.
    #[error("writing {path} failed: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The first frame's size cannot be encoded (a side below 2 pixels).
    #[error("cannot record {width}x{height} frames")]
    Size {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// Scaling a frame of another size failed.
    #[error("scaling a frame failed: {0}")]
    Scale(String),
    /// The H.264 encoder failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The MP4 muxer refused a sample or the file's tables.
    #[error("MP4 muxing failed: {0}")]
    Mux(String),
    /// Nothing was published while recording: the file holds only an MP4 header.
    #[error("no frame was published while recording {path}; the file is not playable")]
    NoFrames {
        /// The file.
        path: PathBuf,
    },
    /// The recording thread could not start or ended without a result (a panic).
    #[error("recording thread: {0}")]
    Thread(String),
}

/// A recording in progress: [`Recorder::stop`] it (or drop it, see the module docs).
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    epoch: Instant,
    stop: Option<oneshot::Sender<u64>>,
    done: Option<oneshot::Receiver<Result<RecordSummary, RecordError>>>,
    progress: watch::Receiver<worker::Progress>,
}

impl Recorder {
    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames encoded into the file so far.
    pub fn frames_written(&self) -> u64 {
        self.progress.borrow().written
    }

    /// Frames skipped so far (published while the recorder was busy).
    pub fn frames_skipped(&self) -> u64 {
        self.progress.borrow().skipped
    }

    /// Waits until the frame with publish counter `seq`, or a newer one, has been
    /// recorded: true then, false if the recording ended first. A publisher that must not
    /// lose frames (a clip generator) awaits this after each `publish()`.
    pub async fn wait_recorded(&self, seq: u64) -> bool {
        let mut progress = self.progress.clone();
        let reached = progress
            .wait_for(|p| p.last_seq >= seq || p.finished)
            .await
            .map(|p| p.last_seq >= seq);
        reached.unwrap_or(false)
    }

    /// Sends the stop signal, stamped now on the display clock (once).
    fn request_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // A closed channel means the thread already ended; its result says why.
            let _ = stop.send(self.epoch.elapsed().as_micros() as u64);
        }
    }

    /// Stops recording: records the newest frame published before this call if it was
    /// not yet, finalises and syncs the file, and returns what it holds.
    pub async fn stop(mut self) -> Result<RecordSummary, RecordError> {
        self.request_stop();
        let done = self
            .done
            .take()
            .ok_or_else(|| RecordError::Thread("stopped twice".to_string()))?;
        done.await.unwrap_or_else(|_| {
            Err(RecordError::Thread(
                "the recording thread ended without a result".to_string(),
            ))
        })
    }
}

impl Drop for Recorder {
    /// Stops the recording without waiting: the recording thread finalises the file in
    /// the background (see the module docs).
    fn drop(&mut self) {
        self.request_stop();
    }
}

impl Display {
    /// Starts recording this display to an MP4 file at `path` (created or truncated).
    ///
    /// Creates the file and writes its header on the calling thread (so a bad path fails
    /// here, as [`RecordError::Create`] or [`RecordError::Write`]), then records on a
    /// thread of its own until [`Recorder::stop`] or the recorder's drop.
    pub fn record(
        &self,
        path: impl AsRef<Path>,
        options: RecordOptions,
    ) -> Result<Recorder, RecordError> {
        options.validate()?;
        let path = path.as_ref().to_path_buf();
        let epoch = self.state.epoch;
        let start_us = epoch.elapsed().as_micros() as u64;
        let sink = sink::Sink::create(&path, options.layout, start_us, options.fps)?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let (progress_tx, progress_rx) = watch::channel(worker::Progress::default());
        let mut frames = self.state.subscribe();
        let initial = frames.borrow_and_update().clone();
        worker::spawn(worker::Job {
            frames,
            initial,
            stop: stop_rx,
            done: done_tx,
            progress: progress_tx,
            sink,
            options,
            epoch,
            path: path.clone(),
        })?;
        Ok(Recorder {
            path,
            epoch,
            stop: Some(stop_tx),
            done: Some(done_rx),
            progress: progress_rx,
        })
    }

    /// Records while `future` runs, then stops and finalises: the scoped form of
    /// [`Display::record`]. The future runs to completion even if the recording fails on
    /// the way; its output is then dropped and the error returned. If this call is
    /// cancelled the recorder is dropped (finalised in the background).
    pub async fn record_while<F: Future>(
        &self,
        path: impl AsRef<Path>,
        options: RecordOptions,
        future: F,
    ) -> Result<(F::Output, RecordSummary), RecordError> {
        let recorder = self.record(path, options)?;
        let output = future.await;
        let summary = recorder.stop().await?;
        Ok((output, summary))
    }
}

#[cfg(test)]
mod tests;
