//! [`Display`]: the push API an app publishes frames into.
//!
//! `publish()` is synchronous and never blocks: it stores the newest frame (latest wins),
//! bumps the publish counter and wakes every viewer session through a `watch` channel.
//! Sessions read the latest frame whenever they are ready for one, so a slow viewer skips
//! frames instead of queueing them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rfb_protocol::{ColorSpace, Role};
use tokio::sync::{watch, Notify};

use crate::answers::Answers;
use crate::error::FrameError;
use crate::events::{DisplayEvent, DownscaleHint, EventQueue};
use crate::fanout::Fanout;
use crate::frame::{Frame, PublishedFrame};
use crate::metrics::{MetricsSnapshot, SessionMetrics};
use crate::options::StreamOptions;
use crate::server::{Server, ServerShared};
use crate::sizing::{render_size, ResizePolicy, TargetSize, TargetTracker, H264_MAX_SIDES};
use crate::sync::lock;

/// What a publisher can say about a frame besides its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMeta {
    /// The render device pixel ratio (2.0 = rendered at twice the logical size).
    pub pixel_ratio: f32,
    /// The colour space of the RGB values (a tag; never converted).
    pub color: ColorSpace,
    /// The input the frame reflects: per viewer, its newest input event (see
    /// [`FrameMeta::answering`]). Each viewer is told its own id with the frame and
    /// measures input -> photon from it.
    pub answers: Answers,
}

impl Default for FrameMeta {
    fn default() -> Self {
        FrameMeta {
            pixel_ratio: 1.0,
            color: ColorSpace::default(),
            answers: Answers::none(),
        }
    }
}

impl FrameMeta {
    /// Default metadata for a frame that reflects `events`, the events drained with
    /// [`Display::poll_events`] (or [`Display::next_event`]) before rendering it: every
    /// viewer whose input is among them is told the frame answers its newest event.
    /// Combine with other fields as `FrameMeta { pixel_ratio: 2.0,
    /// ..FrameMeta::answering(&events) }`.
    pub fn answering(events: &[DisplayEvent]) -> FrameMeta {
        FrameMeta {
            answers: Answers::from_events(events),
            ..FrameMeta::default()
        }
    }
}

/// A session's entry in its stream's registry.
pub(crate) struct SessionEntry {
    pub transport: &'static str,
    pub metrics: Arc<Mutex<SessionMetrics>>,
    /// The viewer's role; the session follows changes (`Display::set_role`).
    pub role: watch::Sender<Role>,
    pub principal: Option<crate::events::Principal>,
}

impl std::fmt::Debug for SessionEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEntry")
            .field("transport", &self.transport)
            .field("role", &*self.role.borrow())
            .finish_non_exhaustive()
    }
}

/// The state of one stream, shared by its `Display` handles and its sessions.
#[derive(Debug)]
pub(crate) struct StreamState {
    pub name: String,
    pub options: StreamOptions,
    pub epoch: Instant,
    frames: watch::Sender<Option<Arc<PublishedFrame>>>,
    publish_lock: Mutex<()>,
    next_frame_seq: AtomicU64,
    initial_size: (u32, u32),
    pub sessions: Mutex<BTreeMap<u64, SessionEntry>>,
    pub events: EventQueue,
    /// Set when the stream is removed or the server closes; sessions watch it.
    pub closing: watch::Sender<Option<rfb_protocol::CloseCode>>,
    pub sessions_done: Notify,
    pub server: Weak<ServerShared>,
    target: Mutex<TargetTracker>,
    pub fanout: Fanout,
    /// Text the app offers for the viewers' clipboards (`Display::set_clipboard`).
    pub clipboard: watch::Sender<Option<Arc<str>>>,
    scales: Mutex<ScaleVotes>,
}

/// Each adaptive session's suggested scale; the smallest wins.
#[derive(Debug)]
struct ScaleVotes {
    votes: BTreeMap<u64, f32>,
    announced: f32,
}

impl StreamState {
    pub fn new(
        name: &str,
        width: u32,
        height: u32,
        options: StreamOptions,
        server: Weak<ServerShared>,
    ) -> StreamState {
        StreamState {
            name: name.to_string(),
            options,
            epoch: Instant::now(),
            frames: watch::Sender::new(None),
            publish_lock: Mutex::new(()),
            next_frame_seq: AtomicU64::new(1),
            initial_size: (width, height),
            sessions: Mutex::new(BTreeMap::new()),
            events: EventQueue::with_byte_budget(
                server
                    .upgrade()
                    .map_or(crate::limits::Limits::default().event_queue_bytes, |s| {
                        s.options.limits.event_queue_bytes
                    }),
            ),
            closing: watch::Sender::new(None),
            sessions_done: Notify::new(),
            server,
            target: Mutex::new(TargetTracker::default()),
            fanout: Fanout::default(),
            clipboard: watch::Sender::new(None),
            scales: Mutex::new(ScaleVotes {
                votes: BTreeMap::new(),
                announced: 1.0,
            }),
        }
    }

    /// Viewer `client_id`'s viewport changed: under `MatchClient` it competes for the next
    /// target size (see [`crate::sizing`]); `steers` is false for view-only viewers.
    pub fn offer_viewport(&self, client_id: u64, viewport: &rfb_protocol::Viewport, steers: bool) {
        if self.options.resize_policy == ResizePolicy::MatchClient {
            let target = render_size(
                viewport,
                self.options.max_render_dimension,
                self.options.video_enabled(),
            );
            lock(&self.target).offer(client_id, target, steers, Instant::now());
        }
    }

    /// A viewer's role changed: only controllers steer the match-client size.
    pub fn viewport_steering(&self, client_id: u64, steers: bool) {
        lock(&self.target).set_steers(client_id, steers);
    }

    /// A viewer left: its viewport no longer competes.
    pub fn forget_viewport(&self, client_id: u64) {
        lock(&self.target).remove(client_id);
    }

    /// Records a session's suggested scale (`None` when it leaves) and, when the smallest
    /// one changes, queues a [`DownscaleHint`] for the app.
    pub fn vote_scale(&self, client_id: u64, scale: Option<f32>) {
        let hint = {
            let mut scales = lock(&self.scales);
            match scale {
                Some(s) => scales.votes.insert(client_id, s),
                None => scales.votes.remove(&client_id),
            };
            let smallest = scales.votes.values().copied().fold(1.0f32, f32::min);
            if (smallest - scales.announced).abs() < f32::EPSILON {
                return;
            }
            scales.announced = smallest;
            smallest
        };
        let (w, h) = self.latest().map_or(self.initial_size, |f| f.frame.size());
        let (width, height) = crate::adaptive::scaled_size(w, h, hint);
        self.events.push(DisplayEvent::DownscaleHint(DownscaleHint {
            scale: hint,
            width,
            height,
        }));
    }

    /// The scale the stream's viewers suggest now (1.0 without congestion).
    pub fn suggested_scale(&self) -> f32 {
        lock(&self.scales).announced
    }

    /// What a shared lane encodes: this stream's frames, options and clock.
    pub fn frame_source(&self) -> crate::fanout::FrameSource {
        crate::fanout::FrameSource {
            options: self.options.clone(),
            epoch: self.epoch,
            frames: self.subscribe(),
        }
    }

    /// The shared H.264 lane for `key`, started if no member holds one.
    pub fn lane(&self, key: crate::fanout::lane::LaneKey) -> Arc<crate::fanout::lane::Lane> {
        self.fanout.lane(|| self.frame_source(), key)
    }

    /// A receiver that wakes when a frame is published.
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<PublishedFrame>>> {
        self.frames.subscribe()
    }

    /// The latest published frame.
    pub fn latest(&self) -> Option<Arc<PublishedFrame>> {
        self.frames.borrow().clone()
    }

    /// Starts closing every session of this stream with `code`.
    pub fn close_sessions(&self, code: rfb_protocol::CloseCode) {
        self.closing.send_replace(Some(code));
    }

    /// Waits until every session has ended, at most `limit`.
    pub async fn wait_sessions_done(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.sessions_done.notified();
            if lock(&self.sessions).is_empty() {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    fn validate(&self, frame: &Frame) -> Result<(), FrameError> {
        if self.closing.borrow().is_some() {
            return Err(FrameError::Closed);
        }
        if !self.options.video_enabled() {
            return Ok(());
        }
        let (w, h) = frame.size();
        if w % 2 != 0 || h % 2 != 0 {
            return Err(FrameError::OddSize {
                width: w,
                height: h,
            });
        }
        if w.max(h) > H264_MAX_SIDES.0 || w.min(h) > H264_MAX_SIDES.1 {
            return Err(FrameError::TooLarge {
                width: w,
                height: h,
            });
        }
        Ok(())
    }

    fn publish(&self, frame: Frame, meta: FrameMeta) -> Result<u64, FrameError> {
        self.validate(&frame)?;
        // The lock keeps seq order and watch order identical under concurrent publishers.
        let _order = lock(&self.publish_lock);
        let seq = self.next_frame_seq.fetch_add(1, Ordering::Relaxed);
        let pixel_ratio = if meta.pixel_ratio.is_finite() && meta.pixel_ratio > 0.0 {
            meta.pixel_ratio
        } else {
            1.0
        };
        let published = PublishedFrame {
            frame,
            seq,
            timestamp_us: self.epoch.elapsed().as_micros() as u64,
            pixel_ratio,
            color: meta.color,
            answers: meta.answers,
        };
        self.frames.send_replace(Some(Arc::new(published)));
        Ok(seq)
    }

    /// Publishes a frame that was published elsewhere first (an edge's decoded relay
    /// picture): it keeps the origin's publish counter and timestamp, so viewers of an
    /// edge see the same `frame_seq` as viewers of the origin. `seq` must increase.
    #[cfg(feature = "relay")]
    pub(crate) fn publish_relayed(
        &self,
        frame: Frame,
        meta: FrameMeta,
        seq: u64,
        timestamp_us: u64,
    ) -> Result<u64, FrameError> {
        self.validate(&frame)?;
        let _order = lock(&self.publish_lock);
        self.next_frame_seq.fetch_max(seq + 1, Ordering::Relaxed);
        let pixel_ratio = if meta.pixel_ratio.is_finite() && meta.pixel_ratio > 0.0 {
            meta.pixel_ratio
        } else {
            1.0
        };
        let published = PublishedFrame {
            frame,
            seq,
            timestamp_us,
            pixel_ratio,
            color: meta.color,
            answers: meta.answers,
        };
        self.frames.send_replace(Some(Arc::new(published)));
        Ok(seq)
    }
}

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
    pub principal: Option<crate::events::Principal>,
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
/// `default` stream of a new server) or [`Server::add_stream`].
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
        self.state
            .latest()
            .map(|f| f.frame.size())
            .unwrap_or(self.state.initial_size)
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
    /// viewer's, 1.0 when none is congested (also delivered as [`DownscaleHint`] events).
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
        lock(&self.state.target).current(Instant::now())
    }

    /// Frames published so far.
    pub fn frames_published(&self) -> u64 {
        self.state.next_frame_seq.load(Ordering::Relaxed) - 1
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

    /// The server hosting this stream (`None` once it has shut down).
    pub fn server(&self) -> Option<Server> {
        self.state.server.upgrade().map(|inner| Server { inner })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.server().map(|s| s.port()).unwrap_or(0)
    }

    /// The page URL of this stream's viewer (`http://host:port/`, plus `?stream=name`
    /// for named streams).
    pub fn url(&self) -> String {
        let base = self.server().map(|s| s.url()).unwrap_or_default();
        if self.state.name == crate::server::DEFAULT_STREAM {
            base
        } else {
            format!("{base}?stream={}", self.state.name)
        }
    }

    /// The WebSocket URL viewers connect to.
    pub fn ws_url(&self) -> String {
        let server = self.server();
        let base = server.map(|s| s.ws_url()).unwrap_or_default();
        if self.state.name == crate::server::DEFAULT_STREAM {
            base
        } else {
            format!("{base}{}", self.state.name)
        }
    }

    /// Disconnects this stream's viewers and frees their encoders. For the display
    /// [`crate::serve`] returned this stops the whole server; for a stream added with
    /// [`Server::add_stream`] it removes just that stream.
    pub async fn close(&self) {
        match self.server() {
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
