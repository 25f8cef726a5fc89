//! Tests of [`Mp4Sink`]: the file is read back with `shiguredo_mp4`'s demuxer for the
//! tables, and its samples are turned back into Annex B and decoded with openh264 for the
//! pixels (ffprobe/ffmpeg check whole files in `tests/suite/recording.rs`).

use std::io::Cursor;

use rfb_protocol::{expected_quadrant_color, test_card};
use shiguredo_mp4::demux::{Input, Mp4FileDemuxer};

use super::*;
use crate::decode::H264Decoder;
use crate::encode::sps::{nal_type, nal_units, NAL_PPS, NAL_SPS};
use crate::frame::Frame;
use crate::record::encoder::{RecordEncoder, RECORD_YUV};
use crate::record::{RateControl, RecordOptions};

const W: u32 = 160;
const H: u32 = 96;

fn encoder(keyframe_interval: u32) -> RecordEncoder {
    let options = RecordOptions {
        rate_control: RateControl::Quality {
            min_qp: 22,
            max_qp: 40,
        },
        keyframe_interval,
        ..RecordOptions::default()
    };
    RecordEncoder::new(W, H, &options, rfb_protocol::SRGB).expect("encoder")
}

fn card(seq: u64) -> Frame {
    Frame::rgb(W, H, test_card(seq, W, H)).expect("frame")
}

/// One sample as the demuxer reports it.
#[derive(Debug)]
struct Read {
    duration: u32,
    keyframe: bool,
    data: Vec<u8>,
    avcc: Option<(Vec<u8>, Vec<u8>)>,
}

fn read_back(file: &[u8]) -> Vec<Read> {
    let mut demuxer = Mp4FileDemuxer::new();
    while let Some(required) = demuxer.required_input() {
        let start = required.position as usize;
        demuxer.handle_input(Input {
            position: required.position,
            data: &file[start.min(file.len())..],
        });
    }
    let tracks = demuxer.tracks().expect("tracks");
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].timescale.get(), TIMESCALE);
    let mut samples = Vec::new();
    while let Some(sample) = demuxer.next_sample().expect("sample") {
        let range = sample.data_offset as usize..sample.data_offset as usize + sample.data_size;
        let avcc = match sample.sample_entry {
            Some(SampleEntry::Avc1(avc1)) => Some((
                avc1.avcc_box.sps_list[0].clone(),
                avc1.avcc_box.pps_list[0].clone(),
            )),
            _ => None,
        };
        samples.push(Read {
            duration: sample.duration,
            keyframe: sample.keyframe,
            data: file[range].to_vec(),
            avcc,
        });
    }
    samples
}

/// Length-prefixed NAL units to Annex B.
fn annex_b(sample: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = sample;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    assert!(rest.is_empty(), "lengths cover the sample exactly");
    out
}

/// Writes `timestamps_us.len()` test cards (pattern seq = index) and stops at `stop_us`.
fn record(timestamps_us: &[u64], stop_us: u64, keyframe_interval: u32) -> (Vec<u8>, SinkSummary) {
    let mut sink =
        Mp4Sink::start(Cursor::new(Vec::new()), Path::new("mem.mp4"), 0, 30.0).expect("start");
    let mut encoder = encoder(keyframe_interval);
    for (seq, &ts) in timestamps_us.iter().enumerate() {
        let au = encoder
            .encode(&card(seq as u64), ts)
            .expect("encode")
            .expect("au");
        sink.write(au.data, au.keyframe, ts).expect("write");
    }
    let (out, summary) = sink.finish(stop_us).expect("finish");
    (out.into_inner(), summary)
}

#[test]
fn durations_sync_samples_and_pixels_read_back() {
    // 30 fps, then a 2 s pause before the last frame; stopped right after it.
    let mut timestamps: Vec<u64> = (0..9).map(|i| i * 33_334).collect();
    timestamps.push(266_672 + 2_000_000);
    let (file, summary) = record(&timestamps, 2_266_672 + 10, 4);
    let samples = read_back(&file);
    assert_eq!(samples.len(), 10);
    assert_eq!(summary.samples, 10);
    assert_eq!(summary.bytes, file.len() as u64);
    let durations: Vec<u32> = samples.iter().map(|s| s.duration).collect();
    assert_eq!(&durations[..8], &[3_000; 8], "33.334 ms each");
    assert_eq!(durations[8], 180_000, "the 2 s pause");
    assert_eq!(durations[9], 3_000, "last: one frame period");
    assert_eq!(summary.duration, Duration::from_micros(2_300_000));
    let keyframes: Vec<usize> = (0..10).filter(|&i| samples[i].keyframe).collect();
    assert_eq!(keyframes, vec![0, 4, 8], "stss lists the IDRs");

    let (sps, pps) = samples[0].avcc.clone().expect("avcC on the first sample");
    let mut decoder = H264Decoder::new().expect("decoder");
    for (seq, sample) in samples.iter().enumerate() {
        let types: Vec<u8> = nal_units(&annex_b(&sample.data))
            .into_iter()
            .filter_map(nal_type)
            .collect();
        assert!(
            !types.contains(&NAL_SPS) && !types.contains(&NAL_PPS),
            "parameter sets live in avcC: {types:?}"
        );
        let mut au = Vec::new();
        if seq == 0 {
            for ps in [&sps, &pps] {
                au.extend_from_slice(&[0, 0, 0, 1]);
                au.extend_from_slice(ps);
            }
        }
        au.extend_from_slice(&annex_b(&sample.data));
        let frame = decoder
            .decode(&au, RECORD_YUV)
            .expect("decode")
            .expect("picture");
        for q in 0..4 {
            let error = frame.quadrant_error(q, expected_quadrant_color(seq as u64, q));
            assert!(error <= 6, "sample {seq} quadrant {q}: error {error}");
        }
    }
}

#[test]
fn the_first_access_unit_must_be_an_idr() {
    let mut encoder = encoder(0);
    let idr = encoder.encode(&card(0), 0).expect("encode").expect("au");
    assert!(idr.keyframe);
    let p = encoder.encode(&card(1), 1).expect("encode").expect("au");
    assert!(!p.keyframe);
    let mut sink =
        Mp4Sink::start(Cursor::new(Vec::new()), Path::new("mem.mp4"), 0, 30.0).expect("start");
    assert!(matches!(
        sink.write(p.data, false, 0),
        Err(RecordError::Mux(_))
    ));
}

#[test]
fn nothing_written_is_no_frames() {
    let sink =
        Mp4Sink::start(Cursor::new(Vec::new()), Path::new("mem.mp4"), 0, 30.0).expect("start");
    assert!(matches!(
        sink.finish(1_000_000),
        Err(RecordError::NoFrames { .. })
    ));
}

/// A writer that fails with "no space left" once `room` bytes are used.
struct Full {
    inner: Cursor<Vec<u8>>,
    room: usize,
}

impl Write for Full {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.inner.get_ref().len() + buf.len() > self.room {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Full {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn a_full_disk_is_a_write_error_naming_the_file() {
    let full = |room| Full {
        inner: Cursor::new(Vec::new()),
        room,
    };
    assert!(matches!(
        Mp4Sink::start(full(10), Path::new("x.mp4"), 0, 30.0),
        Err(RecordError::Write { .. })
    ));
    let mut sink = Mp4Sink::start(full(2_000), Path::new("x.mp4"), 0, 30.0).expect("start");
    let mut encoder = encoder(1);
    let failure = (0..100u64)
        .map(|seq| {
            let au = encoder
                .encode(&card(seq), seq)
                .expect("encode")
                .expect("au");
            sink.write(au.data, au.keyframe, seq)
        })
        .find_map(Result::err)
        .expect("the disk fills up");
    match failure {
        RecordError::Write { path, source } => {
            assert_eq!(path, Path::new("x.mp4"));
            assert_eq!(source.raw_os_error(), Some(28));
        }
        other => panic!("{other:?}"),
    }
}
