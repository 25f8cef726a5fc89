//! Capability negotiation: H.264 when both sides can, else the best shared image format,
//! else a clear close.

use crate::common::*;
use rfb::StreamOptions;
use rfb_protocol::{CloseCode, ImageFormat, Transport, VideoCodec, CAP_H264_ANNEXB};

async fn negotiated(
    stream: StreamOptions,
    caps: &[&str],
) -> Result<Transport, (Option<u16>, String)> {
    let display = start_with(64, 48, stream).await;
    publish_card(&display, 64, 48);
    let mut client = viewer_with(&display, caps).await;
    let result = match client.next_frame().await {
        Ok(f) => Ok(f.config.transport),
        Err(rfb::client::ClientError::Closed { code, reason }) => Err((code, reason)),
        Err(other) => panic!("{other}"),
    };
    display.close().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_when_the_viewer_decodes_it() {
    let t = negotiated(StreamOptions::default(), &["image/jpeg", CAP_H264_ANNEXB]).await;
    assert_eq!(t, Ok(Transport::Video(VideoCodec::H264AnnexB)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_when_the_viewer_does_not_or_the_server_forces_them() {
    let t = negotiated(StreamOptions::default(), &["image/png", "image/jpeg"]).await;
    assert_eq!(t, Ok(Transport::Image(ImageFormat::Jpeg)));
    let forced = StreamOptions {
        force_image: true,
        image_formats: vec![ImageFormat::Webp, ImageFormat::Png],
        ..StreamOptions::default()
    };
    let t = negotiated(forced, &[CAP_H264_ANNEXB, "image/png", "image/webp"]).await;
    assert_eq!(t, Ok(Transport::Image(ImageFormat::Webp)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_in_common_closes_with_4406_and_a_reason() {
    let (code, reason) = negotiated(StreamOptions::default(), &["image/gif"])
        .await
        .unwrap_err();
    assert_eq!(code, Some(CloseCode::UnsupportedTransport.code()));
    assert!(reason.contains("image/gif"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_only_server_never_offers_video() {
    let mut encoders = rfb::encode::EncoderRegistry::empty();
    encoders.register_image(
        rfb::encode::IMAGE,
        std::sync::Arc::new(rfb::encode::image::ImageEncoder::boxed),
    );
    let stream = StreamOptions {
        encoders,
        ..StreamOptions::default()
    };
    let t = negotiated(stream, &[CAP_H264_ANNEXB, "image/jpeg"]).await;
    assert_eq!(t, Ok(Transport::Image(ImageFormat::Jpeg)));
}
