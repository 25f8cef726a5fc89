//! Paint with the mouse (or a finger) in the browser: every `pointer_down` / drag draws a
//! dot where you clicked, in frame pixels, whatever the fit mode or device pixel ratio;
//! the wheel changes the brush size, `c` clears. The app only publishes when something
//! changed (sparse publishing costs nothing), and marks each frame with the input it
//! answers (`FrameMeta::answering`), so the viewer's stats show input -> photon.
//!
//! Run: `cargo run --release -p rfb --example paint`, then open http://127.0.0.1:8765/
//! (build the viewer first: `./scripts/setup.sh` does it).

use std::time::Duration;

use rfb::{serve, Answers, DisplayEvent, Frame, FrameMeta, ServeOptions};
use rfb_protocol::InputEvent;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 540;

/// The picture being painted: RGB8 rows.
struct Canvas {
    rgb: Vec<u8>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            rgb: vec![245; (WIDTH * HEIGHT * 3) as usize],
        }
    }

    /// A filled disc of `radius` at frame pixel `(x, y)`, clipped to the frame.
    fn dot(&mut self, x: f32, y: f32, radius: f32, color: [u8; 3]) {
        let (x0, x1) = (
            (x - radius).max(0.0) as u32,
            ((x + radius) as u32).min(WIDTH - 1),
        );
        let (y0, y1) = (
            (y - radius).max(0.0) as u32,
            ((y + radius) as u32).min(HEIGHT - 1),
        );
        for py in y0..=y1 {
            for px in x0..=x1 {
                let (dx, dy) = (px as f32 - x, py as f32 - y);
                if dx * dx + dy * dy <= radius * radius {
                    let i = ((py * WIDTH + px) * 3) as usize;
                    self.rgb[i..i + 3].copy_from_slice(&color);
                }
            }
        }
    }

    fn frame(&self) -> Frame {
        // The buffer is copied into the frame: published frames are immutable.
        Frame::rgb(WIDTH, HEIGHT, self.rgb.clone()).expect("the canvas has the frame's size")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let display = serve(WIDTH, HEIGHT, ServeOptions::default()).await?;
    println!("paint at {}", display.url());
    let mut canvas = Canvas::new();
    let mut brush = 8.0f32;
    display.publish(canvas.frame())?;
    // The input handled since the last publish: the next frame reflects all of it.
    let mut answers = Answers::none();
    loop {
        let mut changed = false;
        let events = display.poll_events();
        answers.merge(&Answers::from_events(&events));
        for event in events {
            let DisplayEvent::Input(input) = event else {
                continue;
            };
            match input.event {
                InputEvent::PointerDown(p) | InputEvent::PointerMove(p)
                    if p.inside && !p.buttons.list().is_empty() =>
                {
                    // Left paints blue, right red, middle erases; x/y index the frame directly.
                    let color = match p.buttons.list()[0] {
                        2 => [220, 40, 40],
                        3 => [245, 245, 245],
                        _ => [40, 80, 220],
                    };
                    canvas.dot(p.x, p.y, brush * p.pixel_ratio, color);
                    changed = true;
                }
                InputEvent::Wheel(w) => brush = (brush - w.dy / 40.0).clamp(1.0, 64.0),
                InputEvent::KeyDown(k) if k.key == "c" => {
                    canvas = Canvas::new();
                    changed = true;
                }
                _ => {}
            }
        }
        if changed {
            let meta = FrameMeta {
                answers: std::mem::take(&mut answers),
                ..FrameMeta::default()
            };
            display.publish_with(canvas.frame(), meta)?;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(16)) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    display.close().await;
    Ok(())
}
