//! Recording to MP4: the files are checked by independent readers (ffprobe for the
//! container, ffmpeg for the pixels), for the library API, `rfb record` and
//! `rfb serve --record`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::probe::*;
use rfb::{Display, Frame, Mp4Layout, RecordError, RecordOptions, Recorder, StreamOptions};
use rfb_protocol::test_card;

const FPS: f64 = 30.0;

fn headless(width: u32, height: u32) -> Display {
    Display::headless(width, height, StreamOptions::default()).unwrap()
}

/// Publishes test cards `seqs` (pattern seq = publish counter) at 30 fps, each recorded
/// before the next is published. Returns when the first and the last were published.
async fn publish_cards(
    display: &Display,
    recorder: &Recorder,
    seqs: std::ops::RangeInclusive<u64>,
    size: (u32, u32),
) -> (Instant, Instant) {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / FPS));
    let mut span = (None, Instant::now());
    for seq in seqs {
        ticker.tick().await;
        let frame = Frame::rgb(size.0, size.1, test_card(seq, size.0, size.1)).unwrap();
        assert_eq!(display.publish(frame).unwrap(), seq);
        span = (span.0.or(Some(Instant::now())), Instant::now());
        assert!(recorder.wait_recorded(seq).await, "frame {seq} recorded");
    }
    (span.0.unwrap(), span.1)
}

#[tokio::test]
async fn ffprobe_sees_h264_of_the_right_size_count_and_duration_and_ffmpeg_the_right_colours() {
    let (w, h) = (640, 360);
    let display = headless(w, h);
    let path = scratch("cards.mp4");
    let recorder = display.record(&path, RecordOptions::default()).unwrap();
    let (first, last) = publish_cards(&display, &recorder, 1..=20, (w, h)).await;
    let summary = recorder.stop().await.unwrap();
    assert_eq!((summary.frames_written, summary.frames_skipped), (20, 0));

    let facts = facts(&path);
    assert_eq!(
        (facts.codec.as_str(), facts.tag.as_str(), facts.is_avc),
        ("h264", "avc1", true),
        "H.264 as AVC in MP4 (avcC, length-prefixed): {facts:?}"
    );
    assert_eq!((facts.width, facts.height, facts.frames), (640, 360, 20));
    // The real publish times set the durations (a busy machine may publish late), and the
    // last frame lasts one period: about 20 / 30 s.
    let want = (last - first).as_secs_f64() + 1.0 / FPS;
    assert!(
        (facts.duration - want).abs() <= 1.0 / FPS,
        "duration {} s, published over {want} s",
        facts.duration
    );
    assert!((facts.duration - summary.duration.as_secs_f64()).abs() < 0.001);

    let keyframes: Vec<usize> = packets(&path)
        .iter()
        .enumerate()
        .filter(|(_, p)| p.keyframe)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        keyframes,
        vec![0],
        "20 frames: the first IDR only (interval 60)"
    );

    let frames = decode(&path, w, h);
    assert_eq!(frames.len(), 20);
    for (i, rgb) in frames.iter().enumerate() {
        check_card(rgb, w, (0, 0, w, h), i as u64 + 1, "ffmpeg");
    }
}

#[tokio::test]
async fn a_sparse_publisher_records_its_two_second_pause() {
    // Both layouts time samples alike; the fragmented one closes its first fragment by
    // wall time during the pause and extends the frame on screen until the next one.
    for layout in Mp4Layout::ALL {
        let (w, h) = (320, 240);
        let display = headless(w, h);
        let path = scratch(&format!("sparse-{layout}.mp4"));
        let options = RecordOptions {
            layout,
            ..RecordOptions::default()
        };
        let recorder = display.record(&path, options).unwrap();
        display
            .publish(Frame::rgb(w, h, test_card(1, w, h)).unwrap())
            .unwrap();
        let first = Instant::now();
        assert!(recorder.wait_recorded(1).await);
        tokio::time::sleep(Duration::from_secs(2)).await;
        display
            .publish(Frame::rgb(w, h, test_card(2, w, h)).unwrap())
            .unwrap();
        let gap = first.elapsed().as_secs_f64();
        recorder.stop().await.unwrap();

        let packets = packets(&path);
        assert_eq!(packets.len(), 2, "{layout}: {packets:?}");
        let (a, b) = (packets[0], packets[1]);
        assert_eq!(a.pts, 0.0);
        assert!(
            (b.pts - gap).abs() < 0.02 && b.pts >= 2.0,
            "{layout}: second frame at {} s, published {gap} s after the first",
            b.pts
        );
        // The last frame lasts one period: the file ends 1/30 s after it.
        let duration = facts(&path).duration;
        assert!(
            (duration - b.pts - 1.0 / FPS).abs() < 0.001,
            "{layout}: last frame from {} s, file until {duration} s",
            b.pts
        );
        if layout == Mp4Layout::Classic {
            // ffprobe 5.1 reports per-packet durations from `stts` only (N/A in fragments).
            assert!(
                (a.duration - b.pts).abs() < 1e-4,
                "first frame lasts the pause: {a:?}"
            );
            assert!(
                (b.duration - 1.0 / FPS).abs() < 0.001,
                "last frame: one period: {b:?}"
            );
        }
        let frames = decode(&path, w, h);
        assert_eq!(frames.len(), 2);
        check_card(&frames[1], w, (0, 0, w, h), 2, "after the pause");
    }
}

#[tokio::test]
async fn a_mid_recording_resize_is_scaled_into_the_initial_size() {
    let (w, h) = (320, 240);
    let display = headless(w, h);
    let path = scratch("resize.mp4");
    let recorder = display.record(&path, RecordOptions::default()).unwrap();
    publish_cards(&display, &recorder, 1..=3, (w, h)).await;
    publish_cards(&display, &recorder, 4..=6, (240, 240)).await; // square: pillarboxed
    publish_cards(&display, &recorder, 7..=8, (640, 480)).await; // same 4:3 ratio
    let summary = recorder.stop().await.unwrap();
    assert_eq!((summary.frames_written, summary.frames_scaled), (8, 5));
    assert_eq!((summary.width, summary.height), (w, h));

    let facts = facts(&path);
    assert_eq!(
        (facts.width, facts.height, facts.frames),
        (320, 240, 8),
        "{facts:?}"
    );
    let frames = decode(&path, w, h);
    assert_eq!(frames.len(), 8);
    for (i, rgb) in frames.iter().enumerate() {
        let seq = i as u64 + 1;
        let area = if (4..=6).contains(&seq) {
            (40, 0, 240, 240)
        } else {
            (0, 0, w, h)
        };
        check_card(rgb, w, area, seq, "resized");
        if (4..=6).contains(&seq) {
            for x in [5, 314] {
                let bar = pixel(rgb, w, x, 120);
                assert!(
                    bar.iter().all(|&c| c <= TOLERANCE),
                    "black bar at x {x}: {bar:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn dropping_the_recorder_still_leaves_a_playable_file() {
    let (w, h) = (320, 240);
    let display = headless(w, h);
    let path = scratch("dropped.mp4");
    let recorder = display.record(&path, RecordOptions::default()).unwrap();
    publish_cards(&display, &recorder, 1..=5, (w, h)).await;
    drop(recorder);
    // The recording thread finalises in the background: the file becomes playable soon.
    let deadline = Instant::now() + Duration::from_secs(10);
    let facts = loop {
        if try_probe(&path).is_ok_and(|json| json["streams"][0]["codec_name"] == "h264") {
            break facts(&path);
        }
        assert!(
            Instant::now() < deadline,
            "no playable file 10 s after the drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((facts.width, facts.height, facts.frames), (320, 240, 5));
    check_card(
        &decode(&path, w, h)[4],
        w,
        (0, 0, w, h),
        5,
        "after the drop",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_errors_are_errors_and_viewers_keep_streaming() {
    let (w, h) = (320, 240);
    let display = crate::common::start(w, h).await;
    let publisher = crate::common::publish_forever(&display, w, h, Duration::from_millis(20));
    let mut viewer = crate::common::viewer(&display).await;
    let mut checker = crate::common::PixelChecker::new();

    let missing_dir = scratch("no-such-dir").join("out.mp4");
    let folder = scratch("a-folder");
    std::fs::create_dir_all(&folder).unwrap();
    let full = Path::new("/dev/full");
    assert!(full.exists(), "/dev/full is there on Linux");
    for (path, what) in [
        (missing_dir.as_path(), "missing dir"),
        (folder.as_path(), "a folder"),
        (full, "/dev/full"),
    ] {
        match display.record(path, RecordOptions::default()) {
            Err(RecordError::Create { .. }) if what != "/dev/full" => {}
            Err(RecordError::Write { source, .. }) if what == "/dev/full" => {
                assert_eq!(source.raw_os_error(), Some(28), "ENOSPC");
            }
            other => panic!("{what}: {other:?}"),
        }
    }

    let path = scratch("live.mp4");
    let recorder = display.record(&path, RecordOptions::default()).unwrap();
    for _ in 0..10 {
        let frame = crate::common::frame(&mut viewer).await;
        checker.check_card(&frame);
        viewer.ack(frame.header.seq, 0).await.unwrap();
    }
    assert_eq!(display.client_count(), 1, "the recorder is not a viewer");
    assert_eq!(display.metrics_snapshot().len(), 1);
    let summary = recorder.stop().await.unwrap();
    assert!(summary.frames_written >= 5, "{summary:?}");
    assert_eq!(facts(&path).frames, summary.frames_written);
    publisher.abort();
    display.close().await;
}

/// Runs the `rfb` binary; returns stdout.
fn rfb(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rfb"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "rfb {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `(frames, skipped)` from the summary line the CLI prints.
fn summary_counts(stdout: &str) -> (u64, u64) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("recorded "))
        .expect("a summary line");
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "frames").expect("frames");
    let skipped = words[at + 1]
        .trim_start_matches('(')
        .parse()
        .expect("skipped");
    (words[at - 1].parse().expect("frames"), skipped)
}

#[test]
fn rfb_record_writes_a_clip_with_no_server() {
    let path = scratch("cli.mp4");
    let started = Instant::now();
    let out = rfb(&[
        "record",
        "--pattern",
        "test_card",
        "--frames",
        "12",
        "--width",
        "320",
        "--height",
        "240",
        path.to_str().unwrap(),
    ]);
    assert_eq!(summary_counts(&out), (12, 0), "{out}");
    let facts = facts(&path);
    assert_eq!(
        (
            facts.codec.as_str(),
            facts.width,
            facts.height,
            facts.frames
        ),
        ("h264", 320, 240, 12)
    );
    // 12 frames paced at 30 fps: 0.4 s, longer only if the machine made the tool late.
    let wall = started.elapsed().as_secs_f64();
    assert!(
        facts.duration >= 11.0 / FPS && facts.duration <= wall + 1.0 / FPS,
        "{facts:?}, ran {wall} s"
    );
    for (i, rgb) in decode(&path, 320, 240).iter().enumerate() {
        check_card(rgb, 320, (0, 0, 320, 240), i as u64 + 1, "rfb record");
    }
}

#[test]
fn rfb_serve_records_what_it_serves() {
    let path = scratch("serve.mp4");
    let out = rfb(&[
        "serve",
        "--port",
        "0",
        "--width",
        "320",
        "--height",
        "240",
        "--max-frames",
        "15",
        "--record",
        path.to_str().unwrap(),
    ]);
    let (frames, skipped) = summary_counts(&out);
    assert_eq!(frames + skipped, 15, "{out}");
    let facts = facts(&path);
    assert_eq!(
        (facts.width, facts.height, facts.frames),
        (320, 240, frames),
        "{facts:?}"
    );
}
