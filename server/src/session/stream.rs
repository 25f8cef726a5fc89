//! The streaming phase of a session: frames out, ACKs and input in, driven by the
//! [`super::flow`] state machine, with the encoder on the blocking pool.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use rfb_protocol::{
    encode_server, ClientMessage, CloseCode, FrameHeader, ImageFrame, ServerMessage, StreamConfig,
    Transport, VideoChunk,
};
use tokio::sync::mpsc;

use super::encoding::{EncodeOutput, EncoderSlot};
use super::end::SessionEnd;
use super::flow::FlowControl;
use super::reader::FromViewer;
use super::socket::{BoxSink, Outgoing};
use crate::display::{lock, StreamState};
use crate::encode::{EncodedPayload, EncoderSpec};
use crate::events::{InputEvent, Principal};
use crate::frame::PublishedFrame;
use crate::metrics::SessionMetrics;

/// A send that takes longer than this ends the session (the viewer is gone or stuck).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Session {
    pub stream: Arc<StreamState>,
    pub client_id: u64,
    pub principal: Option<Principal>,
    pub transport: Transport,
    pub flow: FlowControl,
    pub metrics: Arc<Mutex<SessionMetrics>>,
    pub last_config: Option<StreamConfig>,
    pub sink: BoxSink,
}

impl Session {
    fn encoder_spec(&self, width: u32, height: u32) -> EncoderSpec {
        let o = &self.stream.options;
        EncoderSpec {
            fps: o.fps,
            bitrate_bps: o.bitrate_bps,
            keyframe_interval: o.keyframe_interval,
            jpeg_quality: o.jpeg_quality,
            threads: o.encoder_threads,
            ..EncoderSpec::new(self.transport, width, height)
        }
    }

    pub async fn stream_frames(
        &mut self,
        mut from_viewer: mpsc::Receiver<FromViewer>,
    ) -> SessionEnd {
        let mut frames = self.stream.subscribe();
        let mut closing = self.stream.closing.subscribe();
        let mut latest: Option<Arc<PublishedFrame>> = frames.borrow_and_update().clone();
        let (w, h) = latest.as_ref().map_or((0, 0), |f| f.frame.size());
        let mut slot = Some(EncoderSlot::new(
            self.stream.options.encoders.clone(),
            self.encoder_spec(w, h),
        ));
        let mut pending: Option<tokio::task::JoinHandle<EncodeOutput>> = None;
        loop {
            if pending.is_none() {
                let latest_seq = latest.as_ref().map_or(0, |f| f.seq);
                if let (Some(frame), Some(plan)) = (&latest, self.flow.poll(latest_seq)) {
                    if let Some(s) = slot.take() {
                        pending = Some(s.spawn(frame.clone(), plan.keyframe));
                    }
                }
            }
            tokio::select! {
                biased;
                code = async { closing.wait_for(Option::is_some).await.ok().and_then(|c| *c) } => {
                    let code = code.unwrap_or(CloseCode::GoingAway);
                    let reason = match code {
                        CloseCode::StreamRemoved => "the stream was removed",
                        _ => "the server is shutting down",
                    };
                    return SessionEnd::new(code, reason);
                }
                event = from_viewer.recv() => match event {
                    Some(FromViewer::Message(msg)) => self.on_message(msg),
                    Some(FromViewer::End(end)) => return end,
                    None => return SessionEnd::quiet(),
                },
                output = async { pending.as_mut().expect("guarded by is_some").await }, if pending.is_some() => {
                    pending = None;
                    let output = match output {
                        Ok(output) => output,
                        Err(join) => return SessionEnd::new(CloseCode::InternalError, format!("encoder task failed: {join}")),
                    };
                    slot = Some(output.slot);
                    let frame = output.frame;
                    match output.result {
                        Err(err) => return SessionEnd::new(CloseCode::InternalError, err.to_string()),
                        Ok(payloads) if payloads.is_empty() => self.flow.on_skipped(frame.seq),
                        Ok(payloads) => {
                            let encoder = slot.as_ref().map(|s| (s.codec_string(), s.yuv_encoding())).unwrap_or_default();
                            for payload in payloads {
                                if let Err(end) = self.send_frame(&encoder, &frame, payload, output.encode_time).await {
                                    return end;
                                }
                            }
                        }
                    }
                }
                changed = frames.changed() => {
                    if changed.is_err() {
                        return SessionEnd::new(CloseCode::GoingAway, "the stream is gone");
                    }
                    latest = frames.borrow_and_update().clone();
                }
            }
        }
    }

    fn on_message(&mut self, msg: ClientMessage) {
        match msg {
            ClientMessage::Ack(ack) => {
                let now = Instant::now();
                let acked = self.flow.on_ack(ack.seq);
                let mut m = lock(&self.metrics);
                for frame in acked {
                    m.on_acked(now, now.saturating_duration_since(frame.sent_at));
                }
                m.decode_queue_size = ack.decode_queue_size;
                m.inflight = self.flow.inflight() as u32;
            }
            ClientMessage::RequestKeyframe => self.flow.request_keyframe(),
            ClientMessage::DecoderReset => {
                self.flow.reset();
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
        self.stream.events.push(event);
    }

    async fn send(&mut self, message: &ServerMessage<'_>) -> Result<usize, SessionEnd> {
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

    async fn send_frame(
        &mut self,
        (codec, yuv): &(String, Option<rfb_protocol::YuvEncoding>),
        frame: &PublishedFrame,
        payload: EncodedPayload,
        encode_time: Duration,
    ) -> Result<(), SessionEnd> {
        let (width, height) = frame.frame.size();
        let config = StreamConfig {
            transport: self.transport,
            codec: match self.transport {
                Transport::Image(format) => format.mime().to_string(),
                Transport::Video(_) => codec.clone(),
            },
            width,
            height,
            pixel_ratio: frame.pixel_ratio,
            color: frame.color,
            yuv: *yuv,
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
        let seq = self.flow.on_sent(frame.seq, payload.keyframe, now);
        let header = FrameHeader {
            seq,
            frame_seq: frame.seq,
            timestamp_us: frame.timestamp_us,
            width,
            height,
            keyframe: payload.keyframe,
            pixel_ratio: frame.pixel_ratio,
            color: frame.color,
        };
        let message = match self.transport {
            Transport::Video(codec) => ServerMessage::VideoChunk(VideoChunk {
                header,
                codec,
                payload: &payload.data,
            }),
            Transport::Image(format) => ServerMessage::ImageFrame(ImageFrame {
                header,
                format,
                payload: &payload.data,
            }),
        };
        self.send(&message).await?;
        let mut m = lock(&self.metrics);
        m.on_sent(now, payload.data.len(), payload.keyframe, encode_time);
        m.frames_dropped = self.flow.frames_dropped();
        m.inflight = self.flow.inflight() as u32;
        Ok(())
    }
}
