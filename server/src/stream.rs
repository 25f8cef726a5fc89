//! [`StreamState`]: one stream's frames, sessions, events and shared encodes, which its
//! `Display` handles, its sessions and the server's registry all point to.
//!
//! A stream never reaches up to the server that hosts it: what it needs from there (the
//! limits, the heartbeat settings, the event tap) is a [`StreamContext`] copied in when
//! the stream is added, so this module sits below `display`, the server registry and
//! `session`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use rfb_protocol::{ColorSpace, Role};
use tokio::sync::{watch, Notify};

use crate::answers::Answers;
use crate::error::FrameError;
use crate::event_tap::EventTap;
use crate::events::{DisplayEvent, DownscaleHint, EventQueue, Principal};
use crate::fanout::lane::{Lane, LaneKey};
use crate::fanout::{Fanout, FrameSource};
use crate::frame::{Frame, PublishedFrame};
use crate::limits::Limits;
use crate::metrics::SessionMetrics;
use crate::options::StreamOptions;
use crate::sizing::{render_size, ResizePolicy, TargetSize, TargetTracker, H264_MAX_SIDES};
use crate::sync::lock;

/// What a stream needs from the server hosting it, copied in when the stream is added
/// (`ServerShared::stream_context`). A headless display gets the default: default limits,
/// no heartbeats, no tap.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamContext {
    /// The server's limits (input and viewport rates, event queue bytes).
    pub limits: Limits,
    /// How often a viewer hears from the server at least; `None`: no heartbeats (a zero
    /// interval is stored as `None`).
    pub heartbeat_interval: Option<Duration>,
    /// With heartbeats, how long a viewer may stay silent before it is closed (4409).
    pub viewer_timeout: Duration,
    /// The server's event tap, reachable while the server lives (the server owns it, so
    /// its log file closes with the server, not with the last `Display` clone).
    pub tap: Weak<EventTap>,
}

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
    /// `Display::poll_events` (or `Display::next_event`) before rendering it: every
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
    pub principal: Option<Principal>,
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
    /// What the stream needs from its server (see [`StreamContext`]).
    pub context: StreamContext,
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
        context: StreamContext,
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
            events: EventQueue::with_byte_budget(context.limits.event_queue_bytes),
            closing: watch::Sender::new(None),
            sessions_done: Notify::new(),
            context,
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
        let (w, h) = self.size();
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
    pub fn frame_source(&self) -> FrameSource {
        FrameSource {
            options: self.options.clone(),
            epoch: self.epoch,
            frames: self.subscribe(),
        }
    }

    /// The shared H.264 lane for `key`, started if no member holds one.
    pub fn lane(&self, key: LaneKey) -> Arc<Lane> {
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

    /// The size of the latest frame, or the initial size before the first publish.
    pub fn size(&self) -> (u32, u32) {
        self.latest()
            .map(|f| f.frame.size())
            .unwrap_or(self.initial_size)
    }

    /// Frames published so far.
    pub fn frames_published(&self) -> u64 {
        self.next_frame_seq.load(Ordering::Relaxed) - 1
    }

    /// The match-client target size at `now` (see [`crate::sizing`]).
    pub fn target(&self, now: Instant) -> Option<TargetSize> {
        lock(&self.target).current(now)
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

    /// Publishes `frame` (see `Display::publish_with`): checks it, stamps the next publish
    /// counter and the stream clock, and replaces the latest frame.
    pub fn publish(&self, frame: Frame, meta: FrameMeta) -> Result<u64, FrameError> {
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
