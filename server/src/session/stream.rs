//! The streaming phase of a session: frames out, ACKs and input in, driven by the
//! [`super::flow`] state machine, with frames from the session's [`Source`] and timers for
//! stats, the in-flight backstop, adaptive quality, stills and rejoining a lane.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use rfb_protocol::{
    encode_server, ClientMessage, CloseCode, FrameHeader, ImageFormat, ImageFrame, ServerMessage,
    StreamConfig, Transport, VideoChunk, YuvEncoding,
};
use tokio::sync::mpsc;

use super::end::SessionEnd;
use super::flow::FlowControl;
use super::reader::FromViewer;
use super::socket::{BoxSink, Outgoing};
use super::source::{encoder_spec, lane_key, next_chunk, Encoded, Pending, Source};
use crate::adaptive::{AdaptiveController, Quality};
use crate::display::{lock, StreamState};
use crate::encode::slot::EncoderSlot;
use crate::encode::EncodedPayload;
use crate::events::{DisplayEvent, InputEvent, Principal};
use crate::fanout::lane::LaneChunk;
use crate::frame::PublishedFrame;
use crate::metrics::SessionMetrics;

/// A send that takes longer than this ends the session (the viewer is gone or stuck).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Lane access units a member may hold while its window is full before it falls back to
/// a private encoder (at 30 fps, 100 ms of tolerance for a brief stall).
const MAX_HELD: usize = 3;

/// How often the adaptive controller decides.
pub(crate) const ADAPT_EVERY: Duration = Duration::from_millis(250);

/// What the session sends about an encoded frame besides its payload.
pub(crate) struct Outbound<'a> {
    pub frame: &'a PublishedFrame,
    pub payload: &'a EncodedPayload,
    pub codec: &'a str,
    pub yuv: Option<YuvEncoding>,
    pub encode_time: Duration,
    /// Send as this image format instead of the stream's (stills).
    pub image_format: Option<ImageFormat>,
}

pub(crate) struct Session {
    pub stream: Arc<StreamState>,
    pub client_id: u64,
    pub principal: Option<Principal>,
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
    pub(super) next_stats_at: Option<Instant>,
    pub(super) next_adapt_at: Option<Instant>,
    /// The frame the last still was sent (or skipped) for.
    pub(super) still_done_for: u64,
    /// A lane access unit that arrived while the window was full, sent once it opens.
    pub(super) held: VecDeque<Arc<LaneChunk>>,
}

impl Session {
    /// A session at the stream's full quality, on a shared source when sharing is on.
    pub fn new(
        stream: Arc<StreamState>,
        client_id: u64,
        principal: Option<Principal>,
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
                    .fanout
                    .lane(&stream, lane_key(quality.bitrate_bps, quality.fps))
                    .join(),
                synced: false,
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
        Session {
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
            still_done_for: 0,
            held: VecDeque::new(),
        }
    }

    pub async fn stream_frames(
        &mut self,
        mut from_viewer: mpsc::Receiver<FromViewer>,
    ) -> SessionEnd {
        let mut frames = self.stream.subscribe();
        let mut closing = self.stream.closing.subscribe();
        self.latest = frames.borrow_and_update().clone();
        loop {
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
                        self.on_message(msg);
                        Ok(())
                    }
                    Some(FromViewer::End(end)) => Err(end),
                    None => Err(SessionEnd::quiet()),
                },
                done = async { pending.as_mut().expect("guarded by is_some").await }, if pending.is_some() => {
                    self.pending = None;
                    self.on_encoded(done).await
                }
                chunk = next_chunk(lane) => self.on_lane_chunk(chunk).await,
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

    pub(super) fn on_message(&mut self, msg: ClientMessage) {
        match msg {
            ClientMessage::Ack(ack) => {
                let now = Instant::now();
                let acked = self.flow.on_ack(ack.seq, now);
                let mut m = lock(&self.metrics);
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
            ClientMessage::RequestKeyframe => {
                self.flow.request_keyframe();
                self.resync_lane();
            }
            ClientMessage::DecoderReset => {
                self.flow.reset();
                self.resync_lane();
                let mut m = lock(&self.metrics);
                m.decoder_resets += 1;
                m.inflight = 0;
            }
            ClientMessage::Input(event) => self.push_event(event),
            ClientMessage::SetViewport(viewport) => {
                self.stream.offer_viewport(&viewport);
                self.push_event(rfb_protocol::InputEvent::Resize(viewport))
            }
            // The reader ends the session on a second Hello before it gets here.
            ClientMessage::Hello(_) => {}
        }
    }

    fn push_event(&self, event: rfb_protocol::InputEvent) {
        let event = InputEvent {
            client_id: self.client_id,
            principal: self.principal.clone(),
            event,
            received_us: self.stream.epoch.elapsed().as_micros() as u64,
        };
        if let Some(server) = self.stream.server.upgrade() {
            server.tap.tap(&self.stream.name, &event);
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
                image_format: done.still_format,
            })
            .await?;
        }
        Ok(())
    }

    /// An access unit from the lane (or `None`: the lane ended).
    async fn on_lane_chunk(&mut self, chunk: Option<Arc<LaneChunk>>) -> Result<(), SessionEnd> {
        let window_open = chunk
            .as_ref()
            .is_some_and(|c| self.flow.has_room(c.payload.data.len(), Instant::now()));
        let Some(chunk) = chunk else {
            self.fall_back_to_private();
            return Ok(());
        };
        match &mut self.source {
            Source::Lane { member, synced } => {
                if member.is_lost() {
                    // The lane skipped this member: its decoder missed an access unit.
                    self.fall_back_to_private();
                    return Ok(());
                }
                let in_order = self.held.is_empty();
                if chunk.still {
                    // Skipping a still is harmless: the lane's next access unit is an IDR.
                    if !(*synced && in_order && window_open) {
                        return Ok(());
                    }
                } else if !*synced {
                    if !(chunk.payload.keyframe && in_order && window_open) {
                        return Ok(());
                    }
                    *synced = true;
                } else if !(in_order && window_open) {
                    if self.held.len() < MAX_HELD {
                        // The window may open before more arrive: wait for it, in order.
                        self.held.push_back(chunk);
                    } else {
                        // Queueing more would add latency and skipping would break the
                        // decoder: continue on a private encoder.
                        self.fall_back_to_private();
                    }
                    return Ok(());
                }
            }
            Source::Private {
                rejoin,
                kept_up_since,
                ..
            } => {
                let lost = rejoin.as_ref().is_some_and(|m| m.is_lost());
                if lost {
                    *rejoin = None;
                    return Ok(());
                }
                if !chunk.payload.keyframe || chunk.still {
                    return Ok(());
                }
                if !window_open {
                    // No room for the lane's IDR: try again after keeping up a while more.
                    *rejoin = None;
                    *kept_up_since = Instant::now();
                    return Ok(());
                }
                // The lane's IDR: switch back to sharing from here (a private encode still
                // running is discarded by the epoch bump).
                let Some(member) = rejoin.take() else {
                    return Ok(());
                };
                self.epoch += 1;
                self.pending = None;
                self.source = Source::Lane {
                    member,
                    synced: true,
                };
                lock(&self.metrics).shared_encoder = true;
            }
            Source::SharedImages => return Ok(()),
        }
        self.send_frame(Outbound {
            frame: &chunk.frame,
            payload: &chunk.payload,
            codec: &chunk.codec,
            yuv: chunk.yuv,
            encode_time: chunk.encode_time,
            image_format: None,
        })
        .await
    }

    /// Sends held lane access units, oldest first, while the window has room.
    async fn send_held_chunk(&mut self) -> Result<(), SessionEnd> {
        while let Some(chunk) = self.held.front().cloned() {
            if !self.flow.has_room(chunk.payload.data.len(), Instant::now()) {
                break;
            }
            self.held.pop_front();
            self.send_frame(Outbound {
                frame: &chunk.frame,
                payload: &chunk.payload,
                codec: &chunk.codec,
                yuv: chunk.yuv,
                encode_time: chunk.encode_time,
                image_format: None,
            })
            .await?;
        }
        Ok(())
    }

    /// A keyframe request or decoder reset while on a lane: wait for the lane's next IDR.
    pub(super) fn resync_lane(&mut self) {
        if let Source::Lane { member, synced } = &mut self.source {
            *synced = false;
            self.held.clear();
            member.request_idr();
        }
    }

    pub(super) fn fall_back_to_private(&mut self) {
        let slot = EncoderSlot::new(
            self.stream.options.encoders.clone(),
            self.encoder_spec(self.latest.as_deref()),
        );
        self.epoch += 1;
        self.pending = None;
        self.held.clear();
        self.source = Source::private(slot);
        self.flow.request_keyframe();
        let mut m = lock(&self.metrics);
        m.shared_encoder = false;
        m.lane_fallbacks += 1;
    }

    pub(super) async fn send(&mut self, message: &ServerMessage<'_>) -> Result<usize, SessionEnd> {
        let bytes = encode_server(message);
        let len = bytes.len();
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.send(Outgoing::Binary(bytes.into())))
            .await
        {
            Ok(Ok(())) => Ok(len),
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

    async fn send_frame(&mut self, out: Outbound<'_>) -> Result<(), SessionEnd> {
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
        let header = FrameHeader {
            seq,
            frame_seq: frame.seq,
            timestamp_us: frame.timestamp_us,
            width,
            height,
            keyframe: out.payload.keyframe,
            pixel_ratio: frame.pixel_ratio,
            color: frame.color,
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
        self.last_send_at = Some(now);
        let mut m = lock(&self.metrics);
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

/// Sleeps until `deadline` (forever without one).
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
