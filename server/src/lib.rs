//! rfb: stream frames from a Rust program to web browsers.
//!
//! An app publishes RGB frames into a [`Display`]; every viewer connected over WebSocket
//! receives them encoded as H.264 (Annex B, decoded by WebCodecs) or as images, chosen per
//! viewer by capability negotiation, with per-viewer backpressure (latest frame wins).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rfb::{serve, Frame, ServeOptions};
//! let display = serve(640, 480, ServeOptions { port: 0, ..ServeOptions::default() }).await?;
//! println!("open {}", display.url());
//! for seq in 0.. {
//!     let pixels = rfb_protocol::test_card(seq, 640, 480);
//!     display.publish(Frame::rgb(640, 480, pixels)?)?;
//!     for event in display.poll_events() {
//!         if let rfb::DisplayEvent::Input(input) = event {
//!             println!("{} from viewer {}", input.event.type_name(), input.client_id);
//!         }
//!     }
//!     tokio::time::sleep(std::time::Duration::from_millis(33)).await;
//! #   if seq == 3 { break; }
//! }
//! display.close().await;
//! # Ok(()) }
//! ```

//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `assets` | yes | the demo page and the viewer package, compiled in and served at `/` and `/pkg/` ([`AssetFolder`]) |
//! | `client` | no | [`client`], a native viewer session, and [`decode`], payloads back to RGB (tests, benchmarks, load) |
//! | `cli` | no | the `rfb` binary; implies `client`, `relay` and `openh264-libloading` |
//! | `relay` | no | the NATS relay: origins publish their encodes, edges serve them (`relay`); also `decode`, which edges use for their image viewers |
//! | `openh264-libloading` | no | Cisco's prebuilt OpenH264 at run time ([`encode::library`]) |
#![warn(missing_docs)]

/// Who may reach the server, decided from the request alone (the `rfb-access` crate).
pub use rfb_access as access;
pub mod adaptive;
pub mod answers;
pub mod auth;
#[cfg(feature = "client")]
pub mod client;
#[cfg(any(feature = "client", feature = "relay"))]
pub mod decode;
pub mod display;
pub mod encode;
pub mod error;
pub mod event_json;
pub mod event_tap;
pub mod events;
pub mod fanout;
pub mod frame;
mod headless;
mod http;
mod hub;
#[cfg(test)]
mod layering;
pub mod limits;
mod listener;
pub mod metrics;
pub mod options;
pub mod record;
#[cfg(feature = "relay")]
pub mod relay;
pub mod server;
pub mod session;
pub mod sizing;
mod stream;
mod sync;

pub use answers::Answers;
pub use display::{Display, FrameMeta, ViewerInfo};
pub use encode::Content;
pub use error::{EncodeError, FrameError, ServeError};
pub use events::{DisplayEvent, DownscaleHint, InputEvent, Principal, EVENT_QUEUE_CAPACITY};
pub use frame::{Frame, PixelFormat, PublishedFrame};
pub use http::embedded::{AssetFolder, EmbeddedFile};
pub use metrics::{MetricsSnapshot, Resources};
pub use options::{ServeOptions, StreamOptions};
pub use record::{Mp4Layout, RateControl, RecordError, RecordOptions, RecordSummary, Recorder};
pub use server::{serve, serve_server, Server, DEFAULT_STREAM};
pub use sizing::{ResizePolicy, TargetSize};
