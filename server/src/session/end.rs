//! How a session ends: the close code and reason, and the goodbye on the wire.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rfb_protocol::{encode_server, CloseCode, ErrorReport, ServerMessage, WireError};

use super::socket::{BoxSink, BoxSource, Incoming, Outgoing};

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

    /// The end for a message that did not decode.
    pub fn from_wire(err: WireError) -> SessionEnd {
        match err {
            WireError::TooLarge { size, .. } => SessionEnd::too_big(size),
            other => SessionEnd::new(CloseCode::ProtocolError, other.to_string()),
        }
    }
}

/// How long a closing session waits for the viewer to acknowledge the close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Sends the error report and close frame for `end` (nothing when the peer is gone), then
/// keeps the connection open until the viewer answers the close, at most
/// [`CLOSE_LINGER`]: dropping a socket with unread input makes the kernel reset it, and a
/// reset can destroy the close frame before the viewer reads it (an oversized message
/// leaves exactly such unread bytes).
pub(crate) async fn finish(mut sink: BoxSink, source: Option<BoxSource>, end: &SessionEnd) {
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
