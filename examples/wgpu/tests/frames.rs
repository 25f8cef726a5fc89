//! The scene streamed over H.264 and PNG and decoded by the native client: frames are lit
//! (not blank), move from one frame to the next, and are the picture the renderer makes
//! for their `frame_seq`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

mod common;

use common::*;
use rfb::decode::psnr;
use rfb_example_wgpu::scene::{project, BACKGROUND};
use rfb_example_wgpu::{Orbit, RunOptions, SceneView};
use rfb_protocol::CAP_H264_ANNEXB;

const OPTIONS: RunOptions = RunOptions {
    fps: 30.0,
    frames: None,
    spin_deg_per_sec: 180.0,
};

fn view(frame: u64) -> SceneView {
    SceneView {
        frame,
        spin_per_frame: OPTIONS.spin_per_frame(),
        orbit: Orbit::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_frames_are_lit_move_and_match_a_local_render() {
    let Some((display, scene)) = start(OPTIONS).await else {
        return; // no adapter outside CI: start() said so on stderr
    };
    let mut receiver = Receiver::new(viewer(&display, &[CAP_H264_ANNEXB]).await);
    let mut pictures = Vec::new();
    for _ in 0..12 {
        pictures.push(receiver.next().await);
    }
    scene.stop();
    let summary = scene.finish().await.unwrap();
    eprintln!(
        "{} frames at {:.1} fps, render + readback {:.1} ms/frame",
        summary.frames,
        summary.fps(),
        summary.mean_render_ms()
    );

    for (frame, picture) in &pictures {
        let variance = luma_variance(&picture.rgb);
        eprintln!(
            "frame_seq {}: luma variance {variance:.0}",
            frame.header.frame_seq
        );
        assert!(
            variance > 300.0,
            "frame_seq {} is blank: luma variance {variance:.1}",
            frame.header.frame_seq
        );
    }
    for pair in pictures.windows(2) {
        let ((a, pa), (b, pb)) = (&pair[0], &pair[1]);
        assert!(a.header.frame_seq < b.header.frame_seq);
        let diff = mean_abs_diff(&pa.rgb, &pb.rgb);
        eprintln!(
            "frame_seq {} -> {}: mean difference {diff:.2}",
            a.header.frame_seq, b.header.frame_seq
        );
        assert!(
            diff > 0.5,
            "frame_seq {} and {} look the same (mean difference {diff:.2})",
            a.header.frame_seq,
            b.header.frame_seq
        );
    }
    // The last picture is what the renderer draws for its frame number, up to H.264's
    // losses, and clearly not the picture of a later frame.
    let (frame, picture) = pictures.last().unwrap();
    let n = frame.header.frame_seq;
    let own = psnr(&reference(view(n)).await, &picture.rgb);
    let later = psnr(&reference(view(n + 8)).await, &picture.rgb);
    eprintln!(
        "frame_seq {n}: PSNR {own:.1} dB against its render, {later:.1} dB against frame {}",
        n + 8
    );
    assert!(
        own > 30.0,
        "frame_seq {n}: PSNR {own:.1} dB against its own render"
    );
    assert!(
        later < own - 6.0,
        "frame_seq {n}: PSNR {own:.1} dB against its render, {later:.1} dB against frame {}",
        n + 8
    );
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn png_frames_are_the_rendered_pixels_exactly() {
    let Some((display, scene)) = start(OPTIONS).await else {
        return; // no adapter outside CI: start() said so on stderr
    };
    let mut receiver = Receiver::new(viewer(&display, &["image/png"]).await);
    let (first, first_picture) = receiver.next().await;
    let (second, second_picture) = receiver.next().await;
    scene.stop();
    scene.finish().await.unwrap();
    for (frame, picture) in [(&first, &first_picture), (&second, &second_picture)] {
        let n = frame.header.frame_seq;
        let expected = reference(view(n)).await;
        assert!(
            expected == picture.rgb,
            "frame_seq {n}: the PNG differs from the render (mean difference {:.3})",
            mean_abs_diff(&expected, &picture.rgb)
        );
    }
    assert_ne!(first_picture.rgb, second_picture.rgb);

    // Independent of the renderer: the background is the sRGB encoding of the linear
    // clear colour (an `Rgba8Unorm` target would give about (3, 3, 8)), the torus's hole
    // is at the centre of the frame and its tube in front of it is lit. A readback that
    // mixed up the row padding would shear the picture and move both.
    let background = [BACKGROUND.r, BACKGROUND.g, BACKGROUND.b].map(linear_to_srgb);
    let v = view(first.header.frame_seq);
    let at = |x: f32, y: f32| first_picture.pixel(x as u32, y as u32);
    let (hole_x, hole_y) = project(&v, WIDTH, HEIGHT, glam::Vec3::ZERO);
    let (tube_x, tube_y) = project(&v, WIDTH, HEIGHT, glam::Vec3::new(0.0, 0.0, 1.0));
    let far = at((WIDTH - 1) as f32, (HEIGHT - 1) as f32);
    for (name, pixel) in [
        ("corner", at(0.0, 0.0)),
        ("far corner", far),
        ("hole", at(hole_x, hole_y)),
    ] {
        let error = (0..3).map(|c| pixel[c].abs_diff(background[c])).max();
        assert!(
            error <= Some(1),
            "{name} pixel {pixel:?}, expected the background {background:?}"
        );
    }
    let tube = at(tube_x, tube_y);
    let contrast = (0..3).map(|c| tube[c].abs_diff(background[c])).max();
    assert!(
        contrast > Some(40),
        "the tube at ({tube_x:.0}, {tube_y:.0}) is {tube:?}, too close to the background"
    );
    display.close().await;
}

#[test]
fn a_missing_adapter_fails_under_ci_and_is_announced_elsewhere() {
    for ci in ["true", "1", "yes", "TRUE"] {
        assert!(ci_requires_adapter(Some(ci)), "CI={ci}");
    }
    for ci in [None, Some(""), Some("false"), Some("0"), Some("False")] {
        assert!(!ci_requires_adapter(ci), "CI={ci:?}");
    }
}
