//! One viewer's session: handshake, then frames out and ACKs/input in until either side
//! ends it. The policy lives in [`flow`]; this module is the glue between the socket, the
//! stream's latest frame, the encoder on the blocking pool and the metrics.
//!
//! A reader task decodes the viewer's messages into a channel, so a slow socket write
//! never stops ACKs from being read, and bad input ends only this session.

mod end;
pub mod flow;
pub mod handshake;
pub mod link;
mod rate;
mod reader;
mod relayed;
mod schedule;
mod sharing;
pub mod socket;
mod source;
mod stream;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::hub::ServerShared;
use crate::metrics::SessionMetrics;
use crate::stream::{SessionEntry, StreamState};
use crate::sync::lock;
use end::finish;
pub use end::SessionEnd;
use rfb_protocol::{CloseCode, Role, Transport};
use socket::{BoxSink, BoxSource};
use stream::Session;

/// Where a connection came from.
#[derive(Debug)]
pub(crate) struct Context {
    /// The server.
    pub(crate) server: Arc<ServerShared>,
    /// The peer's address.
    pub peer: Option<SocketAddr>,
    /// The request path.
    pub path: String,
    /// The upgrade request's headers (for the authentication hook).
    pub headers: axum::http::HeaderMap,
}

/// Closes a connection refused before its `Hello` (origin, session limit).
pub(crate) async fn refuse(sink: BoxSink, source: BoxSource, end: SessionEnd) {
    finish(sink, Some(source), &end).await;
}

/// Answers a connection to a stream that does not exist, after its `Hello`: 4404, or
/// 4401 when hooks guard this server and the server's hook does not accept the viewer,
/// so stream names cannot be probed without a credential.
pub(crate) async fn refuse_unknown_stream(
    sink: BoxSink,
    mut source: BoxSource,
    name: String,
    ctx: Context,
) {
    let timeout = ctx.server.options.hello_timeout;
    let hello = match handshake::receive_hello(&mut source, timeout).await {
        Ok(hello) => hello,
        Err(end) => return finish(sink, Some(source), &end).await,
    };
    let guarded = ctx.server.options.authenticate.is_some()
        || ctx
            .server
            .all_streams()
            .iter()
            .any(|s| s.options.authenticate.is_some());
    let admitted = match &ctx.server.options.authenticate {
        Some(hook) => {
            let auth = crate::auth::AuthContext {
                token: hello.token.clone(),
                headers: ctx.headers.clone(),
                path: ctx.path.clone(),
                stream: name.clone(),
                peer: ctx.peer,
            };
            matches!(
                tokio::time::timeout(timeout, hook.check(auth)).await,
                Ok(Ok(_))
            )
        }
        None => !guarded,
    };
    let end = if admitted {
        SessionEnd::new(
            CloseCode::UnknownStream,
            format!("no stream named {name:?}"),
        )
    } else {
        SessionEnd::new(CloseCode::Unauthorized, "unauthorized")
    };
    finish(sink, Some(source), &end).await;
}

/// Runs a viewer session on `stream` until it ends.
pub(crate) async fn run(
    sink: BoxSink,
    mut source: BoxSource,
    stream: Arc<StreamState>,
    ctx: Context,
) {
    let timeout = ctx.server.options.hello_timeout;
    let hello = match handshake::receive_hello(&mut source, timeout).await {
        Ok(hello) => hello,
        Err(end) => return finish(sink, Some(source), &end).await,
    };
    let transport = match handshake::negotiate(&hello, &stream.options) {
        Ok(t) => t,
        Err(end) => return finish(sink, Some(source), &end).await,
    };
    let (principal, role) = match authenticate(&hello, &stream, &ctx).await {
        Ok(granted) => granted,
        Err(end) => return finish(sink, Some(source), &end).await,
    };
    let client_id = ctx
        .server
        .next_client_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let max_inflight = hello.max_inflight.map_or(stream.options.max_inflight, |m| {
        m.clamp(1, stream.options.max_inflight.max(1))
    });
    let registration = Registration::new(
        stream.clone(),
        client_id,
        transport,
        role,
        principal.clone(),
    );
    tracing::debug!(client_id, stream = %stream.name, transport = transport.name(), peer = ?ctx.peer, "viewer attached");

    let (tx, rx) = mpsc::channel(64);
    let reader = tokio::spawn(reader::read_viewer(source, tx));
    let mut session = Session::new(
        stream,
        client_id,
        principal,
        registration.role.subscribe(),
        transport,
        max_inflight,
        registration.metrics.clone(),
        sink,
    );
    // The first viewport of a controller counts like any later one: a `resize` event
    // and, under match-client, the first target size. A watcher's is not input it sent,
    // so it is neither forwarded nor counted as refused.
    if let Some(viewport) = hello.viewport.filter(|_| role.may_control()) {
        if session
            .on_message(rfb_protocol::ClientMessage::SetViewport(viewport))
            .is_err()
        {
            tracing::debug!(client_id, "the Hello viewport was refused");
        }
    }
    let end = session.stream_frames(rx).await;
    // The receiver is gone, so the reader hands the socket's source back promptly.
    let source = match tokio::time::timeout(Duration::from_secs(1), reader).await {
        Ok(Ok(source)) => source,
        _ => None,
    };
    tracing::debug!(client_id, reason = %end.reason, "viewer detached");
    drop(registration);
    finish(session.sink, source, &end).await;
}

/// Runs the stream's (or else the server's) authentication hook, bounded by the hello
/// timeout. No hook: everyone is accepted, without a principal, in the server's default
/// role.
async fn authenticate(
    hello: &rfb_protocol::Hello,
    stream: &StreamState,
    ctx: &Context,
) -> Result<(Option<crate::events::Principal>, Role), SessionEnd> {
    let hook = stream
        .options
        .authenticate
        .as_ref()
        .or(ctx.server.options.authenticate.as_ref());
    let Some(hook) = hook else {
        return Ok((None, ctx.server.options.default_role));
    };
    let auth = crate::auth::AuthContext {
        token: hello.token.clone(),
        headers: ctx.headers.clone(),
        path: ctx.path.clone(),
        stream: stream.name.clone(),
        peer: ctx.peer,
    };
    let limit = ctx.server.options.hello_timeout;
    match tokio::time::timeout(limit, hook.check(auth)).await {
        Ok(Ok(grant)) => Ok((Some(grant.principal), grant.role)),
        Ok(Err(rejected)) => Err(SessionEnd::new(
            CloseCode::Unauthorized,
            format!("unauthorized: {}", rejected.0),
        )),
        Err(_) => Err(SessionEnd::new(
            CloseCode::Unauthorized,
            "unauthorized: the authentication hook timed out",
        )),
    }
}

/// Keeps a session in its stream's registry (client count, metrics, role) while it lives.
struct Registration {
    stream: Arc<StreamState>,
    client_id: u64,
    metrics: Arc<Mutex<SessionMetrics>>,
    role: watch::Sender<Role>,
}

impl Registration {
    fn new(
        stream: Arc<StreamState>,
        client_id: u64,
        transport: Transport,
        role: Role,
        principal: Option<crate::events::Principal>,
    ) -> Registration {
        let mut initial = SessionMetrics::default();
        initial.target_bitrate_bps = u64::from(stream.options.bitrate_bps);
        initial.target_fps = stream.options.fps;
        initial.role = role.name();
        let metrics = Arc::new(Mutex::new(initial));
        let role = watch::Sender::new(role);
        lock(&stream.sessions).insert(
            client_id,
            SessionEntry {
                transport: transport.name(),
                metrics: metrics.clone(),
                role: role.clone(),
                principal,
            },
        );
        Registration {
            stream,
            client_id,
            metrics,
            role,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let last = {
            let mut sessions = lock(&self.stream.sessions);
            sessions.remove(&self.client_id);
            sessions.is_empty()
        };
        if last {
            self.stream.fanout.images.release();
        }
        self.stream.forget_viewport(self.client_id);
        self.stream.vote_scale(self.client_id, None);
        self.stream.sessions_done.notify_waiters();
    }
}
