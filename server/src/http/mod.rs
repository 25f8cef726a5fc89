//! The HTTP side of the server: WebSocket upgrades routed to streams by path, the side
//! channel (`/health`, `/metrics`, `/streams`, `/recorded-events`) and the demo page with
//! its assets.
//!
//! | method and path | answer |
//! |---|---|
//! | any request whose `Host` this server does not answer to | 403 (DNS rebinding, [`crate::access::host`]) |
//! | `GET /` with `Upgrade: websocket` | a viewer session on the `default` stream |
//! | `GET /<name>` with `Upgrade: websocket` | a viewer session on stream `<name>` (unknown: close 4404 after `Hello`, or 4401 when hooks guard the server) |
//! | an upgrade from a refused page origin | accepted, then close 4403 with a reason naming `--origin` |
//! | an upgrade over the session limit | accepted, then close 1013 |
//! | `GET /health` | `ok` |
//! | `GET /metrics` | JSON array, one object per session of every stream the caller may see |
//! | `GET /streams` | JSON array: name, width, height, viewers, transports, frames_published |
//! | `GET /streams/<name>/metrics` | JSON array, the sessions of one stream |
//! | `GET /recorded-events` | JSON array of received input (with `record_events`; else 404) |
//! | `POST /recorded-events/reset` | clears it (GET: 405) |
//! | `GET /` | the demo page (`web/index.html`; from `web_dir`, else embedded in the binary) |
//! | `GET /pkg/...` | the built viewer package (`client-wasm/pkg`; from `pkg_dir`, else embedded) |
//! | `GET /<file>` | other files of `web/` (no dotfiles, nothing outside the folder) |
//!
//! Every response carries `X-Content-Type-Options: nosniff` and `Referrer-Policy:
//! no-referrer`. Who may read the side channel is in [`side_channel`].

mod assets;
pub(crate) mod embedded;
mod side_channel;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rfb_protocol::CloseCode;

use crate::hub::{ServerShared, DEFAULT_STREAM, LATE_STREAM_WAIT};
use crate::session::{self, SessionEnd};
use crate::stream::StreamState;

/// Largest WebSocket message the transport accepts; the protocol's own (smaller) limit,
/// [`rfb_protocol::MAX_CLIENT_MESSAGE_BYTES`], is checked by the session with a clean close.
const TRANSPORT_MAX_MESSAGE: usize = 1 << 20;

/// Bytes a viewer's socket reads at once. The WebSocket library zero-fills this much of
/// its read buffer on every read, and a viewer sends small messages (ACKs, input) about
/// 30 times a second: at its default of 128 KiB that zeroing was a third of an edge's CPU
/// with 50 viewers. Larger messages (a pasted clipboard) simply take several reads.
const VIEWER_READ_BUFFER: usize = 8 << 10;

type Shared = Arc<ServerShared>;

/// Builds the router for a server.
pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(side_channel::routes())
        .fallback(upgrade_or_asset)
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Refuses foreign `Host`s and adds the security headers to every response.
async fn guard(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(HeaderValue::as_bytes);
    let mut response = if shared.hosts.allows(host) {
        next.run(request).await
    } else {
        let shown = host.map(String::from_utf8_lossy).unwrap_or_default();
        tracing::debug!(host = %shown, "refused a request for a foreign host");
        (
            StatusCode::FORBIDDEN,
            format!(
                "this server does not answer to host {shown:?}; allow it with `rfb serve --allowed-host NAME` (ServeOptions::allowed_hosts)\n"
            ),
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The stream a WebSocket path names: `/` is the default stream, `/<name>` a named one.
fn stream_name_of(path: &str) -> Option<&str> {
    match path.trim_start_matches('/') {
        "" => Some(DEFAULT_STREAM),
        name if !name.contains('/') => Some(name),
        _ => None,
    }
}

async fn upgrade_or_asset(State(shared): State<Shared>, request: Request) -> Response {
    if is_websocket_upgrade(request.headers()) {
        return upgrade(shared, request).await;
    }
    assets::serve(&shared, request).await
}

/// Counts a live WebSocket against `Limits::max_sessions` while it exists.
struct SessionSlot(Shared);

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.0.live_sockets.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A refusal decided before the session starts, sent right after the upgrade.
fn refusal(shared: &Shared, headers: &HeaderMap) -> Result<SessionSlot, SessionEnd> {
    let origin = headers.get(header::ORIGIN).map(HeaderValue::as_bytes);
    let host = headers.get(header::HOST).map(HeaderValue::as_bytes);
    if let Err(refused) = shared.options.origins.check(origin, host) {
        return Err(SessionEnd::new(CloseCode::OriginRefused, refused.0));
    }
    let max = shared.options.limits.max_sessions;
    let live = shared.live_sockets.fetch_add(1, Ordering::AcqRel);
    let slot = SessionSlot(shared.clone());
    if live >= max {
        return Err(SessionEnd::new(
            CloseCode::TryAgainLater,
            format!("the server is at its limit of {max} viewers; try again later"),
        ));
    }
    Ok(slot)
}

async fn upgrade(shared: Shared, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let admitted = refusal(&shared, &parts.headers);
    let path = parts.uri.path().to_string();
    let requested = stream_name_of(&path).map(str::to_string);
    let mut stream = requested.as_deref().and_then(|name| shared.stream(name));
    if stream.is_none() && shared.late_streams.load(Ordering::Acquire) {
        if let Some(name) = requested.as_deref() {
            stream = wait_for_stream(&shared, name).await;
        }
    }
    let context = session::Context {
        server: shared,
        peer,
        path,
        headers: parts.headers,
    };
    ws.max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        .read_buffer_size(VIEWER_READ_BUFFER)
        .on_upgrade(move |socket| async move {
            let (sink, source) = session::socket::split_axum(socket);
            let _slot = match admitted {
                Ok(slot) => slot,
                Err(end) => {
                    tracing::debug!(reason = %end.reason, "refused a viewer before Hello");
                    return session::refuse(sink, source, end).await;
                }
            };
            match stream {
                Some(stream) => session::run(sink, source, stream, context).await,
                None => {
                    let name = requested.unwrap_or_else(|| context.path.clone());
                    session::refuse_unknown_stream(sink, source, name, context).await
                }
            }
        })
}

/// Waits up to `LATE_STREAM_WAIT` for a stream to appear (an edge's catalogue).
async fn wait_for_stream(shared: &Shared, name: &str) -> Option<Arc<StreamState>> {
    let deadline = tokio::time::Instant::now() + LATE_STREAM_WAIT;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if let Some(stream) = shared.stream(name) {
            return Some(stream);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_paths_name_streams() {
        assert_eq!(stream_name_of("/"), Some(DEFAULT_STREAM));
        assert_eq!(stream_name_of("/cam"), Some("cam"));
        assert_eq!(stream_name_of("/a/b"), None);
    }
}
