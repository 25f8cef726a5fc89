//! The streaming phase of a session: frames out, ACKs and input in, driven by the
//! [`super::flow`] state machine, with frames from the session's [`Source`] and timers for
//! stats, the in-flight backstop, adaptive quality, stills and rejoining a lane.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use rfb_protocol::{
    encode_server, ClientMessage, ClipboardText, CloseCode, FrameHeader, ImageFormat, ImageFrame,
    Role, ServerMessage, StreamConfig, Transport, VideoChunk, YuvEncoding,
};
use tokio::sync::{mpsc, watch};

use super::end::SessionEnd;
use super::flow::FlowControl;
use super::rate::{InputGate, InputVerdict, ViewportGate};
use super::reader::FromViewer;
use super::socket::{BoxSink, Outgoing};
use super::source::{encoder_spec, lane_key, next_chunk, Encoded, Pending, Source};
use crate::adaptive::{AdaptiveController, Quality};
use crate::encode::slot::EncoderSlot;
use crate::encode::EncodedPayload;
use crate::events::{DisplayEvent, InputEvent, Principal};
use crate::fanout::fairness::KeyframeNeeds;
use crate::fanout::lane::LaneChunk;
use crate::frame::PublishedFrame;
use crate::metrics::stages::{server_stages, viewer_stages};
use crate::metrics::SessionMetrics;
use crate::stream::StreamState;
use crate::sync::lock;

/// A send that takes longer than this ends the session (the viewer is gone or stuck).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the adaptive controller decides.
pub(crate) const ADAPT_EVERY: Duration = Duration::from_millis(250);

/// Most sent frames whose write times are kept for the stage timing of their ACK (the
/// in-flight window is at most 64 frames).
const WRITES_KEPT: usize = 64;

/// When a frame's socket write started and ended, kept until its ACK.
#[derive(Debug, Clone, Copy)]
pub(super) struct Written {
    seq: u64,
    sent_at: Instant,
    written_at: Instant,
}

/// What the session sends about an encoded frame besides its payload.
pub(crate) struct Outbound<'a> {
    pub frame: &'a PublishedFrame,
    pub payload: &'a EncodedPayload,
    pub codec: &'a str,
    pub yuv: Option<YuvEncoding>,
    pub encode_time: Duration,
    /// When the encode ended.
    pub encoded_at: Instant,
    /// Send as this image format instead of the stream's (stills).
    pub image_format: Option<ImageFormat>,
}

pub(crate) struct Session {
    pub stream: Arc<StreamState>,
    pub client_id: u64,
    pub principal: Option<Principal>,
    /// What the viewer may do now, and the app's changes to it.
    pub(super) role: Role,
    pub(super) role_rx: watch::Receiver<Role>,
    pub(super) clipboard_rx: watch::Receiver<Option<Arc<str>>>,
    pub(super) input_gate: InputGate,
    pub(super) viewport_gate: ViewportGate,
    pub transport: Transport,
    pub flow: FlowControl,
    pub metrics: Arc<Mutex<SessionMetrics>>,
    pub sink: BoxSink,
    pub(super) last_config: Option<StreamConfig>,
    pub(super) source: Source,
    pub(super) pending: Option<Pending>,
    /// Bumped whenever the source changes; encodes started before are discarded.
    pub(super) epoch: u64,
    pub(super) latest: Option<Arc<PublishedFrame>>,
    pub(super) last_publish_at: Instant,
    pub(super) quality: Quality,
    pub(super) controller: Option<AdaptiveController>,
    pub(super) last_send_at: Option<Instant>,
    /// When any message last went to the viewer (heartbeats fill the silences).
    pub(super) last_message_at: Instant,
    /// When anything last came from the viewer (for the viewer timeout).
    pub(super) last_heard_at: Instant,
    /// When the last heartbeat went out.
    pub(super) last_heartbeat_at: Instant,
    pub(super) next_stats_at: Option<Instant>,
    pub(super) next_adapt_at: Option<Instant>,
    /// The frame the last still was sent (or skipped) for.
    pub(super) still_done_for: u64,
    /// A lane access unit that arrived while the window was full, sent once it opens.
    pub(super) held: VecDeque<Arc<LaneChunk>>,
    /// This viewer's keyframe needs and fallbacks (keyframe fairness on a lane).
    pub(super) keyframe_needs: KeyframeNeeds,
    /// A replay of a relay-fed lane's cached group and the live access units queued
    /// behind it, sent before anything else as the in-flight window allows.
    pub(super) catch_up: VecDeque<Arc<LaneChunk>>,
    /// The lane order of the last replayed chunk (live duplicates are skipped).
    pub(super) replayed_to: u64,
    /// Write times of the frames sent and not yet acknowledged, oldest first.
    pub(super) written: VecDeque<Written>,
}

impl Session {
    /// A session at the stream's full quality, on a shared source when sharing is on.
    #[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
    pub fn new(
        stream: Arc<StreamState>,
        client_id: u64,
        principal: Option<Principal>,
        role_rx: watch::Receiver<Role>,
        transport: Transport,
        max_inflight: u8,
        metrics: Arc<Mutex<SessionMetrics>>,
        sink: BoxSink,
    ) -> Session {
        let o = &stream.options;
        let quality = Quality {
            bitrate_bps: o.bitrate_bps,
            jpeg_quality: o.jpeg_quality,
            fps: o.fps,
            max_inflight,
            scale: 1.0,
        };
        let source = match (transport, o.share_encoders) {
            (Transport::Video(_), true) => Source::Lane {
                member: stream
                    .lane(lane_key(quality.bitrate_bps, quality.fps))
                    .join(),
                synced: false,
                asked_at: None,
            },
            (Transport::Image(_), true) => Source::SharedImages,
            (_, false) => {
                let spec = encoder_spec(
                    &stream,
                    transport,
                    quality.bitrate_bps,
                    quality.fps,
                    quality.jpeg_quality,
                    None,
                );
                Source::private(EncoderSlot::new(o.encoders.clone(), spec))
            }
        };
        lock(&metrics).shared_encoder = source.is_shared();
        let now = Instant::now();
        let controller = o
            .adaptive
            .clone()
            .map(|config| AdaptiveController::new(config, quality, transport.is_video()));
        let limits = stream.context.limits.clone();
        let mut clipboard_rx = stream.clipboard.subscribe();
        clipboard_rx.borrow_and_update();
        let role = *role_rx.borrow();
        Session {
            role,
            role_rx,
            clipboard_rx,
            input_gate: InputGate::new(limits.input_rate, now),
            viewport_gate: ViewportGate::new(limits.viewport_rate, now),
            flow: FlowControl::new(max_inflight, o.keyframe_after_drop),
            next_stats_at: o.stats_interval.map(|i| now + i),
            next_adapt_at: controller.as_ref().map(|_| now + ADAPT_EVERY),
            controller,
            quality,
            source,
            stream,
            client_id,
            principal,
            transport,
            metrics,
            sink,
            last_config: None,
            pending: None,
            epoch: 0,
            latest: None,
            last_publish_at: now,
            last_send_at: None,
            last_message_at: now,
            last_heard_at: now,
            last_heartbeat_at: now,
            still_done_for: 0,
            held: VecDeque::new(),
            keyframe_needs: KeyframeNeeds::default(),
            catch_up: VecDeque::new(),
            replayed_to: 0,
            written: VecDeque::new(),
        }
    }

    pub async fn stream_frames(
        &mut self,
        mut from_viewer: mpsc::Receiver<FromViewer>,
    ) -> SessionEnd {
        let mut frames = self.stream.subscribe();
        let mut closing = self.stream.closing.subscribe();
        self.latest = frames.borrow_and_update().clone();
        self.role_rx.borrow_and_update();
        if let Err(end) = self.send(&ServerMessage::Role(self.role)).await {
            return end;
        }
        // Joining is the first keyframe need: from the lane, or privately on a still stream.
        self.need_keyframe(Instant::now());
        loop {
            if let Err(end) = self.send_catch_up().await {
                return end;
            }
            if let Err(end) = self.send_held_chunk().await {
                return end;
            }
            self.start_encode_if_ready();
            let deadline = self.next_deadline();
            let lane = self.source.lane_member();
            let pending = &mut self.pending;
            let outcome: Result<(), SessionEnd> = tokio::select! {
                biased;
                code = async { closing.wait_for(Option::is_some).await.ok().and_then(|c| *c) } => {
                    let code = code.unwrap_or(CloseCode::GoingAway);
                    let reason = match code {
                        CloseCode::StreamRemoved => "the stream was removed",
                        _ => "the server is shutting down",
                    };
                    Err(SessionEnd::new(code, reason))
                }
                event = from_viewer.recv() => match event {
                    Some(FromViewer::Message(msg)) => {
                        self.last_heard_at = Instant::now();
                        self.on_message(msg)
                    }
                    Some(FromViewer::End(end)) => Err(end),
                    None => Err(SessionEnd::quiet()),
                },
                done = async { pending.as_mut().expect("guarded by is_some").await }, if pending.is_some() => {
                    self.pending = None;
                    self.on_encoded(done).await
                }
                chunk = next_chunk(lane) => self.on_lane_chunk(chunk).await,
                changed = self.role_rx.changed() => match changed {
                    Ok(()) => self.on_role_changed().await,
                    Err(_) => Err(SessionEnd::new(CloseCode::GoingAway, "the stream is gone")),
                },
                changed = self.clipboard_rx.changed() => match changed {
                    Ok(()) => self.on_clipboard().await,
                    Err(_) => Err(SessionEnd::new(CloseCode::GoingAway, "the stream is gone")),
                },
                changed = frames.changed() => {
                    if changed.is_err() {
                        Err(SessionEnd::new(CloseCode::GoingAway, "the stream is gone"))
                    } else {
                        self.latest = frames.borrow_and_update().clone();
                        self.last_publish_at = Instant::now();
                        Ok(())
                    }
                }
                _ = sleep_until(deadline) => self.on_timer(Instant::now()).await,
            };
            if let Err(end) = outcome {
                return end;
            }
        }
    }

    /// The instant a frame with this display timestamp was published.
    fn published_at(&self, timestamp_us: u64) -> Instant {
        self.stream.epoch + Duration::from_micros(timestamp_us)
    }

    /// One message from the viewer; an `Err` ends the session.
    pub(super) fn on_message(&mut self, msg: ClientMessage) -> Result<(), SessionEnd> {
        match msg {
            ClientMessage::Ack(ack) => {
                if ack.seq > self.flow.last_seq() {
                    return Err(SessionEnd::new(
                        CloseCode::ProtocolError,
                        format!(
                            "Ack for frame {} which was never sent (the last sent is {})",
                            ack.seq,
                            self.flow.last_seq()
                        ),
                    ));
                }
                let now = Instant::now();
                let acked = self.flow.on_ack(ack.seq, now);
                let written = self.take_written(ack.seq);
                let mut m = lock(&self.metrics);
                if let (Some(timings), Some(w)) = (ack.timings, written) {
                    match viewer_stages(&timings, w.sent_at, w.written_at, now) {
                        Ok(stages) => m.stages.record_all(now, &stages),
                        Err(rejected) => {
                            m.stages.rejected += 1;
                            tracing::debug!(
                                client_id = self.client_id,
                                "ACK timings ignored: {rejected}"
                            );
                        }
                    }
                }
                let mut newest_rtt = None;
                for frame in acked {
                    let rtt = now.saturating_duration_since(frame.sent_at);
                    m.on_acked(now, rtt, now.saturating_duration_since(frame.published_at));
                    newest_rtt = Some(rtt);
                }
                m.decode_queue_size = ack.decode_queue_size;
                m.inflight = self.flow.inflight() as u32;
                drop(m);
                if let (Some(controller), Some(rtt)) = (self.controller.as_mut(), newest_rtt) {
                    controller.observe(ack.decode_queue_size, rtt.as_secs_f64() * 1e3);
                }
            }
            ClientMessage::RequestKeyframe => self.need_keyframe(Instant::now()),
            ClientMessage::DecoderReset => {
                self.flow.reset();
                self.need_keyframe(Instant::now());
                let mut m = lock(&self.metrics);
                m.decoder_resets += 1;
                m.inflight = 0;
            }
            ClientMessage::Input(input) => return self.on_input(input.event, input.id),
            ClientMessage::PhotonReport(report) => {
                lock(&self.metrics).photon = Some((Instant::now(), report));
            }
            ClientMessage::SetViewport(viewport) => {
                if !self.role.may_control() {
                    lock(&self.metrics).input_refused += 1;
                } else if let Some(viewport) = self.viewport_gate.offer(viewport, Instant::now()) {
                    self.apply_viewport(viewport);
                }
            }
            // Liveness only: the loop noted that the viewer answered.
            ClientMessage::Heartbeat => {}
            // The reader ends the session on a second Hello before it gets here.
            ClientMessage::Hello(_) => {}
        }
        Ok(())
    }

    /// Input from the viewer (with the id it gave it): dropped for a watcher, rate
    /// limited, clamped to the frame.
    fn on_input(
        &mut self,
        mut event: rfb_protocol::InputEvent,
        input_id: u64,
    ) -> Result<(), SessionEnd> {
        use rfb_protocol::InputEvent as E;
        if !self.role.may_control() {
            lock(&self.metrics).input_refused += 1;
            return Ok(());
        }
        if let E::Resize(viewport) = event {
            // A resize sent as input is a viewport change like any other.
            return self.on_message(ClientMessage::SetViewport(viewport));
        }
        let droppable = matches!(event, E::PointerMove(_) | E::Wheel(_));
        match self.input_gate.admit(droppable, Instant::now()) {
            InputVerdict::Deliver => {}
            InputVerdict::Drop => {
                lock(&self.metrics).input_dropped += 1;
                return Ok(());
            }
            InputVerdict::Flood => {
                return Err(SessionEnd::new(
                    CloseCode::PolicyViolation,
                    "input far beyond the server's rate limit (--input-rate)",
                ))
            }
        }
        if let Some(config) = &self.last_config {
            clamp_to_frame(&mut event, config.width, config.height);
        }
        self.push_event(event, Some(input_id));
        Ok(())
    }

    /// A viewport the rate limit let through: the match-client target and a `resize` event.
    pub(super) fn apply_viewport(&mut self, viewport: rfb_protocol::Viewport) {
        self.stream
            .offer_viewport(self.client_id, &viewport, self.role.may_control());
        self.push_event(rfb_protocol::InputEvent::Resize(viewport), None);
    }

    /// The app changed this viewer's role: tell the viewer, and follow it.
    async fn on_role_changed(&mut self) -> Result<(), SessionEnd> {
        let role = *self.role_rx.borrow_and_update();
        if role == self.role {
            return Ok(());
        }
        self.role = role;
        self.stream
            .viewport_steering(self.client_id, role.may_control());
        lock(&self.metrics).role = role.name();
        self.send(&ServerMessage::Role(role)).await.map(|_| ())
    }

    /// The app offered clipboard text: pass it on.
    async fn on_clipboard(&mut self) -> Result<(), SessionEnd> {
        let text = self.clipboard_rx.borrow_and_update().clone();
        match text {
            Some(text) => self
                .send(&ServerMessage::Clipboard(ClipboardText {
                    text: text.to_string(),
                }))
                .await
                .map(|_| ()),
            None => Ok(()),
        }
    }

    fn push_event(&self, event: rfb_protocol::InputEvent, input_id: Option<u64>) {
        let received_us = self.stream.epoch.elapsed().as_micros() as u64;
        if let Some(id) = input_id {
            lock(&self.metrics).answer_wait.arrived(id, received_us);
        }
        let event = InputEvent {
            client_id: self.client_id,
            principal: self.principal.clone(),
            event,
            received_us,
            input_id,
        };
        if let Some(tap) = self.stream.context.tap.upgrade() {
            tap.tap(&self.stream.name, &event);
        }
        self.stream.events.push(DisplayEvent::Input(event));
    }

    /// A finished encode: hand the encoder back and send what it produced.
    async fn on_encoded(&mut self, done: Encoded) -> Result<(), SessionEnd> {
        if done.epoch != self.epoch {
            return Ok(());
        }
        if done.still_format.is_some() || done.video_still {
            self.still_done_for = done.frame.seq;
        }
        if done.video_still {
            // The viewer's decoder now references the still: restart the private encoder,
            // so the next frame is an IDR of its own.
            let fresh = EncoderSlot::new(
                self.stream.options.encoders.clone(),
                self.encoder_spec(Some(&done.frame)),
            );
            if let Source::Private { slot, .. } = &mut self.source {
                *slot = Some(fresh);
            }
        } else if let (Source::Private { slot, .. }, Some(returned)) = (&mut self.source, done.slot)
        {
            *slot = Some(returned);
        }
        let payloads = done
            .result
            .map_err(|err| SessionEnd::new(CloseCode::InternalError, err))?;
        if payloads.is_empty() {
            self.flow.on_skipped(done.frame.seq);
            return Ok(());
        }
        for payload in &payloads {
            self.send_frame(Outbound {
                frame: &done.frame,
                payload,
                codec: &done.codec,
                yuv: done.yuv,
                encode_time: done.encode_time,
                encoded_at: done.encoded_at,
                image_format: done.still_format,
            })
            .await?;
        }
        Ok(())
    }

    pub(super) async fn send(&mut self, message: &ServerMessage<'_>) -> Result<usize, SessionEnd> {
        let bytes = encode_server(message);
        let len = bytes.len();
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.send(Outgoing::Binary(bytes.into())))
            .await
        {
            Ok(Ok(())) => {
                self.last_message_at = Instant::now();
                Ok(len)
            }
            Ok(Err(err)) => Err(SessionEnd {
                code: None,
                reason: err.to_string(),
            }),
            Err(_) => Err(SessionEnd::new(
                CloseCode::InternalError,
                format!(
                    "a frame could not be sent within {} s",
                    SEND_TIMEOUT.as_secs()
                ),
            )),
        }
    }

    pub(super) async fn send_frame(&mut self, out: Outbound<'_>) -> Result<(), SessionEnd> {
        let frame = out.frame;
        let (width, height) = frame.frame.size();
        let config = StreamConfig {
            transport: self.transport,
            codec: match self.transport {
                Transport::Image(format) => format.mime().to_string(),
                Transport::Video(_) => out.codec.to_string(),
            },
            width,
            height,
            pixel_ratio: frame.pixel_ratio,
            color: frame.color,
            yuv: out.yuv,
            max_inflight: self.flow.max_inflight(),
            heartbeat_ms: self
                .heartbeat_interval()
                .map_or(0, |i| u32::try_from(i.as_millis()).unwrap_or(u32::MAX)),
        };
        if self.last_config.as_ref() != Some(&config) {
            self.send(&ServerMessage::Config(config.clone())).await?;
            let mut m = lock(&self.metrics);
            m.codec = config.codec.clone();
            m.width = width;
            m.height = height;
            drop(m);
            self.last_config = Some(config);
        }
        let now = Instant::now();
        let published_at = self.published_at(frame.timestamp_us);
        let seq = self.flow.on_sent(
            frame.seq,
            out.payload.keyframe,
            out.payload.data.len(),
            now,
            published_at,
        );
        // The newest of this viewer's inputs the frame answers (see `answer_wait`).
        let answered = frame.answers.for_client(self.client_id);
        let header = FrameHeader {
            seq,
            frame_seq: frame.seq,
            timestamp_us: frame.timestamp_us,
            width,
            height,
            keyframe: out.payload.keyframe,
            pixel_ratio: frame.pixel_ratio,
            color: frame.color,
            input_id: answered,
        };
        let message = match (self.transport, out.image_format) {
            (Transport::Video(codec), None) => ServerMessage::VideoChunk(VideoChunk {
                header,
                codec,
                payload: &out.payload.data,
            }),
            (Transport::Image(format), None) | (_, Some(format)) => {
                ServerMessage::ImageFrame(ImageFrame {
                    header,
                    format,
                    payload: &out.payload.data,
                })
            }
        };
        self.send(&message).await?;
        let written_at = Instant::now();
        self.last_send_at = Some(now);
        if self.written.len() >= WRITES_KEPT {
            self.written.pop_front();
        }
        self.written.push_back(Written {
            seq,
            sent_at: now,
            written_at,
        });
        let mut m = lock(&self.metrics);
        let stages = server_stages(published_at, out.encode_time, out.encoded_at, written_at);
        m.stages.record_all(written_at, &stages);
        if let Some(input_id) = answered {
            m.answer_wait
                .answered(written_at, input_id, frame.timestamp_us);
        }
        m.on_sent(
            now,
            out.payload.data.len(),
            out.payload.keyframe,
            out.encode_time,
        );
        m.frames_dropped = self.flow.frames_dropped();
        m.inflight = self.flow.inflight() as u32;
        Ok(())
    }
}

impl Session {
    /// The write times of frame `seq`, forgetting it and every older frame (ACKs are
    /// cumulative).
    fn take_written(&mut self, seq: u64) -> Option<Written> {
        let mut found = None;
        while let Some(w) = self.written.front().copied() {
            if w.seq > seq {
                break;
            }
            self.written.pop_front();
            if w.seq == seq {
                found = Some(w);
            }
        }
        found
    }
}

/// Keeps pointer and wheel coordinates on the frame the viewer was sent: a coordinate
/// off the frame is clamped to its edge and marked `inside: false`.
fn clamp_to_frame(event: &mut rfb_protocol::InputEvent, width: u32, height: u32) {
    use rfb_protocol::InputEvent as E;
    let (max_x, max_y) = (
        width.saturating_sub(1) as f32,
        height.saturating_sub(1) as f32,
    );
    let clamp = |x: &mut f32, y: &mut f32, inside: &mut bool| {
        let (cx, cy) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
        if cx != *x || cy != *y {
            *inside = false;
        }
        (*x, *y) = (cx, cy);
    };
    match event {
        E::PointerMove(p) | E::PointerDown(p) | E::PointerUp(p) => {
            clamp(&mut p.x, &mut p.y, &mut p.inside)
        }
        E::Wheel(w) => clamp(&mut w.x, &mut w.y, &mut w.inside),
        _ => {}
    }
}

/// Sleeps until `deadline` (forever without one).
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
