//! A binary WebSocket whose callbacks are struct fields (not leaked) and forward to a
//! [`SocketHandler`] held weakly, so dropping the owner ends everything.

use std::rc::Weak;

use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use super::error::{js_reason, ViewerError};

/// What a socket reports.
pub trait SocketHandler {
    /// The connection opened.
    fn opened(&self);
    /// A binary message arrived.
    fn message(&self, bytes: Vec<u8>);
    /// A text message arrived (the protocol has none).
    fn text(&self, len: usize);
    /// The connection closed (the browser's `error` event always precedes an abnormal
    /// close and carries no detail, so the close is the single report).
    fn closed(&self, code: u16, reason: String);
}

/// An open or opening WebSocket.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Opens `url` and forwards its events to `handler`.
    pub fn connect<H: SocketHandler + 'static>(
        url: &str,
        handler: Weak<H>,
    ) -> Result<Socket, ViewerError> {
        let ws = WebSocket::new(url).map_err(|e| ViewerError::Browser {
            what: "opening the WebSocket",
            reason: js_reason(&e),
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);

        let h = handler.clone();
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_| {
            if let Some(h) = h.upgrade() {
                h.opened();
            }
        });
        let h = handler.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(h) = h.upgrade() else { return };
            let data = event.data();
            if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                h.message(js_sys::Uint8Array::new(buffer).to_vec());
            } else {
                h.text(data.as_string().map_or(0, |s| s.len()));
            }
        });
        // The `error` event has no detail; the `close` event that follows reports it.
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_| {});
        let h = handler;
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            if let Some(h) = h.upgrade() {
                h.closed(event.code(), event.reason());
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_error: on_error,
            _on_close: on_close,
        })
    }

    /// The underlying socket (for sending).
    pub fn ws(&self) -> &WebSocket {
        &self.ws
    }

    /// Detaches every handler and closes normally (1000). No event is reported after.
    pub fn close(&self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onerror(None);
        self.ws.set_onclose(None);
        if self.ws.ready_state() <= WebSocket::OPEN {
            // Closing with 1000 and no reason cannot throw.
            let _ = self.ws.close_with_code(1000);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.close();
    }
}

/// Sends `bytes` if the socket is open. A socket that is closing or closed drops them: its
/// close is reported on its own.
pub fn send_if_open(ws: &WebSocket, bytes: &[u8]) -> Result<bool, ViewerError> {
    if ws.ready_state() != WebSocket::OPEN {
        return Ok(false);
    }
    ws.send_with_u8_array(bytes)
        .map(|()| true)
        .map_err(|e| ViewerError::Send {
            reason: js_reason(&e),
        })
}
