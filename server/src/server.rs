//! The server: one listener, an HTTP side channel and any number of named streams.
//!
//! [`serve`] is the common case (one `default` stream); [`serve_server`] returns the hub to
//! which [`Server::add_stream`] adds independent streams, reached at `ws://host:port/<name>`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rfb_protocol::CloseCode;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::display::{lock, Display, StreamState};
use crate::error::ServeError;
use crate::event_tap::EventTap;
use crate::options::{ServeOptions, StreamOptions};

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
    pub addr: SocketAddr,
    pub options: ServeOptions,
    pub streams: RwLock<BTreeMap<String, Arc<StreamState>>>,
    pub next_client_id: AtomicU64,
    pub tap: EventTap,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
}

impl ServerShared {
    /// The stream a viewer asked for by name.
    pub fn stream(&self, name: &str) -> Option<Arc<StreamState>> {
        self.streams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
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
pub async fn serve(width: u32, height: u32, options: ServeOptions) -> Result<Display, ServeError> {
    let stream_options = options.stream.clone();
    let server = serve_server(options).await?;
    let mut display = server.add_stream(DEFAULT_STREAM, width, height, stream_options)?;
    display.owns_server = true;
    Ok(display)
}

/// Starts a server with no streams; add them with [`Server::add_stream`].
pub async fn serve_server(options: ServeOptions) -> Result<Server, ServeError> {
    let tap =
        EventTap::new(options.record_events, options.event_log.as_deref()).map_err(|source| {
            ServeError::EventLog {
                path: options
                    .event_log
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                source,
            }
        })?;
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
    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let inner = Arc::new(ServerShared {
        addr,
        options,
        streams: RwLock::new(BTreeMap::new()),
        next_client_id: AtomicU64::new(1),
        tap,
        shutdown,
        task: Mutex::new(None),
        closed: AtomicBool::new(false),
    });
    let app = crate::http::router(inner.clone());
    let task = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let stopped = async move {
            let _ = shutdown_rx.wait_for(|stop| *stop).await;
        };
        if let Err(err) = axum::serve(listener, service)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!("rfb server stopped: {err}");
        }
    });
    *lock(&inner.task) = Some(task);
    tracing::info!("rfb listening on http://{addr}/");
    Ok(Server { inner })
}

impl Server {
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
            Arc::downgrade(&self.inner),
        ));
        streams.insert(name.to_string(), state.clone());
        Ok(Display {
            state,
            owns_server: false,
        })
    }

    /// The display of a stream, by name.
    pub fn stream(&self, name: &str) -> Option<Display> {
        self.inner.stream(name).map(|state| Display {
            state,
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

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.inner.addr.port()
    }

    /// `http://host:port/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.inner.addr)
    }

    /// `ws://host:port/`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.inner.addr)
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
