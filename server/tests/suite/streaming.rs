//! Frames reach viewers with the right pixels on both transports.

use std::time::Duration;

use crate::common::*;
use rfb::encode::sps;
use rfb_protocol::{ImageFormat, Transport, VideoCodec, CAP_H264_ANNEXB};

async fn decodes_many_consecutive_frames(caps: &[&str], expected: Transport) {
    let (w, h) = (640, 480);
    let display = start(w, h).await;
    let publisher = publish_forever(&display, w, h, Duration::from_millis(15));
    let mut client = viewer_with(&display, caps).await;
    let mut checker = PixelChecker::new();
    let first = frame(&mut client).await;
    assert_eq!(first.config.transport, expected);
    assert!(first.header.keyframe, "the first frame is a keyframe");
    checker.check_card(&first);
    client.ack(first.header.seq, 0).await.unwrap();
    let mut last_frame_seq = first.header.frame_seq;
    for _ in 0..40 {
        let f = frame(&mut client).await;
        assert!(
            f.header.frame_seq > last_frame_seq,
            "frames arrive in publish order"
        );
        last_frame_seq = f.header.frame_seq;
        checker.check_card(&f);
        client.ack(f.header.seq, 0).await.unwrap();
    }
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_frames_decode_to_the_test_card() {
    decodes_many_consecutive_frames(
        &[CAP_H264_ANNEXB, "image/jpeg"],
        Transport::Video(VideoCodec::H264AnnexB),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jpeg_frames_decode_to_the_test_card() {
    decodes_many_consecutive_frames(&["image/jpeg"], Transport::Image(ImageFormat::Jpeg)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn png_and_webp_frames_decode_to_the_test_card() {
    decodes_many_consecutive_frames(&["image/png"], Transport::Image(ImageFormat::Png)).await;
    decodes_many_consecutive_frames(&["image/webp"], Transport::Image(ImageFormat::Webp)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_config_carries_the_codec_of_the_emitted_sps() {
    let display = start(1280, 720).await;
    publish_card(&display, 1280, 720);
    let mut client = viewer(&display).await;
    let f = frame(&mut client).await;
    let sps_nal = sps::find_sps(&f.payload).expect("SPS in band on the keyframe");
    assert_eq!(f.config.codec, sps::codec_string(sps_nal));
    assert!(f.config.codec.starts_with("avc1."), "{}", f.config.codec);
    assert!(sps::has_sps_pps_idr(&f.payload));
    assert_eq!((f.config.width, f.config.height), (1280, 720));
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_viewer_gets_a_keyframe_on_attach() {
    let (w, h) = (320, 240);
    let display = start(w, h).await;
    let publisher = publish_forever(&display, w, h, Duration::from_millis(10));
    let mut first = viewer(&display).await;
    for _ in 0..5 {
        let f = frame(&mut first).await;
        first.ack(f.header.seq, 0).await.unwrap();
    }
    // A second viewer joining mid-stream starts with a keyframe and correct pixels.
    let mut second = viewer(&display).await;
    let f = frame(&mut second).await;
    assert!(f.header.keyframe);
    assert_eq!(f.header.seq, 1);
    PixelChecker::new().check_card(&f);
    assert_eq!(display.client_count(), 2);
    publisher.abort();
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_are_the_real_publish_times() {
    let (w, h) = (64, 48);
    let display = start(w, h).await;
    let mut client = viewer(&display).await;
    publish_card(&display, w, h);
    let a = frame(&mut client).await;
    client.ack(a.header.seq, 0).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish_card(&display, w, h);
    let b = frame(&mut client).await;
    let gap_ms = (b.header.timestamp_us - a.header.timestamp_us) / 1000;
    assert!((300..1000).contains(&gap_ms), "publish gap of {gap_ms} ms");
    display.close().await;
}
