//! Publishing another size resizes the stream: a new Config, a keyframe, correct pixels.

use crate::common::*;
use rfb::encode::sps;

async fn resize_keeps_pixels_right(caps: &[&str]) {
    let display = start(640, 480).await;
    let mut client = viewer_with(&display, caps).await;
    let mut checker = PixelChecker::new();
    for (w, h) in [
        (640, 480),
        (640, 480),
        (320, 240),
        (320, 240),
        (1280, 720),
        (640, 480),
    ] {
        publish_card(&display, w, h);
        let f = frame(&mut client).await;
        assert_eq!((f.header.width, f.header.height), (w, h));
        assert_eq!(
            (f.config.width, f.config.height),
            (w, h),
            "Config follows the size"
        );
        checker.check_card(&f);
        client.ack(f.header.seq, 0).await.unwrap();
    }
    assert_eq!(client.configs_seen(), 4, "one Config per size change");
    assert_eq!(display.size(), (640, 480));
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_rebuilds_the_encoder_and_sends_a_keyframe() {
    resize_keeps_pixels_right(&[rfb_protocol::CAP_H264_ANNEXB]).await;
    // And the keyframe really is an IDR with parameter sets at the new size.
    let display = start(640, 480).await;
    let mut client = viewer(&display).await;
    publish_card(&display, 640, 480);
    let a = frame(&mut client).await;
    client.ack(a.header.seq, 0).await.unwrap();
    publish_card(&display, 320, 240);
    let b = frame(&mut client).await;
    assert!(b.header.keyframe && sps::has_sps_pps_idr(&b.payload));
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_follow_the_new_size() {
    resize_keeps_pixels_right(&["image/png"]).await;
}
