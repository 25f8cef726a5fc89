//! Tests of [`Fmp4Sink`]: the file is walked box by box (`moof`s decoded with
//! `shiguredo_mp4`), read back with its fMP4 demuxer, and its samples decoded with openh264.
//! The "file" is a shared buffer, so a test can look at it mid-recording, as a player
//! reading the file of a killed process would (ffprobe and ffmpeg check real files in
//! `tests/recording*.rs`).

use std::cell::RefCell;
use std::io::Cursor;
use std::rc::Rc;

use rfb_protocol::{expected_quadrant_color, test_card, DISPLAY_P3, SRGB};
use shiguredo_mp4::boxes::{MfraBox, MoofBox};
use shiguredo_mp4::demux::{DemuxError, Fmp4FileDemuxer, Input, RequiredInput};
use shiguredo_mp4::BoxHeader;

use super::*;
use crate::decode::H264Decoder;
use crate::frame::Frame;
use crate::record::encoder::{RecordEncoder, RECORD_YUV};
use crate::record::fragmenter::FRAGMENT_TICKS;
use crate::record::{RateControl, RecordOptions};

const W: u32 = 160;
const H: u32 = 96;
/// 1/30 s in µs, rounded up.
const PERIOD_US: u64 = 33_334;

/// When frame `seq` of a steady 30 fps stream is published: at tick 3000 `seq` exactly.
fn at(seq: u64) -> u64 {
    (seq * 1_000_000).div_ceil(30)
}

/// A file shared between the sink and the test.
#[derive(Debug, Clone, Default)]
struct Shared(Rc<RefCell<Cursor<Vec<u8>>>>);

impl Shared {
    fn bytes(&self) -> Vec<u8> {
        self.0.borrow().get_ref().clone()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Shared {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.0.borrow_mut().seek(pos)
    }
}

impl SyncData for Shared {
    fn sync_data(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn encoder(keyframe_interval: u32, color: rfb_protocol::ColorSpace) -> RecordEncoder {
    let options = RecordOptions {
        rate_control: RateControl::Quality {
            min_qp: 22,
            max_qp: 40,
        },
        keyframe_interval,
        ..RecordOptions::default()
    };
    RecordEncoder::new(W, H, &options, color).expect("encoder")
}

fn card(seq: u64) -> Frame {
    Frame::rgb(W, H, test_card(seq, W, H)).expect("frame")
}

fn start() -> (Fmp4Sink<Shared>, Shared) {
    let file = Shared::default();
    let sink = Fmp4Sink::start(file.clone(), Path::new("mem.mp4"), 0, 30.0).expect("start");
    (sink, file)
}

/// Encodes test card `seq` and writes it as published at `at_us`.
fn put(sink: &mut Fmp4Sink<Shared>, encoder: &mut RecordEncoder, seq: u64, at_us: u64) {
    let au = encoder
        .encode(&card(seq), at_us)
        .expect("encode")
        .expect("au");
    sink.write(au.data, au.keyframe, at_us).expect("write");
}

/// The top-level boxes: `(type, offset, size)`.
fn boxes(file: &[u8]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < file.len() {
        let (header, _) = BoxHeader::decode(&file[at..]).expect("box header");
        let size = header.box_size.get() as usize;
        assert!(
            size >= 8 && at + size <= file.len(),
            "box at {at}: {size} bytes"
        );
        let name = String::from_utf8_lossy(header.box_type.as_bytes()).into_owned();
        out.push((name, at, size));
        at += size;
    }
    out
}

fn names(file: &[u8]) -> Vec<String> {
    boxes(file).into_iter().map(|b| b.0).collect()
}

/// Each `moof`: (offset, `tfdt` decode time, sample durations, sample description index).
fn fragments(file: &[u8]) -> Vec<(usize, u64, Vec<u32>, Option<u32>)> {
    boxes(file)
        .into_iter()
        .filter(|b| b.0 == "moof")
        .map(|(_, at, size)| {
            let (moof, _) = MoofBox::decode(&file[at..at + size]).expect("moof");
            let traf = &moof.traf_boxes[0];
            let durations = traf.trun_boxes[0]
                .samples
                .iter()
                .map(|s| s.duration.expect("a duration per sample"))
                .collect();
            let tfdt = traf.tfdt_box.as_ref().expect("tfdt").base_media_decode_time;
            (at, tfdt, durations, traf.tfhd_box.sample_description_index)
        })
        .collect()
}

/// The `moov` in the header region.
fn moov(file: &[u8]) -> MoovBox {
    let (_, at, size) = boxes(file)
        .into_iter()
        .find(|b| b.0 == "moov")
        .expect("a moov");
    MoovBox::decode(&file[at..at + size]).expect("moov").0
}

/// The durations the header declares: (`mehd` and `mvhd` in ms, `mdhd` in ticks).
fn declared(file: &[u8]) -> (u64, u64, u64) {
    let moov = moov(file);
    let mehd = moov.mvex_box.and_then(|m| m.mehd_box).expect("mehd");
    let mdhd = moov.trak_boxes[0].mdia_box.mdhd_box.duration;
    (mehd.fragment_duration, moov.mvhd_box.duration, mdhd)
}

/// One sample as the fMP4 demuxer reports it.
#[derive(Debug)]
struct Read {
    timestamp: u64,
    duration: u32,
    keyframe: bool,
    data: Vec<u8>,
    avcc: Option<(Vec<u8>, Vec<u8>)>,
}

fn read_back(file: &[u8]) -> Vec<Read> {
    let mut demuxer = Fmp4FileDemuxer::new();
    // Input is asked for as the demuxer goes, between samples too.
    let feed = |demuxer: &mut Fmp4FileDemuxer, required: RequiredInput| {
        let start = (required.position as usize).min(file.len());
        let end = required
            .size
            .map_or(file.len(), |size| (start + size).min(file.len()));
        demuxer.handle_input(Input {
            position: required.position,
            data: &file[start..end],
        });
    };
    let tracks = loop {
        match demuxer.tracks() {
            Ok(tracks) => break tracks.to_vec(),
            Err(DemuxError::InputRequired(required)) => feed(&mut demuxer, required),
            Err(e) => panic!("tracks: {e}"),
        }
    };
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        (tracks[0].track_id, tracks[0].timescale.get()),
        (TRACK_ID, TIMESCALE)
    );
    let mut samples = Vec::new();
    loop {
        let required = match demuxer.next_sample() {
            Ok(Some(sample)) => {
                let start = sample.data_offset as usize;
                let avcc = match sample.sample_entry {
                    Some(SampleEntry::Avc1(avc1)) => Some((
                        avc1.avcc_box.sps_list[0].clone(),
                        avc1.avcc_box.pps_list[0].clone(),
                    )),
                    _ => None,
                };
                samples.push(Read {
                    timestamp: sample.timestamp,
                    duration: sample.duration,
                    keyframe: sample.keyframe,
                    data: file[start..start + sample.data_size].to_vec(),
                    avcc,
                });
                continue;
            }
            Ok(None) => break,
            Err(DemuxError::InputRequired(required)) => required,
            Err(e) => panic!("sample {}: {e}", samples.len()),
        };
        feed(&mut demuxer, required);
    }
    samples
}

/// Decodes every sample and checks it shows test card `seqs[i]`.
fn check_pictures(samples: &[Read], seqs: &[u64]) {
    assert_eq!(samples.len(), seqs.len());
    let mut decoder = H264Decoder::new().expect("decoder");
    for (sample, &seq) in samples.iter().zip(seqs) {
        let mut au = Vec::new();
        if let Some((sps, pps)) = &sample.avcc {
            for ps in [sps, pps] {
                au.extend_from_slice(&[0, 0, 0, 1]);
                au.extend_from_slice(ps);
            }
        }
        let mut rest = sample.data.as_slice();
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            au.extend_from_slice(&[0, 0, 0, 1]);
            au.extend_from_slice(&rest[4..4 + len]);
            rest = &rest[4 + len..];
        }
        assert!(rest.is_empty(), "lengths cover the sample exactly");
        let frame = decoder
            .decode(&au, RECORD_YUV)
            .expect("decode")
            .expect("picture");
        for q in 0..4 {
            let error = frame.quadrant_error(q, expected_quadrant_color(seq, q));
            assert!(error <= 6, "card {seq} quadrant {q}: error {error}");
        }
    }
}

#[test]
fn one_second_fragments_with_continuous_decode_times_an_index_and_the_right_pictures() {
    let (mut sink, file) = start();
    let mut encoder = encoder(20, SRGB);
    for seq in 0..75u64 {
        put(&mut sink, &mut encoder, seq, at(seq));
    }
    let (_, summary) = sink.finish(2_500_000).expect("finish");
    let bytes = file.bytes();
    assert_eq!(summary.bytes, bytes.len() as u64);
    assert_eq!(summary.samples, 75);
    assert_eq!(summary.duration, Duration::from_micros(2_500_000));

    let expected = [
        "ftyp", "moov", "free", "moof", "mdat", "moof", "mdat", "moof", "mdat", "mfra",
    ];
    assert_eq!(names(&bytes), expected);
    let free = &boxes(&bytes)[2];
    assert_eq!(
        free.1 + free.2,
        HEADER_BYTES,
        "ftyp + moov + free fill the first page"
    );

    let fragments = fragments(&bytes);
    let mut decode_time = 0;
    for (i, (_, tfdt, durations, _)) in fragments.iter().enumerate() {
        assert_eq!(
            *tfdt, decode_time,
            "fragment {i}: tfdt is the sum of earlier durations"
        );
        let length: u64 = durations.iter().map(|d| u64::from(*d)).sum();
        assert!(length <= FRAGMENT_TICKS, "fragment {i}: {length} ticks");
        decode_time += length;
    }
    let counts: Vec<usize> = fragments.iter().map(|f| f.2.len()).collect();
    assert_eq!(counts, vec![30, 30, 15]);
    assert_eq!(decode_time, 225_000, "2.5 s");

    let samples = read_back(&bytes);
    assert!(samples.iter().all(|s| s.duration == 3_000));
    let times: Vec<u64> = samples.iter().map(|s| s.timestamp).collect();
    assert_eq!(times, (0..75).map(|i| i * 3_000).collect::<Vec<_>>());
    let keyframes: Vec<usize> = (0..75).filter(|&i| samples[i].keyframe).collect();
    assert_eq!(keyframes, vec![0, 20, 40, 60]);
    check_pictures(&samples, &(0..75).collect::<Vec<_>>());

    // mfra: one entry per IDR, pointing at the moof that holds it; mehd: the duration.
    let mfra_at = boxes(&bytes)[9].1;
    let (mfra, _) = MfraBox::decode(&bytes[mfra_at..]).expect("mfra");
    assert_eq!(mfra.mfro_box.size as usize, bytes.len() - mfra_at);
    let entries: Vec<(u64, usize, u32)> = mfra.tfra_boxes[0]
        .entries
        .iter()
        .map(|e| (e.time, e.moof_offset as usize, e.sample_number))
        .collect();
    let moof = |i: usize| fragments[i].0;
    assert_eq!(
        entries,
        vec![
            (0, moof(0), 1),
            (60_000, moof(0), 21),
            (120_000, moof(1), 11),
            (180_000, moof(2), 1)
        ]
    );
    assert_eq!(
        declared(&bytes),
        (2_500, 2_500, 225_000),
        "ms (movie) and ticks (track)"
    );
}

#[test]
fn a_killed_recording_plays_up_to_its_last_closed_fragment() {
    let (mut sink, file) = start();
    let mut encoder = encoder(60, SRGB);
    assert_eq!(
        names(&file.bytes()),
        ["ftyp", "free"],
        "a header before any frame"
    );
    for seq in 0..70u64 {
        put(&mut sink, &mut encoder, seq, at(seq));
    }
    // The process dies here: no finish, and what is in the file is all there is.
    let bytes = file.bytes();
    assert_eq!(
        names(&bytes),
        ["ftyp", "moov", "free", "moof", "mdat", "moof", "mdat"]
    );
    let samples = read_back(&bytes);
    assert_eq!(
        samples.len(),
        60,
        "two closed fragments; frames 60..69 were open"
    );
    assert_eq!(
        declared(&bytes),
        (2_000, 2_000, 180_000),
        "the header says what is there"
    );
    check_pictures(&samples, &(0..60).collect::<Vec<_>>());
    drop(sink);
}

#[test]
fn a_still_stream_is_written_by_wall_time_and_its_pause_grows_in_place() {
    let (mut sink, file) = start();
    let mut encoder = encoder(60, SRGB);
    put(&mut sink, &mut encoder, 0, 0);
    put(&mut sink, &mut encoder, 1, PERIOD_US);
    assert_eq!(
        sink.deadline_us(),
        Some(1_033_334),
        "1 s and one period of grace"
    );
    sink.tick(1_033_333).expect("tick");
    assert_eq!(names(&file.bytes()), ["ftyp", "free"], "not yet");
    sink.tick(1_100_000).expect("tick");
    let closed = file.bytes();
    assert_eq!(names(&closed), ["ftyp", "moov", "free", "moof", "mdat"]);
    let samples = read_back(&closed);
    let durations: Vec<u32> = samples.iter().map(|s| s.duration).collect();
    assert_eq!(
        durations,
        vec![3_000, 96_000],
        "frame 1 on screen until now (1.1 s)"
    );
    assert_eq!(declared(&closed), (1_100, 1_100, 99_000));
    check_pictures(&samples, &[0, 1]);

    // Still nothing new: frame 1 grows in place, the file does not.
    assert_eq!(sink.deadline_us(), Some(2_100_000));
    sink.tick(2_100_000).expect("tick");
    let grown = file.bytes();
    assert_eq!(grown.len(), closed.len(), "rewritten in place");
    // Past the header (which now declares 2.1 s), only the sample's duration changed.
    let changed: Vec<usize> = (HEADER_BYTES..grown.len())
        .filter(|&i| grown[i] != closed[i])
        .collect();
    assert!(
        !changed.is_empty() && changed[changed.len() - 1] - changed[0] < 4,
        "bytes {changed:?}"
    );
    assert_eq!(read_back(&grown)[1].duration, 186_000, "until 2.1 s");
    assert_eq!(declared(&grown), (2_100, 2_100, 189_000));

    // Frame 2 at 3 s: frame 1 lasts the whole pause, frame 2 starts at 3 s.
    put(&mut sink, &mut encoder, 2, 3_000_000);
    put(&mut sink, &mut encoder, 3, 3_000_000 + PERIOD_US);
    sink.finish(3_000_000 + 2 * PERIOD_US).expect("finish");
    let bytes = file.bytes();
    let fragments = fragments(&bytes);
    assert_eq!(fragments.len(), 2);
    assert_eq!(fragments[0].2, vec![3_000, 267_000]);
    assert_eq!(
        fragments[1].1, 270_000,
        "the next fragment starts where the pause ended"
    );
    assert_eq!(fragments[1].2, vec![3_000, 3_000]);
    let samples = read_back(&bytes);
    let times: Vec<u64> = samples.iter().map(|s| s.timestamp).collect();
    assert_eq!(times, vec![0, 3_000, 270_000, 273_000]);
    check_pictures(&samples, &[0, 1, 2, 3]);
}

#[test]
fn a_colour_change_adds_a_sample_entry_to_the_header_in_place() {
    let (mut sink, file) = start();
    let mut srgb = encoder(60, SRGB);
    for seq in 0..31u64 {
        put(&mut sink, &mut srgb, seq, at(seq));
    }
    let one_entry = boxes(&file.bytes())[1].2;
    // The worker restarts the encoder for another colour tag: an IDR with a new SPS.
    let mut p3 = encoder(60, DISPLAY_P3);
    for seq in 31..62u64 {
        put(&mut sink, &mut p3, seq, at(seq));
    }
    sink.finish(at(62)).expect("finish");
    let bytes = file.bytes();
    let header = boxes(&bytes);
    assert!(
        header[1].2 > one_entry,
        "moov grew: {} -> {}",
        one_entry,
        header[1].2
    );
    assert_eq!(
        header[2].1 + header[2].2,
        HEADER_BYTES,
        "within the first page still"
    );
    let moov = moov(&bytes);
    let entries = &moov.trak_boxes[0]
        .mdia_box
        .minf_box
        .stbl_box
        .stsd_box
        .entries;
    assert_eq!(entries.len(), 2);
    // Frame 31 starts a fragment (one entry per fragment); frames 31..61 use the P3 one.
    let fragments = fragments(&bytes);
    let indexes: Vec<Option<u32>> = fragments.iter().map(|f| f.3).collect();
    assert_eq!(indexes, vec![None, None, Some(2), Some(2)]);
    let counts: Vec<usize> = fragments.iter().map(|f| f.2.len()).collect();
    assert_eq!(counts, vec![30, 1, 30, 1]);
    let samples = read_back(&bytes);
    assert_eq!(samples.len(), 62);
    assert!(
        samples[31].keyframe && samples[31].avcc.is_some(),
        "the new entry's IDR"
    );
    // It also carries its parameter sets in-band (ffmpeg ignores the fragment's entry
    // index); the first IDR does not (they are in the first entry's avcC only).
    let in_band = |sample: &Read| -> Vec<u8> {
        let mut types = Vec::new();
        let mut rest = sample.data.as_slice();
        while rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            types.push(rest[4] & 0x1f);
            rest = &rest[4 + len..];
        }
        types.into_iter().filter(|t| *t == 7 || *t == 8).collect()
    };
    assert_eq!(
        in_band(&samples[31]),
        vec![7, 8],
        "SPS and PPS in the P3 IDR"
    );
    let (sps, _) = samples[31].avcc.clone().expect("avcC");
    assert!(
        samples[31].data.windows(sps.len()).any(|w| w == sps),
        "the entry's own SPS"
    );
    assert!(in_band(&samples[0]).is_empty());
    check_pictures(&samples, &(0..62).collect::<Vec<_>>());
}

#[test]
fn nothing_written_is_no_frames() {
    let (sink, file) = start();
    assert!(matches!(
        sink.finish(1_000_000),
        Err(RecordError::NoFrames { .. })
    ));
    assert_eq!(names(&file.bytes()), ["ftyp", "free"]);
}

#[test]
fn the_first_access_unit_must_be_an_idr() {
    let mut encoder = encoder(0, SRGB);
    let _idr = encoder.encode(&card(0), 0).expect("encode").expect("au");
    let p = encoder.encode(&card(1), 1).expect("encode").expect("au");
    assert!(!p.keyframe);
    let (mut sink, _) = start();
    assert!(matches!(
        sink.write(p.data, false, 0),
        Err(RecordError::Mux(_))
    ));
}

/// A file that fails with "no space left" once `room` bytes are used.
#[derive(Debug)]
struct Full {
    inner: Cursor<Vec<u8>>,
    room: usize,
}

impl Write for Full {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.inner.position() as usize + buf.len() > self.room {
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

impl SyncData for Full {
    fn sync_data(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_disk_is_a_write_error_and_ends_the_writing() {
    let full = |room| Full {
        inner: Cursor::new(Vec::new()),
        room,
    };
    assert!(matches!(
        Fmp4Sink::start(full(100), Path::new("x.mp4"), 0, 30.0),
        Err(RecordError::Write { .. })
    ));
    let mut sink =
        Fmp4Sink::start(full(HEADER_BYTES + 2_000), Path::new("x.mp4"), 0, 30.0).expect("start");
    let mut encoder = encoder(1, SRGB);
    let failure = (0..200u64)
        .map(|seq| {
            let au = encoder
                .encode(&card(seq), seq)
                .expect("encode")
                .expect("au");
            sink.write(au.data, au.keyframe, at(seq))
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
    assert!(
        matches!(sink.finish(10_000_000), Err(RecordError::Mux(_))),
        "nothing is written after a failed write"
    );
}
