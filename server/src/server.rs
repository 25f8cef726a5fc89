//! The server: one listener, an HTTP side channel and any number of named streams.
//!
//! [`serve`] is the common case (one `default` stream); [`serve_server`] returns the hub to
//! which [`Server::add_stream`] adds independent streams, reached at `ws://host:port/<name>`.
//! [`Server::embedded`] builds the same hub without a listener: mount
//! [`Server::router`] in your own axum app (same origin, TLS and cookies as the app).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rfb_protocol::CloseCode;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::HostAllowList;
use crate::display::Display;
use crate::error::ServeError;
use crate::event_tap::EventTap;
use crate::metrics::Resources;
use crate::options::{ServeOptions, StreamOptions};
use crate::stream::{StreamContext, StreamState};
use crate::sync::lock;

/// The name of the stream [`serve`] creates, reached at `ws://host:port/`.
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

/// How long a viewer of an unknown stream waits for it on a server with `late_streams`.
pub(crate) const LATE_STREAM_WAIT: Duration = Duration::from_secs(3);

impl ServerShared {
    /// The stream a viewer asked for by name.
    pub fn stream(&self, name: &str) -> Option<Arc<StreamState>> {
        self.streams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// True once the server was closed.
    #[cfg(feature = "relay")]
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
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

    /// Every stream, by name.
    pub fn all_streams(&self) -> Vec<Arc<StreamState>> {
        self.streams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// A running server (the hub of its streams). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Server {
    pub(crate) inner: Arc<ServerShared>,
}

/// Starts a server with one stream named `default` of `width x height` and returns that
/// stream's [`Display`]. The server runs in the background on the current tokio runtime
/// until [`Display::close`].
///
/// ```
/// use rfb::{serve, Frame, ServeOptions};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Port 0: any free port (the default is 8765).
/// let display = serve(320, 240, ServeOptions { port: 0, ..ServeOptions::default() }).await?;
/// assert!(display.url().starts_with("http://127.0.0.1:"));
/// let seq = display.publish(Frame::rgb(320, 240, rfb_protocol::test_card(1, 320, 240))?)?;
/// assert_eq!(seq, 1);
/// assert!(display.poll_events().is_empty()); // nobody has clicked yet
/// display.close().await;
/// # Ok(()) }
/// ```
pub async fn serve(width: u32, height: u32, options: ServeOptions) -> Result<Display, ServeError> {
    let stream_options = options.stream.clone();
    let server = serve_server(options).await?;
    let mut display = server.add_stream(DEFAULT_STREAM, width, height, stream_options)?;
    display.owns_server = true;
    Ok(display)
}

/// Starts a server with no streams; add them with [`Server::add_stream`].
///
/// ```
/// use rfb::{serve_server, ServeOptions, StreamOptions};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = serve_server(ServeOptions { port: 0, ..ServeOptions::default() }).await?;
/// // Viewers connect to ws://HOST:PORT/cam and ws://HOST:PORT/plot.
/// let cam = server.add_stream("cam", 1280, 720, StreamOptions::default())?;
/// let plot = server.add_stream("plot", 800, 600, StreamOptions { fps: 10.0, ..StreamOptions::default() })?;
/// assert!(server.add_stream("cam", 64, 64, StreamOptions::default()).is_err(), "names are unique");
/// # let _ = (cam, plot);
/// server.remove_stream("plot").await; // its viewers are closed with 4410
/// server.close().await;
/// # Ok(()) }
/// ```
pub async fn serve_server(options: ServeOptions) -> Result<Server, ServeError> {
    let wanted = format!("{}:{}", options.host, options.port);
    let listener = tokio::net::TcpListener::bind(&wanted)
        .await
        .map_err(|source| ServeError::Bind {
            addr: wanted.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: wanted,
        source,
    })?;
    let (server, shutdown_rx) = Server::build(options, Some(addr))?;
    let app = server.router();
    let limits = server.inner.options.limits.clone();
    let task = tokio::spawn(crate::listener::serve(listener, app, limits, shutdown_rx));
    *lock(&server.inner.task) = Some(task);
    tracing::info!("rfb listening on http://{addr}/");
    #[cfg(feature = "relay")]
    if let Some(relay) = server.inner.options.relay.clone() {
        if let Err(err) = crate::relay::origin::start(&server.inner, relay).await {
            server.close().await;
            return Err(ServeError::Options(err.to_string()));
        }
    }
    Ok(server)
}

impl Server {
    /// A hub with no listener of its own, to mount in an axum app with
    /// [`Server::router`]:
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let rfb = rfb::Server::embedded(rfb::ServeOptions::default())?;
    /// let display = rfb.add_stream("default", 640, 480, rfb::StreamOptions::default())?;
    /// let app = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "my app" }))
    ///     .nest("/rfb", rfb.router());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
    /// # let _ = display; Ok(()) }
    /// ```
    ///
    /// Viewers then connect to `ws://host:3000/rfb` (stream `default`; axum's `nest` does
    /// not route the trailing-slash form) or `ws://host:3000/rfb/<name>`; `options.host`/`port` are unused. The app owns the listener, so
    /// [`Server::close`] disconnects viewers but stops no listener.
    pub fn embedded(options: ServeOptions) -> Result<Server, ServeError> {
        Server::build(options, None).map(|(server, _)| server)
    }

    /// The router serving viewers and the side channel; nest it in an app's router (the
    /// paths listed in the README's "HTTP endpoints" become relative to where it is
    /// mounted).
    pub fn router(&self) -> axum::Router {
        crate::http::router(self.inner.clone())
    }

    fn build(
        options: ServeOptions,
        addr: Option<SocketAddr>,
    ) -> Result<(Server, watch::Receiver<bool>), ServeError> {
        let tap = EventTap::new(
            options.record_events,
            options.event_log.as_deref(),
            &options.limits,
        )
        .map_err(|source| ServeError::EventLog {
            path: options
                .event_log
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            source,
        })?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let hosts = HostAllowList::new(&options.allowed_hosts, &options.host, addr.map(|a| a.ip()));
        let inner = Arc::new(ServerShared {
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
        });
        Ok((Server { inner }, shutdown_rx))
    }

    /// Adds a stream viewers reach at `ws://host:port/<name>`.
    ///
    /// Names are 1-64 characters of `[A-Za-z0-9_-]`, not one of the side-channel paths.
    pub fn add_stream(
        &self,
        name: &str,
        width: u32,
        height: u32,
        options: StreamOptions,
    ) -> Result<Display, ServeError> {
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
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(ServeError::Options("the server is closed".to_string()));
        }
        let mut streams = self
            .inner
            .streams
            .write()
            .unwrap_or_else(|p| p.into_inner());
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
            self.inner.stream_context(),
        ));
        streams.insert(name.to_string(), state.clone());
        Ok(Display {
            state,
            server: Arc::downgrade(&self.inner),
            owns_server: false,
        })
    }

    /// The display of a stream, by name.
    pub fn stream(&self, name: &str) -> Option<Display> {
        self.inner.stream(name).map(|state| Display {
            state,
            server: Arc::downgrade(&self.inner),
            owns_server: false,
        })
    }

    /// The names of every stream.
    pub fn stream_names(&self) -> Vec<String> {
        self.inner
            .all_streams()
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    /// Removes a stream and disconnects its viewers (close code 4410). Returns false when
    /// no stream has that name.
    pub async fn remove_stream(&self, name: &str) -> bool {
        let removed = self
            .inner
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

    /// What the server holds now (see [`Resources`]).
    pub fn resources(&self) -> Resources {
        let streams = self.inner.all_streams();
        let mut registries: Vec<&crate::encode::EncoderRegistry> = Vec::new();
        for stream in &streams {
            let registry = &stream.options.encoders;
            if !registries.iter().any(|r| r.same_as(registry)) {
                registries.push(registry);
            }
        }
        Resources {
            sessions: streams.iter().map(|s| lock(&s.sessions).len()).sum(),
            websockets: self.inner.live_sockets.load(Ordering::Acquire),
            lanes: streams.iter().map(|s| s.fanout.lane_count()).sum(),
            encoders: registries.iter().map(|r| r.live_encoders()).sum(),
            queued_events: streams.iter().map(|s| s.events.len()).sum(),
        }
    }

    /// The address the server listens on (`None` when embedded).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.inner.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.inner.addr.map_or(0, |a| a.port())
    }

    /// `http://host:port/` (empty when embedded: the app knows its own URL).
    pub fn url(&self) -> String {
        self.inner
            .addr
            .map(|a| format!("http://{a}/"))
            .unwrap_or_default()
    }

    /// `ws://host:port/` (empty when embedded).
    pub fn ws_url(&self) -> String {
        self.inner
            .addr
            .map(|a| format!("ws://{a}/"))
            .unwrap_or_default()
    }

    /// Disconnects every viewer (close code 1001), frees the encoders and stops listening.
    /// Idempotent.
    pub async fn close(&self) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let streams = self.inner.all_streams();
        for stream in &streams {
            stream.close_sessions(CloseCode::GoingAway);
        }
        for stream in &streams {
            stream.wait_sessions_done(CLOSE_GRACE).await;
        }
        self.inner.shutdown.send_replace(true);
        let task = lock(&self.inner.task).take();
        if let Some(task) = task {
            if tokio::time::timeout(CLOSE_GRACE, task).await.is_err() {
                tracing::warn!("rfb server did not stop within {CLOSE_GRACE:?}");
            }
        }
    }
}
