//! The server: one listener, an HTTP side channel and any number of named streams.
//!
//! [`serve`] is the common case (one `default` stream); [`serve_server`] returns the hub to
//! which [`Server::add_stream`] adds independent streams, reached at `ws://host:port/<name>`.
//! [`Server::embedded`] builds the same hub without a listener: mount
//! [`Server::router`] in your own axum app (same origin, TLS and cookies as the app).
//!
//! This is the top of the server's modules: `Server` is a handle on the stream registry
//! (`hub.rs`) that also starts the listener and builds the router (`http`), and
//! [`Display::server`] is defined here so that `display` never imports this module.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;

use crate::display::Display;
use crate::error::ServeError;
use crate::event_tap::EventTap;
use crate::hub::ServerShared;
use crate::metrics::Resources;
use crate::options::{ServeOptions, StreamOptions};
use crate::stream::StreamState;

pub use crate::hub::DEFAULT_STREAM;

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
    server.inner.set_listener(task);
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
        let inner = Arc::new(ServerShared::new(options, addr, tap, shutdown));
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
        let state = self.inner.add_stream(name, width, height, options)?;
        Ok(self.display(state))
    }

    /// The handle on one of this server's streams.
    fn display(&self, state: Arc<StreamState>) -> Display {
        Display {
            state,
            server: Arc::downgrade(&self.inner),
            owns_server: false,
        }
    }

    /// The display of a stream, by name.
    pub fn stream(&self, name: &str) -> Option<Display> {
        self.inner.stream(name).map(|state| self.display(state))
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
        self.inner.remove_stream(name).await
    }

    /// What the server holds now (see [`Resources`]).
    pub fn resources(&self) -> Resources {
        self.inner.resources()
    }

    /// The address the server listens on (`None` when embedded).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.inner.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.inner.port()
    }

    /// `http://host:port/` (empty when embedded: the app knows its own URL).
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// `ws://host:port/` (empty when embedded).
    pub fn ws_url(&self) -> String {
        self.inner.ws_url()
    }

    /// Disconnects every viewer (close code 1001), frees the encoders and stops listening.
    /// Idempotent.
    pub async fn close(&self) {
        self.inner.close().await;
    }
}

impl Display {
    /// The server hosting this stream (`None` once it has shut down, and for a headless
    /// display).
    pub fn server(&self) -> Option<Server> {
        self.server.upgrade().map(|inner| Server { inner })
    }
}
