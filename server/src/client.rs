//! A native viewer: connects over WebSocket, says `Hello`, receives and ACKs frames.
//! Integration tests and benchmarks drive real sessions with it; [`crate::decode`] turns
//! what it receives back into pixels.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfb_protocol::{
    decode_server, encode_client, Ack, ClientMessage, FrameHeader, FrameTimings, Hello, InputEvent,
    InputMessage, Role, ServerMessage, StreamConfig, Transport, WireError, CAP_H264_ANNEXB,
    PROTOCOL_VERSION,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client-side failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting or talking to the server failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server sent a message that does not decode.
    #[error("bad server message: {0}")]
    Wire(#[from] WireError),
    /// The server closed the connection.
    #[error("closed by the server: {code:?} {reason}")]
    Closed {
        /// The close code, if one was sent.
        code: Option<u16>,
        /// The close reason.
        reason: String,
    },
    /// The server sent something the protocol does not allow here.
    #[error("unexpected: {0}")]
    Unexpected(String),
}

/// Capabilities of a viewer that decodes everything.
pub fn all_capabilities() -> Vec<String> {
    vec![
        CAP_H264_ANNEXB.to_string(),
        "image/jpeg".to_string(),
        "image/webp".to_string(),
        "image/png".to_string(),
    ]
}

/// A `Hello` with the current protocol version and these capabilities.
pub fn hello(capabilities: &[&str]) -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        token: None,
        viewport: None,
        max_inflight: None,
    }
}

/// A server message kept as received; decode it with [`Received::message`].
#[derive(Debug, Clone)]
pub struct Received(pub Bytes);

impl Received {
    /// The decoded message (frame payloads borrow from the received bytes).
    pub fn message(&self) -> Result<ServerMessage<'_>, WireError> {
        decode_server(&self.0)
    }
}

/// A frame as the client received it.
#[derive(Debug, Clone)]
pub struct ReceivedFrame {
    /// The frame header.
    pub header: FrameHeader,
    /// The configuration in force when it arrived.
    pub config: StreamConfig,
    /// The payload (access unit or image).
    pub payload: Bytes,
}

/// A connected native viewer.
pub struct TestClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    config: Option<StreamConfig>,
    configs_seen: usize,
    role: Option<Role>,
    answer_heartbeats: bool,
    /// The id of the last input sent with [`TestClient::send_input`].
    last_input_id: u64,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The client's WebSocket settings: reads of at most 32 KiB, because the WebSocket library
/// zero-fills its whole read buffer (128 KiB by default) on every read, which cost more than
/// the reads themselves with hundreds of clients in one process (`rfb bench-viewers`).
fn socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(32 << 10)
}

impl TestClient {
    fn new(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> TestClient {
        TestClient {
            ws,
            config: None,
            configs_seen: 0,
            role: None,
            answer_heartbeats: true,
            last_input_id: 0,
        }
    }

    /// Stops answering the server's heartbeats (to test how the server treats a viewer
    /// that went silent).
    pub fn stop_answering_heartbeats(&mut self) {
        self.answer_heartbeats = false;
    }

    /// The role the server announced, once it did.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// Opens the WebSocket without saying anything.
    pub async fn connect(url: &str) -> Result<TestClient, ClientError> {
        // Nagle off: ACKs are tiny and must not wait for the server's delayed TCP ACK.
        let (ws, _response) =
            tokio_tungstenite::connect_async_with_config(url, Some(socket_config()), true).await?;
        Ok(TestClient::new(ws))
    }

    /// Opens the WebSocket with extra request headers (`Origin`, `Cookie`...). An HTTP
    /// refusal (403 for a forbidden origin) is [`ClientError::WebSocket`] carrying the
    /// response.
    pub async fn connect_with_headers(
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<TestClient, ClientError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        let mut request = url.into_client_request()?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ClientError::Unexpected(format!("header name {name}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| ClientError::Unexpected(format!("header value {value}: {e}")))?;
            request.headers_mut().insert(name, value);
        }
        let (ws, _response) =
            tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), true)
                .await?;
        Ok(TestClient::new(ws))
    }

    /// Connects and sends `hello`.
    pub async fn connect_with(url: &str, hello: Hello) -> Result<TestClient, ClientError> {
        let mut client = TestClient::connect(url).await?;
        client.send(&ClientMessage::Hello(hello)).await?;
        Ok(client)
    }

    /// Sends a protocol message.
    pub async fn send(&mut self, msg: &ClientMessage) -> Result<(), ClientError> {
        self.send_raw(Message::Binary(encode_client(msg).into()))
            .await
    }

    /// Sends any WebSocket message (for bad-input tests).
    pub async fn send_raw(&mut self, msg: Message) -> Result<(), ClientError> {
        self.ws.send(msg).await?;
        Ok(())
    }

    /// Acknowledges a displayed frame (without timings).
    pub async fn ack(&mut self, seq: u64, decode_queue_size: u32) -> Result<(), ClientError> {
        self.send(&ClientMessage::Ack(Ack {
            seq,
            decode_queue_size,
            timings: None,
        }))
        .await
    }

    /// Acknowledges a displayed frame with the viewer's durations for it.
    pub async fn ack_timed(
        &mut self,
        seq: u64,
        decode_queue_size: u32,
        timings: FrameTimings,
    ) -> Result<(), ClientError> {
        self.send(&ClientMessage::Ack(Ack {
            seq,
            decode_queue_size,
            timings: Some(timings),
        }))
        .await
    }

    /// Sends an input event with the next input id (1, 2, 3... per client, as a browser
    /// viewer numbers them) and returns that id.
    pub async fn send_input(&mut self, event: InputEvent) -> Result<u64, ClientError> {
        self.last_input_id += 1;
        let id = self.last_input_id;
        self.send(&ClientMessage::Input(InputMessage::new(id, event)))
            .await?;
        Ok(id)
    }

    /// The next server message; a close becomes [`ClientError::Closed`].
    pub async fn recv(&mut self) -> Result<Received, ClientError> {
        loop {
            let Some(msg) = self.ws.next().await else {
                return Err(ClientError::Closed {
                    code: None,
                    reason: "connection ended".to_string(),
                });
            };
            match msg? {
                Message::Binary(bytes) => {
                    let received = Received(bytes);
                    match received.message()? {
                        ServerMessage::Config(config) => {
                            self.config = Some(config);
                            self.configs_seen += 1;
                        }
                        ServerMessage::Role(role) => self.role = Some(role),
                        // Answer like a browser viewer, so the server keeps this session.
                        ServerMessage::Heartbeat if self.answer_heartbeats => {
                            self.send(&ClientMessage::Heartbeat).await?;
                        }
                        _ => {}
                    }
                    return Ok(received);
                }
                Message::Close(frame) => {
                    return Err(ClientError::Closed {
                        code: frame.as_ref().map(|f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    })
                }
                Message::Text(text) => {
                    return Err(ClientError::Unexpected(format!("text message {text}")))
                }
                _ => continue,
            }
        }
    }

    /// The next frame, skipping `Config`, `Stats` and `SetQuality` (a `Config` is
    /// remembered and must precede the first frame). An `Error` message is returned as
    /// [`ClientError::Closed`] with its code.
    pub async fn next_frame(&mut self) -> Result<ReceivedFrame, ClientError> {
        loop {
            let received = self.recv().await?;
            let (header, payload) = match received.message()? {
                ServerMessage::VideoChunk(c) => (c.header, Bytes::copy_from_slice(c.payload)),
                ServerMessage::ImageFrame(f) => (f.header, Bytes::copy_from_slice(f.payload)),
                ServerMessage::Error(report) => {
                    return Err(ClientError::Closed {
                        code: Some(report.code),
                        reason: report.message,
                    })
                }
                _ => continue,
            };
            let config = self.config.clone().ok_or_else(|| {
                ClientError::Unexpected("a frame arrived before Config".to_string())
            })?;
            return Ok(ReceivedFrame {
                header,
                config,
                payload,
            });
        }
    }

    /// Waits for the server to close the connection and returns its close code and reason
    /// (messages before the close are skipped).
    pub async fn closed(&mut self) -> (Option<u16>, String) {
        loop {
            match self.recv().await {
                Ok(_) => continue,
                Err(ClientError::Closed { code, reason }) => return (code, reason),
                Err(other) => return (None, other.to_string()),
            }
        }
    }

    /// The last `Config` received.
    pub fn config(&self) -> Option<&StreamConfig> {
        self.config.as_ref()
    }

    /// How many `Config` messages arrived so far.
    pub fn configs_seen(&self) -> usize {
        self.configs_seen
    }

    /// The negotiated transport, once a `Config` arrived.
    pub fn transport(&self) -> Option<Transport> {
        self.config.as_ref().map(|c| c.transport)
    }

    /// Closes the connection normally.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: WsCloseCode::Normal,
                reason: "bye".into(),
            }))
            .await?;
        Ok(())
    }
}
