//! The recording thread: follows the display's latest-frame `watch`, scales, encodes and
//! writes each frame it takes, and finalises the file when told to stop.
//!
//! One OS thread per recorder (named `rfb-record`), driving a current-thread tokio runtime
//! of its own only to await the `watch` and the stop signal; encoding and file writes block
//! this thread and nothing else, so neither `publish()` nor any viewer session ever waits
//! for the recorder or the disk.
//!
//! Latest frame wins, as for viewers: after each frame the thread takes whatever is newest,
//! and the publishes it never saw (their publish counters fall between two recorded frames)
//! are counted as skipped. When the stop signal arrives, the newest frame published before
//! it is still recorded if it was not yet.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use super::encoder::RecordEncoder;
use super::scale::{record_size, Scaler};
use super::sink::Sink;
use super::{RecordError, RecordOptions, RecordSummary};
use crate::frame::PublishedFrame;

/// What the thread reports as it goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Publish counter of the newest frame recorded (0 before the first).
    pub last_seq: u64,
    /// Frames encoded into the file.
    pub written: u64,
    /// Frames published while recording that were never taken.
    pub skipped: u64,
    /// The thread has finished (stopped or failed).
    pub finished: bool,
}

/// Everything the thread needs.
pub struct Job {
    /// The display's latest-frame channel.
    pub frames: watch::Receiver<Option<Arc<PublishedFrame>>>,
    /// The display's latest frame when recording started (taken from `frames`).
    pub initial: Option<Arc<PublishedFrame>>,
    /// Fires with the stop time (µs on the display clock); dropped = stop now.
    pub stop: oneshot::Receiver<u64>,
    /// Receives the outcome.
    pub done: oneshot::Sender<Result<RecordSummary, RecordError>>,
    /// Progress for the [`super::Recorder`].
    pub progress: watch::Sender<Progress>,
    /// The started file.
    pub sink: Sink,
    /// Validated options.
    pub options: RecordOptions,
    /// The display clock's origin.
    pub epoch: Instant,
    /// The file's path (for the summary).
    pub path: PathBuf,
}

/// Starts the thread.
pub fn spawn(job: Job) -> Result<(), RecordError> {
    std::thread::Builder::new()
        .name("rfb-record".to_string())
        .spawn(move || job.run())
        .map(drop)
        .map_err(|e| RecordError::Thread(format!("cannot start the recording thread: {e}")))
}

impl Job {
    fn run(self) {
        let Job {
            mut frames,
            initial,
            stop,
            done,
            progress,
            sink,
            options,
            epoch,
            path,
        } = self;
        let mut session = Session {
            sink: Some(sink),
            options,
            encoder: None,
            scaler: None,
            scaled: 0,
            encode_time: Duration::ZERO,
            state: Progress::default(),
            progress,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build();
        let result = match runtime {
            Ok(runtime) => runtime.block_on(session.follow(initial, &mut frames, stop, epoch)),
            Err(e) => Err(RecordError::Thread(format!(
                "cannot start its runtime: {e}"
            ))),
        };
        let result = match result {
            Ok(stop_us) => session.finish(stop_us, path),
            Err(error) => {
                // Best effort: keep what was recorded before the failure playable.
                let stop_us = epoch.elapsed().as_micros() as u64;
                drop(session.finish(stop_us, path));
                Err(error)
            }
        };
        session.state.finished = true;
        session.progress.send_replace(session.state);
        if let Err(Err(error)) = done.send(result) {
            // Nobody will call stop() (the recorder was dropped): report it once, here.
            tracing::warn!(%error, "recording failed");
        }
    }
}

/// The encoding state of one recording.
struct Session {
    sink: Option<Sink>,
    options: RecordOptions,
    encoder: Option<RecordEncoder>,
    scaler: Option<Scaler>,
    scaled: u64,
    /// Time spent scaling and encoding the frames written (the recorder's own thread).
    encode_time: Duration,
    state: Progress,
    progress: watch::Sender<Progress>,
}

impl Session {
    /// Records frames until the stop signal; returns the stop time.
    async fn follow(
        &mut self,
        initial: Option<Arc<PublishedFrame>>,
        frames: &mut watch::Receiver<Option<Arc<PublishedFrame>>>,
        mut stop: oneshot::Receiver<u64>,
        epoch: Instant,
    ) -> Result<u64, RecordError> {
        // The display's latest frame when recording started is the first one; publishes
        // from then on are counted from its publish counter.
        if let Some(frame) = initial {
            self.state.last_seq = frame.seq.saturating_sub(1);
            self.record(&frame)?;
        }
        let mut open = true;
        loop {
            // The fragmented layout closes fragments by wall time too (a still stream).
            let deadline = self.sink.as_ref().and_then(Sink::deadline_us);
            tokio::select! {
                biased;
                at = &mut stop => {
                    let stop_us = at.unwrap_or_else(|_| epoch.elapsed().as_micros() as u64);
                    let latest = frames.borrow().clone();
                    if let Some(frame) = latest.filter(|f| f.timestamp_us <= stop_us) {
                        self.record(&frame)?;
                    }
                    return Ok(stop_us);
                }
                changed = frames.changed(), if open => {
                    // Closed: every display handle is gone; record the last value, then wait
                    // for the stop signal alone.
                    open = changed.is_ok();
                    let latest = frames.borrow_and_update().clone();
                    if let Some(frame) = latest {
                        self.record(&frame)?;
                    }
                }
                () = sleep_until(epoch, deadline), if deadline.is_some() => {
                    if let Some(sink) = self.sink.as_mut() {
                        sink.tick(epoch.elapsed().as_micros() as u64)?;
                    }
                }
            }
        }
    }

    /// Scales, encodes and writes one frame (nothing when it is not newer than the last).
    fn record(&mut self, frame: &PublishedFrame) -> Result<(), RecordError> {
        if frame.seq <= self.state.last_seq {
            return Ok(());
        }
        let (sink, options) = match self.sink.as_mut() {
            Some(sink) => (sink, &self.options),
            None => return Ok(()),
        };
        let (width, height) = frame.frame.size();
        let scaler = match &mut self.scaler {
            Some(scaler) => scaler,
            None => {
                let size = record_size(width, height).ok_or(RecordError::Size { width, height })?;
                self.encoder = Some(RecordEncoder::new(size.0, size.1, options, frame.color)?);
                self.scaler.insert(Scaler::new(size))
            }
        };
        let size = scaler.size();
        let started = Instant::now();
        let fitted = scaler.fit(&frame.frame)?;
        self.scaled += u64::from(fitted.is_some());
        let picture = fitted.as_ref().unwrap_or(&frame.frame);
        let encoder = self
            .encoder
            .as_mut()
            .ok_or_else(|| RecordError::Thread("encoder missing".to_string()))?;
        if encoder.color() != frame.color {
            // Another colour space: a new encoder, whose IDR carries an SPS with the new
            // primaries, which the file holds as a new sample entry.
            *encoder = RecordEncoder::new(size.0, size.1, options, frame.color)?;
        }
        let encoded = encoder.encode(picture, frame.timestamp_us)?;
        self.encode_time += started.elapsed();
        if let Some(au) = encoded {
            sink.write(au.data, au.keyframe, frame.timestamp_us)?;
            self.state.written += 1;
        }
        self.state.skipped += frame.seq.saturating_sub(self.state.last_seq + 1);
        self.state.last_seq = frame.seq;
        self.progress.send_replace(self.state);
        Ok(())
    }

    /// Finalises the file and syncs it to disk.
    fn finish(&mut self, stop_us: u64, path: PathBuf) -> Result<RecordSummary, RecordError> {
        let sink = self
            .sink
            .take()
            .ok_or_else(|| RecordError::Thread("finished twice".to_string()))?;
        let summary = sink.finish(stop_us, &path)?;
        let (width, height) = self.scaler.as_ref().map_or((0, 0), Scaler::size);
        Ok(RecordSummary {
            path,
            frames_written: summary.samples,
            frames_skipped: self.state.skipped,
            frames_scaled: self.scaled,
            duration: summary.duration,
            width,
            height,
            bytes: summary.bytes,
            encode_mean: self
                .encode_time
                .checked_div(u32::try_from(self.state.written).unwrap_or(u32::MAX))
                .unwrap_or_default(),
        })
    }
}

/// Sleeps until `deadline_us` on the display clock whose origin is `epoch` (forever when
/// there is none: the branch is disabled then anyway).
async fn sleep_until(epoch: Instant, deadline_us: Option<u64>) {
    match deadline_us {
        Some(us) => {
            let at = epoch + Duration::from_micros(us);
            tokio::time::sleep_until(at.into()).await;
        }
        None => std::future::pending().await,
    }
}
