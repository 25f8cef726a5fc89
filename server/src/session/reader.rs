//! The reader task: decodes the viewer's messages into a channel, so a slow socket write
//! never stops ACKs from being read and bad input ends only this session.

use futures_util::StreamExt;
use rfb_protocol::{decode_client, ClientMessage, CloseCode};
use tokio::sync::mpsc;

use super::end::SessionEnd;
use super::socket::{BoxSource, Incoming};

/// What the reader task passes to the session.
pub(crate) enum FromViewer {
    Message(ClientMessage),
    End(SessionEnd),
}

/// Decodes the viewer's messages until the connection ends, a message is bad, or the
/// session stops listening; returns the source while the connection may still be open.
pub(crate) async fn read_viewer(
    mut source: BoxSource,
    tx: mpsc::Sender<FromViewer>,
) -> Option<BoxSource> {
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
