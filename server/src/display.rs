//! [`Display`]: the push API an app publishes frames into.
//!
//! `publish()` is synchronous and never blocks: it stores the newest frame (latest wins),
//! bumps the publish counter and wakes every viewer session through a `watch` channel.
//! Sessions read the latest frame whenever they are ready for one, so a slow viewer skips
//! frames instead of queueing them.
//!
//! A `Display` is a handle on its stream's state (`stream.rs`) plus a weak link to the
//! server registry hosting it (`hub.rs`) for its URLs and `close()`; it never imports
//! `server.rs` (which defines [`Display::server`]).

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rfb_protocol::Role;

use crate::error::FrameError;
use crate::events::{DisplayEvent, Principal};
use crate::frame::Frame;
use crate::hub::{ServerShared, DEFAULT_STREAM};
use crate::metrics::MetricsSnapshot;
use crate::sizing::TargetSize;
use crate::stream::StreamState;
use crate::sync::lock;

pub use crate::stream::FrameMeta;

/// One connected viewer, as [`Display::viewers`] lists it.
#[derive(Clone)]
pub struct ViewerInfo {
    /// The viewer's id on this server (also on its input events).
    pub client_id: u64,
    /// What it may do now.
    pub role: Role,
    /// `h264`, `jpeg`, `png` or `webp`.
    pub transport: &'static str,
    /// The authentication hook's principal, if any.
    pub principal: Option<Principal>,
}

impl std::fmt::Debug for ViewerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerInfo")
            .field("client_id", &self.client_id)
            .field("role", &self.role)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// A framebuffer viewers watch: publish frames into it from your own loop.
///
/// Cheap to clone; every clone is the same stream. Obtained from [`crate::serve`] (the
/// `default` stream of a new server) or [`crate::Server::add_stream`].
///
/// ```
/// use rfb::{DisplayEvent, Frame, FrameMeta, ServeOptions};
/// use rfb_protocol::{InputEvent, DISPLAY_P3};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let display = rfb::serve(640, 360, ServeOptions { port: 0, ..ServeOptions::default() }).await?;
/// let mut events = Vec::new();
/// for seq in 0..3 {
///     // Your renderer's RGBA8 pixels (rendered after handling `events`), at DPR 2, in
///     // Display P3 (a tag, not a conversion), marked as answering those events, so each
///     // viewer can measure its input -> photon time.
///     let pixels = vec![0x80; 640 * 360 * 4];
///     let meta = FrameMeta { pixel_ratio: 2.0, color: DISPLAY_P3, ..FrameMeta::answering(&events) };
///     display.publish_with(Frame::rgba(640, 360, pixels)?, meta)?;
///     events = display.poll_events();
///     for event in &events {
///         if let DisplayEvent::Input(input) = event {
///             if let InputEvent::KeyDown(key) = &input.event {
///                 println!("viewer {} pressed {}", input.client_id, key.key);
///             }
///         }
///     }
///     # let _ = seq;
/// }
/// assert!(display.viewers().is_empty());
/// // A wrong buffer length is an error, never a panic.
/// assert!(Frame::rgb(640, 360, vec![0; 10]).is_err());
/// display.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Display {
    pub(crate) state: Arc<StreamState>,
    /// The server hosting the stream (never set for a headless display).
    pub(crate) server: Weak<ServerShared>,
    /// True for the display `serve()` returned: closing it stops the whole server.
    pub(crate) owns_server: bool,
}

impl Display {
    /// Publishes a frame with default metadata (pixel ratio 1, sRGB). Synchronous and
    /// non-blocking; returns the frame's publish counter. A frame of another size resizes
    /// the stream: each viewer's encoder is rebuilt and sends a keyframe.
    ///
    /// Errors: odd or too large sizes when the stream may use H.264, a closed display.
    pub fn publish(&self, frame: Frame) -> Result<u64, FrameError> {
        self.state.publish(frame, FrameMeta::default())
    }

    /// Publishes a frame tagged with its render pixel ratio, colour space and the input it
    /// answers ([`FrameMeta::answering`]).
    pub fn publish_with(&self, frame: Frame, meta: FrameMeta) -> Result<u64, FrameError> {
        self.state.publish(frame, meta)
    }

    /// The stream's name (`default` for [`crate::serve`]).
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The size of the latest frame, or the initial size before the first publish.
    pub fn size(&self) -> (u32, u32) {
        self.state.size()
    }

    /// Width of [`Display::size`].
    pub fn width(&self) -> u32 {
        self.size().0
    }

    /// Height of [`Display::size`].
    pub fn height(&self) -> u32 {
        self.size().1
    }

    /// The scale the adaptive controller suggests for this stream now: the most congested
    /// viewer's, 1.0 when none is congested (also delivered as [`DownscaleHint`](crate::events::DownscaleHint) events).
    pub fn suggested_scale(&self) -> f32 {
        self.state.suggested_scale()
    }

    /// Under `ResizePolicy::MatchClient`, the render size the viewers ask for (the most
    /// recently settled controller's viewport, debounced per viewer, fitted inside
    /// `max_render_dimension` and the encoder's limits, even; see [`crate::sizing`]);
    /// `None` before any viewer reported one, and always `None` under `Publisher`.
    pub fn target_size(&self) -> Option<(u32, u32)> {
        self.target().map(|t| (t.width, t.height))
    }

    /// The device pixel ratio of the viewer behind [`Display::target_size`] (1.0 when none):
    /// tag frames rendered at the target size with it (`FrameMeta::pixel_ratio`).
    pub fn target_ratio(&self) -> f32 {
        self.target().map_or(1.0, |t| t.ratio)
    }

    /// The full match-client target.
    pub fn target(&self) -> Option<TargetSize> {
        self.state.target(Instant::now())
    }

    /// Frames published so far.
    pub fn frames_published(&self) -> u64 {
        self.state.frames_published()
    }

    /// Viewers connected now (past the handshake).
    pub fn client_count(&self) -> usize {
        lock(&self.state.sessions).len()
    }

    /// Drains what happened since the last call, oldest first: every viewer's input
    /// ([`DisplayEvent::Input`]) and, with adaptive quality, downscale hints.
    pub fn poll_events(&self) -> Vec<DisplayEvent> {
        self.state.events.drain()
    }

    /// Waits for the next input event (an alternative to polling, for a dedicated task).
    /// Returns `None` once the display is closed.
    pub async fn next_event(&self) -> Option<DisplayEvent> {
        let mut closing = self.state.closing.subscribe();
        self.state.events.next(&mut closing).await
    }

    /// One metrics object per connected viewer.
    pub fn metrics_snapshot(&self) -> Vec<MetricsSnapshot> {
        let now = Instant::now();
        lock(&self.state.sessions)
            .iter()
            .map(|(id, entry)| {
                let mut snap = lock(&entry.metrics).snapshot(now);
                snap.client_id = *id;
                snap.stream = self.state.name.clone();
                snap.transport = entry.transport.to_string();
                snap
            })
            .collect()
    }

    /// The viewers connected now: id, role, transport and principal.
    pub fn viewers(&self) -> Vec<ViewerInfo> {
        lock(&self.state.sessions)
            .iter()
            .map(|(id, entry)| ViewerInfo {
                client_id: *id,
                role: *entry.role.borrow(),
                transport: entry.transport,
                principal: entry.principal.clone(),
            })
            .collect()
    }

    /// Changes what viewer `client_id` may do (control hand-over). The viewer is told
    /// (`Role` message; its stats and the element show "view only"); from then on a `View`
    /// viewer's input, viewport changes and pastes are dropped and counted
    /// (`input_refused` in `/metrics`). Returns false when no such viewer is connected.
    pub fn set_role(&self, client_id: u64, role: Role) -> bool {
        match lock(&self.state.sessions).get(&client_id) {
            Some(entry) => {
                entry.role.send_replace(role);
                true
            }
            None => false,
        }
    }

    /// Offers `text` for every viewer's system clipboard (truncated to
    /// `rfb_protocol::limits::MAX_TEXT_BYTES` on a character boundary). Browsers only let a
    /// page write to the clipboard during a user gesture, so the viewer writes it on the
    /// next click or key press in the view (and reports it as an event either way).
    pub fn set_clipboard(&self, text: &str) {
        let max = rfb_protocol::limits::MAX_TEXT_BYTES;
        let mut end = text.len().min(max);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.state
            .clipboard
            .send_replace(Some(Arc::from(&text[..end])));
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.server.upgrade().map_or(0, |s| s.port())
    }

    /// The page URL of this stream's viewer (`http://host:port/`, plus `?stream=name`
    /// for named streams).
    pub fn url(&self) -> String {
        let base = self.server.upgrade().map(|s| s.url()).unwrap_or_default();
        if self.state.name == DEFAULT_STREAM {
            base
        } else {
            format!("{base}?stream={}", self.state.name)
        }
    }

    /// The WebSocket URL viewers connect to.
    pub fn ws_url(&self) -> String {
        let base = self
            .server
            .upgrade()
            .map(|s| s.ws_url())
            .unwrap_or_default();
        if self.state.name == DEFAULT_STREAM {
            base
        } else {
            format!("{base}{}", self.state.name)
        }
    }

    /// Disconnects this stream's viewers and frees their encoders. For the display
    /// [`crate::serve`] returned this stops the whole server; for a stream added with
    /// [`crate::Server::add_stream`] it removes just that stream.
    pub async fn close(&self) {
        match self.server.upgrade() {
            Some(server) if self.owns_server => server.close().await,
            Some(server) => {
                server.remove_stream(&self.state.name).await;
            }
            None => {
                self.state
                    .close_sessions(rfb_protocol::CloseCode::GoingAway);
                self.state.wait_sessions_done(Duration::from_secs(2)).await;
            }
        }
    }
}
