//! One connection: probe the capabilities, open the WebSocket, send `Hello`, decode every
//! server message with the shared protocol crate, hand frames to the [`ViewerCore`], and
//! turn the end of the connection into one readable report. Like the core, it uses no
//! `window` or `document`, so the pair can move into a worker.
//!
//! Reconnect: when a connection ends in a way worth retrying ([`retries_after`]), the
//! session reports it (`onError` with `retryInMs`, a console warning), goes to
//! `reconnecting`, keeps the last frame on screen ([`ViewerCore::suspend`]) and opens a new
//! socket after the [`Backoff`] delay; the server starts every connection with a `Config`
//! and a keyframe, so the picture resumes by itself. A refusal (4401, 4426, 4406, 4404, a
//! protocol violation) ends in `closed` with no retry; `reconnect()` forces an attempt now
//! in any state.
//!
//! Dead links ([`Liveness`]): an attempt that has no `Config` within `connectTimeoutMs`
//! (a socket stuck in `CONNECTING`, a server that accepts and never answers) and a
//! negotiated connection that hears nothing for three of the server's heartbeat intervals
//! (half-open after a laptop slept) are given up and retried like a lost connection. The
//! backoff starts over only after a connection stayed negotiated for
//! [`crate::liveness::STABLE_AFTER_MS`], so a server that crashes right after `Config` is
//! retried ever more slowly, not every 250 ms for ever.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use rfb_protocol::{
    decode_server, encode_client, ClientMessage, CloseCode, ErrorReport, Hello, ServerMessage,
    Viewport, PROTOCOL_VERSION,
};
use wasm_bindgen::JsValue;
use web_sys::WebSocket;

use super::core::{performance_now, Outbox, ViewerCore};
use super::error::ViewerError;
use super::events::{EventSink, ViewState, ViewerEvent};
use super::options::Options;
use super::probe;
use super::socket::{send_if_open, Socket, SocketHandler};
use super::timer::{Interval, Timeout};
use crate::input::{viewport, ViewportTracker};
use crate::liveness::{was_stable, Dead, Liveness};
use crate::reconnect::{retries_after, Backoff, ReconnectPolicy};

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
    /// How to reconnect after the connection ends (`None`: never by itself).
    pub reconnect: Option<ReconnectPolicy>,
    /// Milliseconds from opening the socket to `Config` before the attempt is given up.
    pub connect_timeout_ms: f64,
}

impl SessionParams {
    /// The connection settings among the view's `options`, for `url`.
    pub fn new(url: String, options: &Options) -> SessionParams {
        SessionParams {
            url,
            token: options.token.clone(),
            max_inflight: options.max_inflight,
            image_only: options.image_only,
            debug: options.debug,
            reconnect: options.reconnect,
            connect_timeout_ms: options.connect_timeout_ms,
        }
    }
}

/// What the session does when the core finds the stream's video undecodable.
type OnVideoUnsupported = Box<dyn Fn()>;

/// The socket the core's messages go out on, once there is one.
#[derive(Default)]
pub struct SocketSlot(
    RefCell<Option<WebSocket>>,
    RefCell<Option<OnVideoUnsupported>>,
);

impl SocketSlot {
    /// Sends an already encoded client message (input the main thread encoded, in worker
    /// mode); dropped quietly when there is no open connection.
    pub fn send_encoded(&self, bytes: &[u8]) -> Result<(), ViewerError> {
        match self.0.borrow().as_ref() {
            Some(ws) => send_if_open(ws, bytes).map(|_| ()),
            None => Ok(()),
        }
    }
}

impl Outbox for SocketSlot {
    fn send(&self, msg: &ClientMessage) -> Result<(), ViewerError> {
        self.send_encoded(&encode_client(msg))
    }

    fn video_unsupported(&self) {
        if let Some(on) = self.1.borrow().as_ref() {
            on();
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
    /// Reconnect attempts since the last good connection (`None`: reconnect is off).
    backoff: Option<Backoff>,
    /// The scheduled reconnect attempt.
    retry: Option<Timeout>,
    /// The current attempt's liveness (`None` between attempts).
    liveness: Option<Liveness>,
    /// What the server lets this viewer do (a watcher sends no viewport changes).
    role: Option<rfb_protocol::Role>,
    disposed: bool,
}

/// How often the liveness of the connection is checked (ms).
const LIVENESS_CHECK_MS: i32 = 250;

struct Shared {
    st: RefCell<State>,
    slot: Rc<SocketSlot>,
    socket: RefCell<Option<Socket>>,
    /// Runs the liveness checks for the session's whole life.
    watch: RefCell<Option<Interval>>,
    /// This session, for the callbacks it schedules.
    me: Weak<Shared>,
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
        let backoff = params.reconnect.map(Backoff::new);
        let shared = Rc::new_cyclic(|me| Shared {
            st: RefCell::new(State {
                params,
                core,
                events,
                state: ViewState::Connecting,
                opened: false,
                caps: Vec::new(),
                report: None,
                viewport: ViewportTracker::default(),
                backoff,
                retry: None,
                liveness: None,
                role: None,
                disposed: false,
            }),
            slot,
            socket: RefCell::new(None),
            watch: RefCell::new(None),
            me: me.clone(),
        });
        let weak = Rc::downgrade(&shared);
        *shared.slot.1.borrow_mut() = Some(Box::new(move || {
            // From a task of its own: the core is borrowed while it reports this.
            let weak = weak.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(shared) = weak.upgrade() {
                    Shared::fall_back_to_images(&shared);
                }
            });
        }));
        let weak = Rc::downgrade(&shared);
        match Interval::new(LIVENESS_CHECK_MS, move || {
            if let Some(shared) = weak.upgrade() {
                Shared::check_liveness(&shared);
            }
        }) {
            Ok(timer) => *shared.watch.borrow_mut() = Some(timer),
            Err(e) => shared.st.borrow().events.emit(ViewerEvent::Error(e)),
        }
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
        if st.role.is_some_and(|r| !r.may_control()) {
            return; // a watcher: the server would drop it
        }
        if let Some(viewport) = st.viewport.changed(viewport) {
            st.log(&format!("sending {viewport:?}"));
            if let Err(e) = self.shared.slot.send(&ClientMessage::SetViewport(viewport)) {
                st.events.emit(ViewerEvent::Error(e));
            }
        }
    }

    /// Drops the current connection (if any) and opens a new one now, whatever the state
    /// (also after a refusal or when reconnect is off); the backoff starts over.
    pub fn reconnect(&self) {
        {
            let mut st = self.shared.st.borrow_mut();
            if st.disposed || st.caps.is_empty() {
                // Disposed, or still probing (the first connection is on its way).
                return;
            }
            st.log("reconnect requested");
            st.retry = None;
            if let Some(backoff) = st.backoff.as_mut() {
                backoff.reset();
            }
            st.core.suspend();
            st.force_state(ViewState::Reconnecting);
        }
        Shared::open_socket(&self.shared);
    }

    /// Closes the socket and the decoder; nothing is reported afterwards.
    pub fn dispose(&self) {
        {
            let mut st = self.shared.st.borrow_mut();
            st.disposed = true;
            st.retry = None;
            st.liveness = None;
            st.state = ViewState::Closed;
            st.core.close();
        }
        // Dropped outside its own callback: dispose is never called from the check.
        self.shared.watch.borrow_mut().take();
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
        st.log(&format!("capabilities {caps:?}"));
        st.caps = caps;
        drop(st);
        Shared::open_socket(shared);
    }

    /// Opens a socket (the first one, or a reconnect); the previous one, if any, is
    /// dropped, which detaches its handlers and closes it.
    fn open_socket(shared: &Rc<Shared>) {
        shared.slot.0.borrow_mut().take();
        let old = shared.socket.borrow_mut().take();
        drop(old);
        let mut st = shared.st.borrow_mut();
        if st.disposed {
            return;
        }
        st.opened = false;
        st.report = None;
        st.viewport = ViewportTracker::default();
        st.liveness = Some(Liveness::new(
            st.params.connect_timeout_ms,
            performance_now(),
        ));
        st.core.resume();
        st.log(&format!("connecting to {}", st.params.url));
        let url = st.params.url.clone();
        match Socket::connect(&url, Rc::downgrade(shared)) {
            Ok(socket) => {
                *shared.slot.0.borrow_mut() = Some(socket.ws().clone());
                *shared.socket.borrow_mut() = Some(socket);
            }
            // A malformed URL: retrying cannot help.
            Err(e) => st.fail(e),
        }
    }

    /// The browser cannot decode the stream's H.264 (the core reported why): connect
    /// again advertising images only.
    fn fall_back_to_images(shared: &Rc<Shared>) {
        {
            let mut st = shared.st.borrow_mut();
            if st.disposed {
                return;
            }
            st.params.image_only = true;
            st.caps.retain(|c| c != rfb_protocol::CAP_H264_ANNEXB);
            if st.caps.is_empty() {
                st.fail(ViewerError::NoCapabilities);
                return;
            }
            st.log("video does not decode here: reconnecting with images only");
            st.retry = None;
            st.core.suspend();
            st.force_state(ViewState::Reconnecting);
        }
        Shared::open_socket(shared);
    }

    /// The periodic liveness check: a connection that shows no sign of life in time is
    /// dropped and handled like a lost one (reported, retried with backoff).
    fn check_liveness(shared: &Rc<Shared>) {
        let dead = {
            let mut st = shared.st.borrow_mut();
            if st.disposed {
                return;
            }
            match st.liveness.as_mut() {
                Some(liveness) => liveness.check(performance_now()),
                None => None,
            }
        };
        let Some(dead) = dead else { return };
        // Dropping the socket detaches its handlers and closes it.
        shared.slot.0.borrow_mut().take();
        let socket = shared.socket.borrow_mut().take();
        drop(socket);
        let mut st = shared.st.borrow_mut();
        let what = match dead {
            Dead::NoConfig {
                opened: false,
                after_ms,
            } => format!("did not open within {after_ms:.0} ms (no answer from the server)"),
            Dead::NoConfig {
                opened: true,
                after_ms,
            } => format!(
                "opened, but the server sent no stream configuration within {after_ms:.0} ms"
            ),
            Dead::Silent {
                silent_ms,
                heartbeat_ms,
            } => format!(
                "went silent: nothing for {silent_ms:.0} ms although the server sends \
                 something every {heartbeat_ms} ms (a dead or half-open link)"
            ),
        };
        st.log(&format!("giving the connection up: {what}"));
        let error = ViewerError::Timeout {
            url: st.params.url.clone(),
            what,
        };
        st.connection_over();
        // 1006: what the browser reports for a connection lost without a close; retried.
        st.ended(1006, Some(error), &shared.me);
    }

    /// The scheduled attempt is due. Runs from a task of its own, not inside the timer's
    /// callback, because it drops the timer.
    fn retry_due(weak: Weak<Shared>) {
        wasm_bindgen_futures::spawn_local(async move {
            let Some(shared) = weak.upgrade() else { return };
            let due = {
                let mut st = shared.st.borrow_mut();
                st.retry.take().is_some() && !st.disposed
            };
            if due {
                Shared::open_socket(&shared);
            }
        });
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

    /// Like [`State::set_state`], also out of a final state (an explicit reconnect).
    fn force_state(&mut self, state: ViewState) {
        if self.state != state {
            self.state = state;
            self.events.emit(ViewerEvent::State(state));
        }
    }

    /// The attempt is over: the backoff starts over if it had been negotiated long
    /// enough to count as a good connection.
    fn connection_over(&mut self) {
        let liveness = self.liveness.take();
        let negotiated_for = liveness.and_then(|l| l.negotiated_for(performance_now()));
        if was_stable(negotiated_for) {
            if let Some(backoff) = self.backoff.as_mut() {
                backoff.reset();
            }
        }
    }

    /// The connection ended with `code` (and `error`, unless it was a clean close):
    /// schedules the next attempt when that is worth it, else reports the end.
    fn ended(&mut self, code: u16, error: Option<ViewerError>, me: &Weak<Shared>) {
        let delay = match self.backoff.as_mut() {
            Some(backoff) if retries_after(code) => backoff.next_delay_ms(js_sys::Math::random()),
            _ => None,
        };
        let Some(delay) = delay else {
            // Suspended, not closed: `reconnect()` may still bring it back.
            self.core.suspend();
            if let Some(error) = error {
                self.events.emit(ViewerEvent::Error(error));
            }
            self.set_state(ViewState::Closed);
            return;
        };
        self.log(&format!("reconnecting in {delay:.0} ms"));
        self.core.suspend();
        if let Some(error) = error {
            self.events.emit(ViewerEvent::Disconnected {
                error,
                retry_in_ms: delay,
            });
        }
        self.set_state(ViewState::Reconnecting);
        let weak = me.clone();
        // Whole milliseconds; the policy caps delays at an hour, far inside i32.
        match Timeout::new(delay.round() as i32, move || Shared::retry_due(weak)) {
            Ok(timer) => self.retry = Some(timer),
            Err(e) => self.fail(e),
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
                if let Some(liveness) = self.liveness.as_mut() {
                    liveness.negotiated(performance_now(), config.heartbeat_ms);
                }
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
            ServerMessage::Heartbeat => self.core.heartbeat(),
            ServerMessage::Role(role) => {
                self.log(&format!("role now {}", role.name()));
                self.role = Some(role);
                self.events.emit(ViewerEvent::Role(role));
            }
            ServerMessage::Clipboard(offer) => {
                self.log(&format!("clipboard offer of {} bytes", offer.text.len()));
                self.events.emit(ViewerEvent::Clipboard(offer.text));
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
        if let Some(liveness) = st.liveness.as_mut() {
            liveness.opened();
        }
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
            if let Some(liveness) = st.liveness.as_mut() {
                liveness.heard(performance_now());
            }
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
        let error = st.close_error(code, reason);
        st.connection_over();
        st.ended(code, error, &self.me);
    }
}
