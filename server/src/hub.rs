//! [`ServerShared`]: the registry of a server's streams and the state every part of the
//! server shares (options, address, allowed hosts, socket count, client ids, event tap).
//!
//! It sits below `display`, `session` and `http`, which all reach it, and above `stream`:
//! it holds the streams, a stream never holds it (what a stream needs from its server is
//! copied into its [`StreamContext`]). The public handle, [`crate::Server`], is a thin
//! wrapper in `server.rs`, which also starts the listener.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rfb_protocol::CloseCode;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::HostAllowList;
use crate::encode::EncoderRegistry;
use crate::error::ServeError;
use crate::event_tap::EventTap;
use crate::metrics::Resources;
use crate::options::{ServeOptions, StreamOptions};
use crate::stream::{StreamContext, StreamState};
use crate::sync::lock;

/// The name of the stream [`crate::serve`] creates, reached at `ws://host:port/`.
pub const DEFAULT_STREAM: &str = "default";

/// Paths the HTTP side channel uses, which cannot be stream names.
const RESERVED_NAMES: [&str; 6] = [
    "health",
    "metrics",
    "streams",
    "recorded-events",
    "pkg",
    "index.html",
];

/// How long `close()` waits for sessions to say goodbye.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How long a viewer of an unknown stream waits for it on a server with `late_streams`.
pub(crate) const LATE_STREAM_WAIT: Duration = Duration::from_secs(3);

/// State shared by the listener task, the sessions and every handle.
#[derive(Debug)]
pub(crate) struct ServerShared {
    pub addr: Option<SocketAddr>,
    pub options: ServeOptions,
    /// The `Host` names this server answers to.
    pub hosts: HostAllowList,
    /// WebSockets open now (sessions, including those still in their handshake).
    pub live_sockets: AtomicUsize,
    pub streams: RwLock<BTreeMap<String, Arc<StreamState>>>,
    pub next_client_id: AtomicU64,
    /// Owned here; streams hold it weakly (`StreamContext::tap`), so it ends with the server.
    pub tap: Arc<EventTap>,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    /// Streams may appear shortly (an edge that has not heard every origin's catalogue
    /// yet): a viewer asking for an unknown one waits up to [`LATE_STREAM_WAIT`] before 4404.
    pub late_streams: AtomicBool,
}

impl ServerShared {
    /// A server with no streams, listening at `addr` (`None`: embedded in an app's
    /// router); `shutdown` tells the listener to stop.
    pub fn new(
        options: ServeOptions,
        addr: Option<SocketAddr>,
        tap: EventTap,
        shutdown: watch::Sender<bool>,
    ) -> ServerShared {
        let hosts = HostAllowList::new(&options.allowed_hosts, &options.host, addr.map(|a| a.ip()));
        ServerShared {
            addr,
            hosts,
            live_sockets: AtomicUsize::new(0),
            options,
            streams: RwLock::new(BTreeMap::new()),
            next_client_id: AtomicU64::new(1),
            tap: Arc::new(tap),
            shutdown,
            task: Mutex::new(None),
            closed: AtomicBool::new(false),
            late_streams: AtomicBool::new(false),
        }
    }

    /// Keeps the listener task, which `close()` waits for.
    pub fn set_listener(&self, task: JoinHandle<()>) {
        *lock(&self.task) = Some(task);
    }

    /// The stream a viewer asked for by name.
    pub fn stream(&self, name: &str) -> Option<Arc<StreamState>> {
        self.streams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// True once the server was closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Every stream, by name.
    pub fn all_streams(&self) -> Vec<Arc<StreamState>> {
        self.streams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// What a stream of this server needs from it (see [`StreamContext`]).
    pub fn stream_context(&self) -> StreamContext {
        StreamContext {
            limits: self.options.limits.clone(),
            heartbeat_interval: self.options.heartbeat_interval.filter(|i| !i.is_zero()),
            viewer_timeout: self.options.viewer_timeout,
            tap: Arc::downgrade(&self.tap),
        }
    }

    /// Adds a stream to the registry (see `Server::add_stream` for the rules on names).
    pub fn add_stream(
        &self,
        name: &str,
        width: u32,
        height: u32,
        options: StreamOptions,
    ) -> Result<Arc<StreamState>, ServeError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !RESERVED_NAMES.contains(&name);
        if !valid {
            return Err(ServeError::Options(format!("invalid stream name {name:?}")));
        }
        if width == 0 || height == 0 {
            return Err(ServeError::Options(format!(
                "stream size {width}x{height} has a zero side"
            )));
        }
        if self.is_closed() {
            return Err(ServeError::Options("the server is closed".to_string()));
        }
        let mut streams = self.streams.write().unwrap_or_else(|p| p.into_inner());
        if streams.contains_key(name) {
            return Err(ServeError::Options(format!(
                "stream {name:?} already exists"
            )));
        }
        let state = Arc::new(StreamState::new(
            name,
            width,
            height,
            options,
            self.stream_context(),
        ));
        streams.insert(name.to_string(), state.clone());
        Ok(state)
    }

    /// Removes a stream and closes its viewers (4410); false when no stream has that name.
    pub async fn remove_stream(&self, name: &str) -> bool {
        let removed = self
            .streams
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        match removed {
            Some(state) => {
                state.close_sessions(CloseCode::StreamRemoved);
                state.wait_sessions_done(CLOSE_GRACE).await;
                true
            }
            None => false,
        }
    }

    /// Closes every viewer (1001), waits for the sessions, then stops the listener.
    /// Idempotent.
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let streams = self.all_streams();
        for stream in &streams {
            stream.close_sessions(CloseCode::GoingAway);
        }
        for stream in &streams {
            stream.wait_sessions_done(CLOSE_GRACE).await;
        }
        self.shutdown.send_replace(true);
        let task = lock(&self.task).take();
        if let Some(task) = task {
            if tokio::time::timeout(CLOSE_GRACE, task).await.is_err() {
                tracing::warn!("rfb server did not stop within {CLOSE_GRACE:?}");
            }
        }
    }

    /// What the server holds now (see [`Resources`]).
    pub fn resources(&self) -> Resources {
        let streams = self.all_streams();
        let mut registries: Vec<&EncoderRegistry> = Vec::new();
        for stream in &streams {
            let registry = &stream.options.encoders;
            if !registries.iter().any(|r| r.same_as(registry)) {
                registries.push(registry);
            }
        }
        Resources {
            sessions: streams.iter().map(|s| lock(&s.sessions).len()).sum(),
            websockets: self.live_sockets.load(Ordering::Acquire),
            lanes: streams.iter().map(|s| s.fanout.lane_count()).sum(),
            encoders: registries.iter().map(|r| r.live_encoders()).sum(),
            queued_events: streams.iter().map(|s| s.events.len()).sum(),
        }
    }

    /// The port the server listens on (0 when embedded).
    pub fn port(&self) -> u16 {
        self.addr.map_or(0, |a| a.port())
    }

    /// `http://host:port/` (empty when embedded).
    pub fn url(&self) -> String {
        self.addr
            .map(|a| format!("http://{a}/"))
            .unwrap_or_default()
    }

    /// `ws://host:port/` (empty when embedded).
    pub fn ws_url(&self) -> String {
        self.addr.map(|a| format!("ws://{a}/")).unwrap_or_default()
    }
}
