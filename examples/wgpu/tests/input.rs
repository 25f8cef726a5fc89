//! Input from a viewer reaches the scene: with the spin off the picture stays exactly the
//! same while nobody touches it, a drag turns it to the picture of the orbit the drag
//! gives, and the wheel zooms in (the torus covers more of the frame).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

mod common;

use common::*;
use rfb_example_wgpu::{OrbitControls, RunOptions, SceneView};
use rfb_protocol::input::{Buttons, Modifiers, PointerInput, PointerKind, WheelInput};
use rfb_protocol::InputEvent;

fn pointer(x: f32, y: f32, button: u8, held: u8) -> PointerInput {
    PointerInput {
        x,
        y,
        inside: true,
        pixel_ratio: 1.0,
        button,
        buttons: Buttons(held),
        modifiers: Modifiers(0),
        pointer_type: PointerKind::Mouse,
        pointer_id: 1,
        timestamp: 0.0,
        pressure: 0.5,
        tilt_x: 0.0,
        tilt_y: 0.0,
        twist: 0.0,
    }
}

/// Pixels that are not the background (any channel more than 24 away from the corner).
fn covered(rgb: &[u8]) -> usize {
    let bg = [rgb[0], rgb[1], rgb[2]];
    rgb.chunks_exact(3)
        .filter(|p| (0..3).any(|c| p[c].abs_diff(bg[c]) > 24))
        .count()
}

/// Receives pictures until one equals `expected`; fails after 90 frames.
async fn until_picture(receiver: &mut Receiver, expected: &[u8], what: &str) {
    let mut closest = f64::MAX;
    for _ in 0..90 {
        let (_, picture) = receiver.next().await;
        if picture.rgb == expected {
            return;
        }
        closest = closest.min(mean_abs_diff(&picture.rgb, expected));
    }
    panic!("{what}: no frame showed the expected picture (closest mean difference {closest:.3})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drag_turns_the_scene_wheel_zooms_and_no_input_keeps_it_still() {
    let options = RunOptions {
        fps: 30.0,
        frames: None,
        spin_deg_per_sec: 0.0,
    };
    let Some((display, scene)) = start(options).await else {
        return; // no adapter outside CI: start() said so on stderr
    };
    let mut receiver = Receiver::new(viewer(&display, &["image/png"]).await);
    let still = |orbit| SceneView {
        frame: 1,
        spin_per_frame: 0.0,
        orbit,
    };
    let mut controls = OrbitControls::default();

    // No input: frame after frame is the same picture, the default camera's.
    let at_rest = reference(still(controls.orbit())).await;
    for _ in 0..5 {
        let (frame, picture) = receiver.next().await;
        assert!(
            picture.rgb == at_rest,
            "frame_seq {} changed without input (mean difference {:.3})",
            frame.header.frame_seq,
            mean_abs_diff(&picture.rgb, &at_rest)
        );
    }

    // A 60-pixel drag to the right: the same events through the same controls give the
    // orbit the picture must show.
    let drag = [
        InputEvent::PointerDown(pointer(150.0, 120.0, 1, 1)),
        InputEvent::PointerMove(pointer(180.0, 125.0, 0, 1)),
        InputEvent::PointerMove(pointer(210.0, 130.0, 0, 1)),
        InputEvent::PointerUp(pointer(210.0, 130.0, 1, 0)),
    ];
    for event in drag {
        controls.apply(&event);
        receiver.client().send_input(event).await.unwrap();
    }
    let dragged = reference(still(controls.orbit())).await;
    let turned = mean_abs_diff(&dragged, &at_rest);
    eprintln!("the drag changes the picture by {turned:.2} per sample");
    assert!(
        turned > 2.0,
        "the drag barely changes the picture ({turned:.3})"
    );
    until_picture(&mut receiver, &dragged, "after the drag").await;

    // Wheel up (negative dy) brings the camera closer: the torus covers more pixels.
    let wheel = InputEvent::Wheel(WheelInput {
        x: 180.0,
        y: 120.0,
        inside: true,
        pixel_ratio: 1.0,
        dx: 0.0,
        dy: -240.0,
        buttons: Buttons(0),
        modifiers: Modifiers(0),
        timestamp: 0.0,
    });
    assert!(controls.apply(&wheel));
    receiver.client().send_input(wheel).await.unwrap();
    let zoomed = reference(still(controls.orbit())).await;
    until_picture(&mut receiver, &zoomed, "after the wheel").await;
    let (before, after) = (covered(&dragged), covered(&zoomed));
    eprintln!("zooming in: the torus covers {before} -> {after} pixels");
    assert!(
        after as f64 > before as f64 * 1.2,
        "zooming in should cover more of the frame: {before} -> {after} pixels"
    );

    scene.stop();
    scene.finish().await.unwrap();
    display.close().await;
}
