//! One viewer's session: handshake, then frames out and ACKs/input in until either side
//! ends it. The policy lives in [`flow`]; this module is the glue between the socket, the
//! stream's latest frame, the encoder on the blocking pool and the metrics.
//!
//! A reader task decodes the viewer's messages into a channel, so a slow socket write
//! never stops ACKs from being read, and bad input ends only this session.

pub mod encoding;
pub mod flow;
pub mod handshake;
pub mod socket;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rfb_protocol::{
    decode_client, encode_server, ClientMessage, CloseCode, ErrorReport, FrameHeader, ImageFrame,
    ServerMessage, StreamConfig, Transport, VideoChunk, WireError,
};
use tokio::sync::mpsc;

use crate::display::{lock, SessionEntry, StreamState};
use crate::encode::{EncodedPayload, EncoderSpec};
use crate::events::{InputEvent, Principal};
use crate::frame::PublishedFrame;
use crate::metrics::SessionMetrics;
use crate::server::ServerShared;
use encoding::{EncodeOutput, EncoderSlot};
use flow::FlowControl;
use socket::{BoxSink, BoxSource, Incoming, Outgoing};

/// A send that takes longer than this ends the session (the viewer is gone or stuck).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a connection came from.
#[derive(Debug)]
pub(crate) struct Context {
    /// The server.
    pub(crate) server: Arc<ServerShared>,
    /// The peer's address.
    pub peer: Option<SocketAddr>,
    /// The request path.
    pub path: String,
}

/// Why a session ended: a close code and reason to send, or none when the peer left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    /// The close code to send (`None`: the connection is already gone).
    pub code: Option<CloseCode>,
    /// A readable reason.
    pub reason: String,
}

impl SessionEnd {
    /// An end with a close code.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> SessionEnd {
        SessionEnd {
            code: Some(code),
            reason: reason.into(),
        }
    }

    /// The peer went away; nothing to send.
    pub fn quiet() -> SessionEnd {
        SessionEnd {
            code: None,
            reason: "the viewer disconnected".to_string(),
        }
    }

    /// A message over the size limit.
    pub fn too_big(size: usize) -> SessionEnd {
        SessionEnd::new(
            CloseCode::MessageTooBig,
            format!(
                "message of {size} bytes exceeds the {}-byte limit",
                rfb_protocol::MAX_CLIENT_MESSAGE_BYTES
            ),
        )
    }

    /// The end implied by a non-binary incoming item.
    pub fn from_incoming(incoming: Incoming) -> SessionEnd {
        match incoming {
            Incoming::Binary(_) => SessionEnd::new(CloseCode::ProtocolError, "unexpected message"),
            Incoming::Text => SessionEnd::new(
                CloseCode::UnsupportedData,
                "text messages are not part of the protocol (binary only)",
            ),
            Incoming::Closed => SessionEnd::quiet(),
            Incoming::TooBig => SessionEnd::new(
                CloseCode::MessageTooBig,
                format!(
                    "message exceeds the {}-byte limit",
                    rfb_protocol::MAX_CLIENT_MESSAGE_BYTES
                ),
            ),
            Incoming::Error(err) => SessionEnd {
                code: None,
                reason: format!("connection failed: {err}"),
            },
        }
    }

    fn from_wire(err: WireError) -> SessionEnd {
        match err {
            WireError::TooLarge { size, .. } => SessionEnd::too_big(size),
            other => SessionEnd::new(CloseCode::ProtocolError, other.to_string()),
        }
    }
}

/// The name of a client message, for error reasons.
pub(crate) fn message_name(msg: &ClientMessage) -> &'static str {
    match msg {
        ClientMessage::Hello(_) => "Hello",
        ClientMessage::Ack(_) => "Ack",
        ClientMessage::RequestKeyframe => "RequestKeyframe",
        ClientMessage::DecoderReset => "DecoderReset",
        ClientMessage::Input(_) => "Input",
        ClientMessage::SetViewport(_) => "SetViewport",
    }
}

/// How long a closing session waits for the viewer to acknowledge the close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Sends the error report and close frame for `end` (nothing when the peer is gone), then
/// keeps the connection open until the viewer answers the close, at most
/// [`CLOSE_LINGER`]: dropping a socket with unread input makes the kernel reset it, and a
/// reset can destroy the close frame before the viewer reads it (an oversized message
/// leaves exactly such unread bytes).
async fn finish(mut sink: BoxSink, source: Option<BoxSource>, end: &SessionEnd) {
    if let Some(code) = end.code {
        let report = ServerMessage::Error(ErrorReport {
            code: code.code(),
            message: end.reason.clone(),
        });
        let goodbye = async {
            sink.send(Outgoing::Binary(encode_server(&report).into()))
                .await?;
            sink.send(Outgoing::Close {
                code,
                reason: end.reason.clone(),
            })
            .await
        };
        let _ = tokio::time::timeout(CLOSE_LINGER, goodbye).await;
        if let Some(mut source) = source {
            let deadline = tokio::time::Instant::now() + CLOSE_LINGER;
            let answered = tokio::time::timeout_at(deadline, async {
                while let Some(incoming) = source.next().await {
                    if incoming == Incoming::Closed {
                        return true;
                    }
                }
                false
            })
            .await
            .unwrap_or(false);
            if !answered {
                tokio::time::sleep_until(deadline).await;
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_LINGER, sink.close()).await;
}

/// Closes a connection to a stream that does not exist (4404).
pub(crate) async fn refuse_unknown_stream(sink: BoxSink, source: BoxSource, name: String) {
    let end = SessionEnd::new(
        CloseCode::UnknownStream,
        format!("no stream named {name:?}"),
    );
    finish(sink, Some(source), &end).await;
}

/// Runs a viewer session on `stream` until it ends.
pub(crate) async fn run(
    sink: BoxSink,
    mut source: BoxSource,
    stream: Arc<StreamState>,
    ctx: Context,
) {
    let timeout = ctx.server.options.hello_timeout;
    let hello = match handshake::receive_hello(&mut source, timeout).await {
        Ok(hello) => hello,
        Err(end) => return finish(sink, Some(source), &end).await,
    };
    let transport = match handshake::negotiate(&hello, &stream.options) {
        Ok(t) => t,
        Err(end) => return finish(sink, Some(source), &end).await,
    };
    let client_id = ctx
        .server
        .next_client_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let max_inflight = hello.max_inflight.map_or(stream.options.max_inflight, |m| {
        m.clamp(1, stream.options.max_inflight.max(1))
    });
    let registration = Registration::new(stream.clone(), client_id, transport);
    tracing::debug!(client_id, stream = %stream.name, transport = transport.name(), peer = ?ctx.peer, "viewer attached");

    let (tx, rx) = mpsc::channel(64);
    let reader = tokio::spawn(read_viewer(source, tx));
    let mut session = Session {
        flow: FlowControl::new(max_inflight, stream.options.keyframe_after_drop),
        metrics: registration.metrics.clone(),
        stream,
        client_id,
        principal: None,
        transport,
        last_config: None,
        sink,
    };
    let end = session.stream_frames(rx).await;
    // The receiver is gone, so the reader hands the socket's source back promptly.
    let source = match tokio::time::timeout(Duration::from_secs(1), reader).await {
        Ok(Ok(source)) => source,
        _ => None,
    };
    tracing::debug!(client_id, reason = %end.reason, "viewer detached");
    drop(registration);
    finish(session.sink, source, &end).await;
}

/// Keeps a session in its stream's registry (client count, metrics) while it lives.
struct Registration {
    stream: Arc<StreamState>,
    client_id: u64,
    metrics: Arc<Mutex<SessionMetrics>>,
}

impl Registration {
    fn new(stream: Arc<StreamState>, client_id: u64, transport: Transport) -> Registration {
        let mut initial = SessionMetrics::default();
        initial.target_bitrate_bps = u64::from(stream.options.bitrate_bps);
        initial.target_fps = stream.options.fps;
        let metrics = Arc::new(Mutex::new(initial));
        lock(&stream.sessions).insert(
            client_id,
            SessionEntry {
                transport: transport.name(),
                metrics: metrics.clone(),
            },
        );
        Registration {
            stream,
            client_id,
            metrics,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.stream.sessions).remove(&self.client_id);
        self.stream.sessions_done.notify_waiters();
    }
}

/// What the reader task passes to the session.
enum FromViewer {
    Message(ClientMessage),
    End(SessionEnd),
}

/// Decodes the viewer's messages until the connection ends, a message is bad, or the
/// session stops listening; returns the source while the connection may still be open.
async fn read_viewer(mut source: BoxSource, tx: mpsc::Sender<FromViewer>) -> Option<BoxSource> {
    loop {
        let incoming = tokio::select! {
            _ = tx.closed() => return Some(source),
            incoming = source.next() => incoming,
        };
        let Some(incoming) = incoming else {
            let _ = tx.send(FromViewer::End(SessionEnd::quiet())).await;
            return None;
        };
        let event = match incoming {
            Incoming::Binary(bytes) => match decode_client(&bytes) {
                Ok(ClientMessage::Hello(_)) => FromViewer::End(SessionEnd::new(
                    CloseCode::ProtocolError,
                    "Hello sent twice",
                )),
                Ok(msg) => FromViewer::Message(msg),
                Err(err) => FromViewer::End(SessionEnd::from_wire(err)),
            },
            other => FromViewer::End(SessionEnd::from_incoming(other)),
        };
        let is_end = matches!(event, FromViewer::End(_));
        if tx.send(event).await.is_err() || is_end {
            return Some(source);
        }
    }
}

struct Session {
    stream: Arc<StreamState>,
    client_id: u64,
    principal: Option<Principal>,
    transport: Transport,
    flow: FlowControl,
    metrics: Arc<Mutex<SessionMetrics>>,
    last_config: Option<StreamConfig>,
    sink: BoxSink,
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

    async fn stream_frames(&mut self, mut from_viewer: mpsc::Receiver<FromViewer>) -> SessionEnd {
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
                self.push_event(rfb_protocol::InputEvent::Resize(viewport))
            }
            // The reader ends the session on a second Hello before it gets here.
            ClientMessage::Hello(_) => {}
        }
    }

    fn push_event(&self, event: rfb_protocol::InputEvent) {
        self.stream.events.push(InputEvent {
            client_id: self.client_id,
            principal: self.principal.clone(),
            event,
            received_us: self.stream.epoch.elapsed().as_micros() as u64,
        });
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
