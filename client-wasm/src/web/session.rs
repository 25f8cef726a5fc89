//! One connection: probe the capabilities, open the WebSocket, send `Hello`, decode every
//! server message with the shared protocol crate, hand frames to the [`ViewerCore`], and
//! turn the end of the connection into one readable report. Like the core, it uses no
//! `window` or `document`, so the pair can move into a worker.

use std::cell::RefCell;
use std::rc::Rc;

use rfb_protocol::{
    decode_server, encode_client, ClientMessage, CloseCode, ErrorReport, Hello, ServerMessage,
    Viewport, PROTOCOL_VERSION,
};
use wasm_bindgen::JsValue;
use web_sys::WebSocket;

use super::core::{Outbox, ViewerCore};
use super::error::ViewerError;
use super::events::{EventSink, ViewState, ViewerEvent};
use super::probe;
use super::socket::{send_if_open, Socket, SocketHandler};
use crate::input::{viewport, ViewportTracker};

/// What a session needs to connect.
#[derive(Debug, Clone)]
pub struct SessionParams {
    /// WebSocket URL.
    pub url: String,
    /// Credential for the server's authentication hook.
    pub token: Option<String>,
    /// Requested in-flight ceiling.
    pub max_inflight: Option<u8>,
    /// Never advertise H.264.
    pub image_only: bool,
    /// Log each step to `console.debug`.
    pub debug: bool,
}

/// The socket the core's messages go out on, once there is one.
#[derive(Default)]
pub struct SocketSlot(RefCell<Option<WebSocket>>);

impl Outbox for SocketSlot {
    fn send(&self, msg: &ClientMessage) -> Result<(), ViewerError> {
        match self.0.borrow().as_ref() {
            Some(ws) => send_if_open(ws, &encode_client(msg)).map(|_| ()),
            None => Ok(()),
        }
    }
}

struct State {
    params: SessionParams,
    core: ViewerCore,
    events: Rc<dyn EventSink>,
    state: ViewState,
    opened: bool,
    /// What the `Hello` advertises.
    caps: Vec<String>,
    /// The server's `ErrorReport`, reported together with the close that follows it.
    report: Option<ErrorReport>,
    /// The viewport last sent (in `Hello` or `SetViewport`).
    viewport: ViewportTracker,
    disposed: bool,
}

struct Shared {
    st: RefCell<State>,
    slot: Rc<SocketSlot>,
    socket: RefCell<Option<Socket>>,
}

/// A connection to an rfb server.
pub struct Session {
    shared: Rc<Shared>,
}

impl Session {
    /// Starts connecting; `core` must send through `slot`.
    pub fn start(
        params: SessionParams,
        core: ViewerCore,
        slot: Rc<SocketSlot>,
        events: Rc<dyn EventSink>,
    ) -> Session {
        events.emit(ViewerEvent::State(ViewState::Connecting));
        let shared = Rc::new(Shared {
            st: RefCell::new(State {
                params,
                core,
                events,
                state: ViewState::Connecting,
                opened: false,
                caps: Vec::new(),
                report: None,
                viewport: ViewportTracker::default(),
                disposed: false,
            }),
            slot,
            socket: RefCell::new(None),
        });
        let weak = Rc::downgrade(&shared);
        wasm_bindgen_futures::spawn_local(async move {
            let image_only = match weak.upgrade() {
                Some(s) => s.st.borrow().params.image_only,
                None => return,
            };
            let caps = probe::capabilities(image_only).await;
            if let Some(shared) = weak.upgrade() {
                Shared::connect(&shared, caps);
            }
        });
        Session { shared }
    }

    /// The connection state.
    pub fn state(&self) -> ViewState {
        self.shared.st.borrow().state
    }

    /// The viewer's size or DPR changed: sends `SetViewport` once connected, when it differs
    /// from the last one sent (before that, `Hello` will carry the layout current then).
    pub fn viewport_changed(&self, viewport: Viewport) {
        let mut st = self.shared.st.borrow_mut();
        if !st.opened || st.disposed || st.state.is_final() {
            return;
        }
        if let Some(viewport) = st.viewport.changed(viewport) {
            st.log(&format!("sending {viewport:?}"));
            if let Err(e) = self.shared.slot.send(&ClientMessage::SetViewport(viewport)) {
                st.events.emit(ViewerEvent::Error(e));
            }
        }
    }

    /// Closes the socket and the decoder; nothing is reported afterwards.
    pub fn dispose(&self) {
        {
            let mut st = self.shared.st.borrow_mut();
            st.disposed = true;
            st.state = ViewState::Closed;
            st.core.close();
        }
        self.shared.slot.0.borrow_mut().take();
        // Dropping the socket detaches its handlers and closes it with 1000.
        let socket = self.shared.socket.borrow_mut().take();
        drop(socket);
    }
}

impl Shared {
    fn connect(shared: &Rc<Shared>, caps: Result<Vec<String>, String>) {
        let mut st = shared.st.borrow_mut();
        if st.disposed {
            return;
        }
        let caps = match caps {
            Ok(caps) => caps,
            Err(reason) => {
                // The H.264 probe itself failed: report it and go on with images.
                st.events.emit(ViewerEvent::Error(ViewerError::Browser {
                    what: "probing VideoDecoder support",
                    reason,
                }));
                Vec::new()
            }
        };
        if caps.is_empty() {
            st.fail(ViewerError::NoCapabilities);
            return;
        }
        st.log(&format!(
            "capabilities {caps:?}, connecting to {}",
            st.params.url
        ));
        let url = st.params.url.clone();
        match Socket::connect(&url, Rc::downgrade(shared)) {
            Ok(socket) => {
                *shared.slot.0.borrow_mut() = Some(socket.ws().clone());
                *shared.socket.borrow_mut() = Some(socket);
                st.caps = caps;
            }
            Err(e) => st.fail(e),
        }
    }
}

impl State {
    fn log(&self, what: &str) {
        if self.params.debug {
            web_sys::console::debug_1(&JsValue::from_str(&format!("rfb-viewer: {what}")));
        }
    }

    fn set_state(&mut self, state: ViewState) {
        if self.state != state && !self.state.is_final() {
            self.state = state;
            self.events.emit(ViewerEvent::State(state));
        }
    }

    /// The viewer could not start: report why and end in `error`.
    fn fail(&mut self, error: ViewerError) {
        self.events.emit(ViewerEvent::Error(error));
        self.core.close();
        self.set_state(ViewState::Error);
    }

    fn hello(&mut self) -> ClientMessage {
        let layout = self.core.layout();
        let viewport = viewport(layout.css_width, layout.css_height, layout.dpr);
        self.viewport.sent(viewport);
        ClientMessage::Hello(Hello {
            version: PROTOCOL_VERSION,
            capabilities: self.caps.clone(),
            token: self.params.token.clone(),
            viewport: Some(viewport),
            max_inflight: self.params.max_inflight,
        })
    }

    fn handle(&mut self, bytes: &[u8]) {
        let msg = match decode_server(bytes) {
            Ok(msg) => msg,
            Err(e) => {
                self.events.emit(ViewerEvent::Error(ViewerError::Protocol {
                    len: bytes.len(),
                    reason: e.to_string(),
                }));
                return;
            }
        };
        match msg {
            ServerMessage::Config(config) => {
                self.core.config(config);
                self.set_state(ViewState::Negotiated);
            }
            ServerMessage::VideoChunk(chunk) => self.core.video_chunk(&chunk),
            ServerMessage::ImageFrame(frame) => self.core.image_frame(&frame),
            ServerMessage::Stats(stats) => self.events.emit(ViewerEvent::ServerStats(stats)),
            ServerMessage::SetQuality(q) => {
                self.log(&format!("server quality now {q:?}"));
                self.events.emit(ViewerEvent::Quality(q));
            }
            ServerMessage::Error(report) => {
                self.log(&format!("server error report {report:?}"));
                self.report = Some(report);
            }
        }
    }

    /// The single report for the end of a connection the viewer did not close itself.
    fn close_error(&mut self, code: u16, reason: String) -> Option<ViewerError> {
        let close_name = |code: u16| match CloseCode::from_code(code) {
            Some(c) => format!("{c:?}"),
            None => "unknown close code".to_string(),
        };
        if let Some(report) = self.report.take() {
            let message = if reason.is_empty() || reason == report.message {
                report.message
            } else {
                format!("{} ({reason})", report.message)
            };
            return Some(ViewerError::ServerClosed {
                code,
                name: close_name(code),
                message,
            });
        }
        let reason_suffix = if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        };
        match code {
            1000 => None,
            1005 | 1006 | 1015 => Some(ViewerError::Connection {
                url: self.params.url.clone(),
                what: if self.opened {
                    "was lost"
                } else {
                    "could not be opened"
                },
                code,
                reason: reason_suffix,
            }),
            _ => Some(ViewerError::ServerClosed {
                code,
                name: close_name(code),
                message: if reason.is_empty() {
                    "no reason given".into()
                } else {
                    reason
                },
            }),
        }
    }
}

impl SocketHandler for Shared {
    fn opened(&self) {
        let mut st = self.st.borrow_mut();
        st.opened = true;
        st.set_state(ViewState::Open);
        let hello = st.hello();
        st.log(&format!("open, sending {hello:?}"));
        if let Err(e) = self.slot.send(&hello) {
            st.events.emit(ViewerEvent::Error(e));
        }
    }

    fn message(&self, bytes: Vec<u8>) {
        let mut st = self.st.borrow_mut();
        if !st.disposed {
            st.handle(&bytes);
        }
    }

    fn text(&self, len: usize) {
        let st = self.st.borrow();
        st.events.emit(ViewerEvent::Error(ViewerError::Protocol {
            len,
            reason: "a text message (the protocol is binary only)".into(),
        }));
    }

    fn closed(&self, code: u16, reason: String) {
        let mut st = self.st.borrow_mut();
        if st.disposed {
            return;
        }
        st.log(&format!("closed with {code} {reason:?}"));
        self.slot.0.borrow_mut().take();
        st.core.close();
        if let Some(error) = st.close_error(code, reason) {
            st.events.emit(ViewerEvent::Error(error));
        }
        st.set_state(ViewState::Closed);
    }
}
