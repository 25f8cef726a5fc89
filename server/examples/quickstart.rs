//! The README's Rust quick start, verbatim (`server/tests/suite/readme.rs` checks that the two
//! agree, so the README's code is compiled by `cargo test`). Run:
//! `cargo run --release -p rfb --example quickstart`, then open http://127.0.0.1:8765/.

use std::time::Duration;

use rfb::{serve, DisplayEvent, Frame, FrameMeta, ServeOptions};
use rfb_protocol::InputEvent;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let display = serve(640, 480, ServeOptions::default()).await?; // 127.0.0.1:8765; port 0 = any
    println!("open {}", display.url());
    for seq in 1..=900 {
        let events = display.poll_events(); // input from every viewer
        for event in &events {
            if let DisplayEvent::Input(input) = event {
                if let InputEvent::PointerDown(p) = &input.event {
                    println!(
                        "viewer {} clicked frame pixel ({}, {})",
                        input.client_id, p.x, p.y
                    );
                }
            }
        }
        let pixels = rfb_protocol::test_card(seq, 640, 480); // RGB8, 640*480*3 bytes
        let meta = FrameMeta::answering(&events); // this frame reflects `events`
        display.publish_with(Frame::rgb(640, 480, pixels)?, meta)?; // sync, non-blocking
        tokio::time::sleep(Duration::from_millis(33)).await;
    }
    display.close().await;
    Ok(())
}
