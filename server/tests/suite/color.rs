//! Display P3 frames say so in their payloads: the H.264 SPS (raw Annex B and MP4
//! recordings) signals SMPTE EG 432-1 primaries and images embed a Display P3 ICC profile,
//! checked with independent readers (ffprobe, ffmpeg), while sRGB payloads stay BT.709 and
//! profile-free. The pixels are never converted, which the decoded colours show.

use std::path::Path;
use std::process::Command;

use crate::probe::{check_card, decode, scratch};
use rfb::encode::h264::OpenH264Encoder;
use rfb::encode::icc;
use rfb::encode::image::ImageEncoder;
use rfb::encode::{Encoder, EncoderSpec};
use rfb::{Display, Frame, FrameMeta, RecordOptions, StreamOptions};
use rfb_protocol::{test_card, ColorSpace, ImageFormat, Transport, VideoCodec, DISPLAY_P3, SRGB};
use serde_json::Value;

fn card(seq: u64, w: u32, h: u32) -> Frame {
    Frame::rgb(w, h, test_card(seq, w, h)).unwrap()
}

fn ffprobe(args: &[&str], path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe (Debian's ffmpeg package, scripts/setup.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// ffprobe's colour fields of the first video stream: primaries, transfer, matrix, range.
fn stream_colour(path: &Path) -> [String; 4] {
    let json = ffprobe(&["-show_streams", "-select_streams", "v:0"], path);
    let s = &json["streams"][0];
    [
        "color_primaries",
        "color_transfer",
        "color_space",
        "color_range",
    ]
    .map(|key| s[key].as_str().unwrap_or_default().to_string())
}

fn expected_colour(color: ColorSpace) -> [String; 4] {
    let primaries = if color == DISPLAY_P3 {
        "smpte432"
    } else {
        "bt709"
    };
    [primaries, "iec61966-2-1", "smpte170m", "tv"].map(str::to_string)
}

#[test]
fn a_raw_h264_stream_signals_its_primaries_and_ffmpeg_decodes_it() {
    let (w, h) = (320, 240);
    for (color, name) in [(DISPLAY_P3, "p3.h264"), (SRGB, "srgb.h264")] {
        let spec = EncoderSpec {
            color,
            keyframe_interval: 5,
            ..EncoderSpec::new(Transport::Video(VideoCodec::H264AnnexB), w, h)
        };
        let mut encoder = OpenH264Encoder::new(&spec).unwrap();
        let mut stream = Vec::new();
        for seq in 0..12 {
            for payload in encoder.encode(&card(seq, w, h), false).unwrap() {
                stream.extend_from_slice(&payload.data);
            }
        }
        assert!(encoder.codec_string().starts_with("avc1.42"));
        let path = scratch(name);
        std::fs::write(&path, &stream).unwrap();
        assert_eq!(stream_colour(&path), expected_colour(color), "{name}");
        let frames = decode(&path, w, h);
        assert_eq!(frames.len(), 12, "{name}: every frame decodes");
        for (seq, rgb) in frames.iter().enumerate() {
            check_card(rgb, w, (0, 0, w, h), seq as u64, name);
        }
    }
}

#[tokio::test]
async fn a_p3_recording_signals_smpte432_and_keeps_its_pixels() {
    let (w, h) = (320, 240);
    let display = Display::headless(w, h, StreamOptions::default()).unwrap();
    let path = scratch("p3.mp4");
    let recorder = display.record(&path, RecordOptions::default()).unwrap();
    let meta = FrameMeta {
        color: DISPLAY_P3,
        ..FrameMeta::default()
    };
    for seq in 1..=5 {
        display.publish_with(card(seq, w, h), meta.clone()).unwrap();
        assert!(recorder.wait_recorded(seq).await);
    }
    recorder.stop().await.unwrap();
    assert_eq!(stream_colour(&path), expected_colour(DISPLAY_P3));
    let frames = decode(&path, w, h);
    assert_eq!(frames.len(), 5);
    for (i, rgb) in frames.iter().enumerate() {
        check_card(rgb, w, (0, 0, w, h), i as u64 + 1, "p3.mp4");
    }
}

#[tokio::test]
async fn a_recording_that_changes_colour_restarts_with_the_new_primaries() {
    let (w, h) = (320, 240);
    let display = Display::headless(w, h, StreamOptions::default()).unwrap();
    let path = scratch("switch.mp4");
    let recorder = display.record(&path, RecordOptions::default()).unwrap();
    for seq in 1..=6 {
        let color = if seq <= 3 { SRGB } else { DISPLAY_P3 };
        let meta = FrameMeta {
            color,
            ..FrameMeta::default()
        };
        display.publish_with(card(seq, w, h), meta).unwrap();
        assert!(recorder.wait_recorded(seq).await);
    }
    recorder.stop().await.unwrap();
    let keyframes: Vec<bool> = crate::probe::packets(&path)
        .iter()
        .map(|p| p.keyframe)
        .collect();
    assert_eq!(
        keyframes,
        [true, false, false, true, false, false],
        "an IDR at the switch"
    );
    let json = ffprobe(
        &["-show_frames", "-show_entries", "frame=color_primaries"],
        &path,
    );
    let primaries: Vec<&str> = json["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["color_primaries"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        primaries,
        ["bt709", "bt709", "bt709", "smpte432", "smpte432", "smpte432"]
    );
    let frames = decode(&path, w, h);
    assert_eq!(frames.len(), 6);
    for (i, rgb) in frames.iter().enumerate() {
        check_card(rgb, w, (0, 0, w, h), i as u64 + 1, "switch.mp4");
    }
}

/// The sizes of the ICC profiles ffmpeg's decoder exports for the first frame of an image
/// file.
fn ffmpeg_icc_sizes(path: &Path) -> Vec<u64> {
    let json = ffprobe(
        &["-show_frames", "-show_entries", "frame=side_data_list"],
        path,
    );
    let list = json["frames"][0]["side_data_list"].as_array().cloned();
    list.unwrap_or_default()
        .iter()
        .filter(|d| d["side_data_type"] == "ICC profile")
        .map(|d| d["size"].as_u64().unwrap_or(0))
        .collect()
}

/// The ICC profile an image carries, as the decoders read it (`image` for PNG and WebP,
/// the `APP2` reader for JPEG).
fn embedded_profile(format: ImageFormat, data: &[u8]) -> Option<Vec<u8>> {
    use image::ImageDecoder as _;
    let cursor = std::io::Cursor::new(data);
    match format {
        ImageFormat::Jpeg => icc::jpeg_icc_profile(data),
        ImageFormat::Png => image::codecs::png::PngDecoder::new(cursor)
            .unwrap()
            .icc_profile()
            .unwrap(),
        ImageFormat::Webp => image::codecs::webp::WebPDecoder::new(cursor)
            .unwrap()
            .icc_profile()
            .unwrap(),
    }
}

#[test]
fn p3_images_embed_the_profile_ffmpeg_reads_and_srgb_images_none() {
    let (w, h) = (96, 64);
    for format in ImageFormat::ALL {
        for color in [DISPLAY_P3, SRGB] {
            let spec = EncoderSpec {
                color,
                ..EncoderSpec::new(Transport::Image(format), w, h)
            };
            let mut encoder = ImageEncoder::new(&spec).unwrap();
            let payload = encoder.encode(&card(1, w, h), false).unwrap().remove(0);
            let name = format!(
                "{}.{}",
                color.canvas_color_space(),
                Transport::Image(format).name()
            );
            let path = scratch(&name);
            std::fs::write(&path, &payload.data).unwrap();
            let (sizes, profile) = if color == DISPLAY_P3 {
                let p3 = icc::display_p3().expect("the Display P3 profile encodes");
                (vec![p3.len() as u64], Some(p3))
            } else {
                (vec![], None)
            };
            assert_eq!(
                ffmpeg_icc_sizes(&path),
                sizes,
                "{name}: ffmpeg's ICC side data"
            );
            let embedded = embedded_profile(format, &payload.data);
            assert_eq!(embedded.as_deref(), profile, "{name}");
            let frames = decode(&path, w, h);
            assert_eq!(frames.len(), 1, "{name}");
            check_card(&frames[0], w, (0, 0, w, h), 1, &name);
        }
    }
}

/// Sessions build encoders from the frame's colour (the lead's wiring of
/// `EncoderSpec::color` in sessions, lanes and the image cache).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_of_a_p3_display_get_p3_payloads() {
    use crate::common::*;
    use rfb::encode::sps;
    use rfb_protocol::CAP_H264_ANNEXB;

    let (w, h) = (320, 240);
    for caps in [
        [CAP_H264_ANNEXB],
        ["image/jpeg"],
        ["image/png"],
        ["image/webp"],
    ] {
        let display = start(w, h).await;
        let meta = FrameMeta {
            color: DISPLAY_P3,
            ..FrameMeta::default()
        };
        display.publish_with(card(1, w, h), meta).unwrap();
        let mut client = viewer_with(&display, &caps).await;
        let f = frame(&mut client).await;
        assert_eq!(f.config.color, DISPLAY_P3, "{caps:?}");
        match f.config.transport {
            Transport::Video(_) => {
                let info = sps::parse_sps(sps::find_sps(&f.payload).unwrap()).unwrap();
                let colour = info.video_signal.and_then(|v| v.colour);
                assert_eq!(colour, Some((12, 13, 6)));
            }
            Transport::Image(format) => {
                let profile = embedded_profile(format, &f.payload);
                assert_eq!(profile.as_deref(), icc::display_p3(), "{caps:?}");
            }
        }
        PixelChecker::new().check_card(&f);
        display.close().await;
    }
}
