//! The session's view of a WebSocket: a stream of [`Incoming`] and a sink of [`Outgoing`],
//! independent of the WebSocket library, so tests can drive a session through channels
//! and the axum adapter stays a few lines.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use rfb_protocol::CloseCode;

/// What the session can receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A binary message.
    Binary(Bytes),
    /// A text message (not part of the protocol).
    Text,
    /// The peer closed the connection.
    Closed,
    /// The transport refused a message larger than its limit.
    TooBig,
    /// The transport failed.
    Error(String),
}

/// What the session can send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// A binary message.
    Binary(Bytes),
    /// A close frame with a code and reason.
    Close {
        /// The close code.
        code: CloseCode,
        /// The reason (at most 123 bytes are sent).
        reason: String,
    },
}

/// A failed send (the connection is gone).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sending to the viewer failed: {0}")]
pub struct SendError(pub String);

impl From<axum::Error> for SendError {
    fn from(err: axum::Error) -> Self {
        SendError(err.to_string())
    }
}

/// The sending half.
pub type BoxSink = Pin<Box<dyn Sink<Outgoing, Error = SendError> + Send>>;
/// The receiving half.
pub type BoxSource = Pin<Box<dyn Stream<Item = Incoming> + Send>>;

fn is_capacity_error(err: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = err.into_inner();
    matches!(inner.downcast_ref::<WsError>(), Some(WsError::Capacity(_)))
}

/// Adapts an axum WebSocket.
pub fn split_axum(socket: axum::extract::ws::WebSocket) -> (BoxSink, BoxSource) {
    use axum::extract::ws::{CloseFrame, Message};
    let (sink, source) = socket.split();
    // `with` converts the socket's errors through `From` on every call; `sink_map_err` would
    // not do: its closure runs once, and the close after a failed send would panic.
    let sink = sink.with(|out: Outgoing| async move {
        Ok::<_, SendError>(match out {
            Outgoing::Binary(bytes) => Message::Binary(bytes),
            Outgoing::Close { code, reason } => Message::Close(Some(CloseFrame {
                code: code.code(),
                reason: rfb_protocol::fit_close_reason(&reason).to_owned().into(),
            })),
        })
    });
    let source = source.filter_map(|msg| async move {
        match msg {
            Ok(Message::Binary(bytes)) => Some(Incoming::Binary(bytes)),
            Ok(Message::Text(_)) => Some(Incoming::Text),
            Ok(Message::Close(_)) => Some(Incoming::Closed),
            Ok(Message::Ping(_) | Message::Pong(_)) => None,
            Err(err) => {
                let text = err.to_string();
                Some(if is_capacity_error(err) {
                    Incoming::TooBig
                } else {
                    Incoming::Error(text)
                })
            }
        }
    });
    (Box::pin(sink), Box::pin(source))
}
