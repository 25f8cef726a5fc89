//! Unit tests of the public recording API on headless displays. Whole files are checked
//! with ffprobe and ffmpeg in `tests/suite/recording.rs`; here the file is read back with
//! `shiguredo_mp4`'s demuxer.

use super::*;
use crate::frame::Frame;
use crate::options::StreamOptions;
use rfb_protocol::test_card;
use shiguredo_mp4::demux::{
    DemuxError, Fmp4FileDemuxer, Input, Mp4FileDemuxer, Mp4FileKind, Mp4FileKindDetector,
};
use shiguredo_mp4::{BoxHeader, Decode};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rfb-record-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn display(width: u32, height: u32) -> Display {
    Display::headless(width, height, StreamOptions::default()).expect("display")
}

fn card(seq: u64, width: u32, height: u32) -> Frame {
    Frame::rgb(width, height, test_card(seq, width, height)).expect("frame")
}

/// The bytes `position` and `size` ask for, within `file`.
fn wanted(file: &[u8], position: u64, size: Option<usize>) -> Option<&[u8]> {
    let start = usize::try_from(position).ok()?.min(file.len());
    let end = size.map_or(file.len(), |size| (start + size).min(file.len()));
    file.get(start..end)
}

/// The sample count of an MP4 of either layout, or `None` while it has no readable `moov`.
fn samples_in(path: &Path) -> Option<usize> {
    let file = std::fs::read(path).ok()?;
    let mut detector = Mp4FileKindDetector::new();
    let kind = loop {
        if let Some(kind) = detector.file_kind().ok()? {
            break kind;
        }
        let required = detector.required_input()?;
        let data = wanted(&file, required.position, required.size)?;
        detector.handle_input(Input {
            position: required.position,
            data,
        });
    };
    let mut count = 0;
    if kind == Mp4FileKind::FragmentedMp4 {
        // Input is asked for as the demuxer goes, between samples too.
        let mut demuxer = Fmp4FileDemuxer::new();
        loop {
            let required = match demuxer.next_sample() {
                Ok(Some(_)) => {
                    count += 1;
                    continue;
                }
                Ok(None) => break,
                Err(DemuxError::InputRequired(required)) => required,
                Err(_) => return None,
            };
            let data = wanted(&file, required.position, required.size)?;
            demuxer.handle_input(Input {
                position: required.position,
                data,
            });
        }
    } else {
        let mut demuxer = Mp4FileDemuxer::new();
        while let Some(required) = demuxer.required_input() {
            let data = wanted(&file, required.position, None)?;
            demuxer.handle_input(Input {
                position: required.position,
                data,
            });
        }
        while demuxer.next_sample().ok()?.is_some() {
            count += 1;
        }
    }
    Some(count)
}

/// The file's top-level box types, in order.
fn top_level_boxes(path: &Path) -> Vec<String> {
    let file = std::fs::read(path).expect("file");
    let (mut names, mut at) = (Vec::new(), 0);
    while at < file.len() {
        let (header, _) = BoxHeader::decode(&file[at..]).expect("a box header");
        names.push(String::from_utf8_lossy(header.box_type.as_bytes()).into_owned());
        at += usize::try_from(header.box_size.get()).expect("size").max(8);
    }
    names
}

/// Polls `samples_in` until it is `want` (10 s at most).
async fn wait_for_samples(path: &Path, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while samples_in(path) != Some(want) {
        assert!(
            Instant::now() < deadline,
            "{want} samples within 10 s, have {:?}",
            samples_in(path)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn recorders_move_between_tasks_and_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Recorder>();
    send_sync::<RecordError>();
}

#[tokio::test]
async fn records_the_current_frame_then_each_publish_and_is_no_viewer() {
    let display = display(160, 96);
    display.publish(card(1, 160, 96)).expect("publish");
    let path = scratch("current.mp4");
    let started = std::time::Instant::now();
    let recorder = display
        .record(&path, RecordOptions::default())
        .expect("record");
    assert_eq!(recorder.path(), path);
    assert!(recorder.wait_recorded(1).await, "the frame already shown");
    for seq in 2..=4 {
        display.publish(card(seq, 160, 96)).expect("publish");
        assert!(recorder.wait_recorded(seq).await);
    }
    assert_eq!(display.client_count(), 0, "not a viewer");
    assert!(display.metrics_snapshot().is_empty(), "not in the metrics");
    assert_eq!(recorder.frames_written(), 4);
    let summary = recorder.stop().await.expect("stop");
    let wall = started.elapsed();
    assert_eq!((summary.frames_written, summary.frames_skipped), (4, 0));
    assert_eq!((summary.width, summary.height), (160, 96));
    // Four encodes took some time, and no more than the recording's whole life.
    assert!(summary.encode_mean > Duration::ZERO, "{summary:?}");
    assert!(summary.encode_mean * 4 <= wall, "{summary:?} in {wall:?}");
    assert_eq!(summary.bytes, std::fs::metadata(&path).expect("file").len());
    assert_eq!(samples_in(&path), Some(4));
}

#[tokio::test]
async fn a_recorder_that_falls_behind_skips_and_never_slows_publish() {
    let display = display(640, 480);
    let path = scratch("behind.mp4");
    let recorder = display
        .record(&path, RecordOptions::default())
        .expect("record");
    let pixels = bytes::Bytes::from(test_card(0, 640, 480));
    for _ in 0..300 {
        let frame = Frame::rgb(640, 480, pixels.clone()).expect("frame");
        display.publish(frame).expect("publish");
    }
    let summary = recorder.stop().await.expect("stop");
    // Skipped frames prove publish() never waited for the encoder (a publish that waited
    // would hand every frame over); no clock involved, so a slow machine cannot fail it.
    assert_eq!(
        summary.frames_written + summary.frames_skipped,
        300,
        "every publish is written or counted as skipped: {summary:?}"
    );
    assert!(summary.frames_skipped > 0, "{summary:?}");
    assert!(summary.frames_written >= 1, "the last one before stop()");
    assert_eq!(samples_in(&path), Some(summary.frames_written as usize));
}

fn classic() -> RecordOptions {
    RecordOptions {
        layout: Mp4Layout::Classic,
        ..RecordOptions::default()
    }
}

#[tokio::test]
async fn dropping_finalises_the_file_in_the_background() {
    let display = display(160, 96);
    let path = scratch("dropped.mp4");
    let recorder = display.record(&path, classic()).expect("record");
    for seq in 1..=3 {
        display.publish(card(seq, 160, 96)).expect("publish");
        assert!(recorder.wait_recorded(seq).await);
    }
    assert_eq!(samples_in(&path), None, "classic: no moov while recording");
    drop(recorder);
    wait_for_samples(&path, 3).await;
}

#[tokio::test]
async fn a_fragmented_recording_plays_while_the_stream_is_still() {
    let display = display(160, 96);
    let path = scratch("still.mp4");
    let recorder = display
        .record(&path, RecordOptions::default())
        .expect("record");
    display.publish(card(1, 160, 96)).expect("publish");
    assert!(recorder.wait_recorded(1).await);
    // Nothing else is published: the recording thread closes the fragment by wall time,
    // about 1 s later, and the file plays before any stop.
    wait_for_samples(&path, 1).await;
    assert_eq!(
        top_level_boxes(&path),
        ["ftyp", "moov", "free", "moof", "mdat"]
    );
    display.publish(card(2, 160, 96)).expect("publish");
    assert!(recorder.wait_recorded(2).await);
    let summary = recorder.stop().await.expect("stop");
    assert_eq!(summary.frames_written, 2);
    assert!(summary.duration >= Duration::from_secs(1), "{summary:?}");
    assert_eq!(samples_in(&path), Some(2));
    let boxes = top_level_boxes(&path);
    assert_eq!(boxes[..5], ["ftyp", "moov", "free", "moof", "mdat"]);
    assert_eq!(boxes.last().map(String::as_str), Some("mfra"));
}

#[tokio::test]
async fn the_classic_layout_is_one_moov_after_the_samples() {
    let display = display(160, 96);
    let path = scratch("classic.mp4");
    let recorder = display.record(&path, classic()).expect("record");
    for seq in 1..=3 {
        display.publish(card(seq, 160, 96)).expect("publish");
        assert!(recorder.wait_recorded(seq).await);
    }
    let summary = recorder.stop().await.expect("stop");
    assert_eq!(summary.frames_written, 3);
    assert_eq!(top_level_boxes(&path), ["ftyp", "free", "mdat", "moov"]);
    assert_eq!(samples_in(&path), Some(3));
}

#[test]
fn layouts_have_names() {
    for layout in Mp4Layout::ALL {
        assert_eq!(layout.name().parse::<Mp4Layout>(), Ok(layout));
        assert_eq!(layout.to_string(), layout.name());
    }
    assert_eq!(RecordOptions::default().layout, Mp4Layout::Fragmented);
    assert!("fmp4".parse::<Mp4Layout>().is_err());
}

#[tokio::test]
async fn record_while_stops_when_the_future_ends() {
    let display = display(160, 96);
    let path = scratch("scoped.mp4");
    let publisher = display.clone();
    let (output, summary) = display
        .record_while(&path, RecordOptions::default(), async move {
            for seq in 1..=3 {
                publisher.publish(card(seq, 160, 96)).expect("publish");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            "done"
        })
        .await
        .expect("record_while");
    assert_eq!(output, "done");
    assert_eq!(summary.frames_written, 3);
    assert_eq!(samples_in(&path), Some(3));
}

#[tokio::test]
async fn a_recording_outlives_its_display_handles() {
    let display = display(160, 96);
    let path = scratch("orphan.mp4");
    let recorder = display
        .record(&path, RecordOptions::default())
        .expect("record");
    display.publish(card(1, 160, 96)).expect("publish");
    drop(display);
    assert!(recorder.wait_recorded(1).await);
    assert_eq!(recorder.stop().await.expect("stop").frames_written, 1);
}

#[tokio::test]
async fn bad_options_paths_and_empty_recordings_are_errors() {
    let display = display(160, 96);
    for options in [
        RecordOptions {
            fps: 0.0,
            ..RecordOptions::default()
        },
        RecordOptions {
            rate_control: RateControl::Bitrate(0),
            ..RecordOptions::default()
        },
        RecordOptions {
            rate_control: RateControl::Quality {
                min_qp: MIN_QP - 1,
                max_qp: 40,
            },
            ..RecordOptions::default()
        },
        RecordOptions {
            rate_control: RateControl::Quality {
                min_qp: 30,
                max_qp: 52,
            },
            ..RecordOptions::default()
        },
    ] {
        let result = display.record(scratch("never.mp4"), options.clone());
        assert!(
            matches!(result, Err(RecordError::Options(_))),
            "{options:?}"
        );
    }
    let missing = scratch("no-such-dir").join("out.mp4");
    assert!(matches!(
        display.record(&missing, RecordOptions::default()),
        Err(RecordError::Create { .. })
    ));
    if Path::new("/dev/full").exists() {
        match display.record("/dev/full", RecordOptions::default()) {
            Err(RecordError::Write { source, .. }) => assert_eq!(source.raw_os_error(), Some(28)),
            other => panic!("/dev/full: {other:?}"),
        }
    }
    let empty = display
        .record(scratch("empty.mp4"), RecordOptions::default())
        .expect("record");
    assert_eq!(empty.frames_written(), 0);
    assert!(matches!(
        empty.stop().await,
        Err(RecordError::NoFrames { .. })
    ));
}

#[tokio::test]
async fn a_failure_on_the_recording_thread_comes_back_from_stop() {
    // A stream that never uses H.264 accepts odd sizes; a 1-pixel-wide frame cannot be
    // recorded, which ends the recording with an error instead of a panic.
    let options = StreamOptions {
        force_image: true,
        ..StreamOptions::default()
    };
    let display = Display::headless(1, 480, options).expect("display");
    let recorder = display
        .record(scratch("thin.mp4"), RecordOptions::default())
        .expect("record");
    display
        .publish(Frame::rgb(1, 480, vec![200; 480 * 3]).expect("frame"))
        .expect("publish");
    assert!(!recorder.wait_recorded(1).await, "the recording ended");
    assert!(matches!(
        recorder.stop().await,
        Err(RecordError::Size {
            width: 1,
            height: 480
        })
    ));
}
