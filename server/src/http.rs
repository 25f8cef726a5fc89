//! The HTTP side of the server: WebSocket upgrades routed to streams by path, the side
//! channel (`/health`, `/metrics`, `/streams`) and the demo page with its assets.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /` with `Upgrade: websocket` | a viewer session on the `default` stream |
//! | `GET /<name>` with `Upgrade: websocket` | a viewer session on stream `<name>` (unknown: close 4404) |
//! | `GET /health` | `ok` |
//! | `GET /metrics` | JSON array, one object per session of every stream |
//! | `GET /streams` | JSON array: name, width, height, viewers, transports, frames_published |
//! | `GET /streams/<name>/metrics` | JSON array, the sessions of one stream |
//! | `GET /recorded-events` | JSON array of received input (with `record_events`; else 404) |
//! | `GET /recorded-events/reset` | clears it (POST works too) |
//! | `GET /` | the demo page (`web/index.html`) |
//! | `GET /pkg/...` | the built viewer package (`client-wasm/pkg`) |
//! | `GET /<file>` | other files of `web/` |
//!
//! The side channel (`/metrics`, `/streams...`, `/recorded-events...`: numbers about the
//! viewers and what they typed) goes through the server's authentication hook when there
//! is one, with the token from `Authorization: Bearer <token>` or a `?token=` query
//! parameter, an empty stream name (a `/streams/<name>/metrics` request names its stream)
//! and the request's headers, path and peer; a rejection is HTTP 401. `/health` and the
//! page's assets stay public.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::auth::{AuthContext, Rejected};
use crate::display::{lock, Display};
use crate::metrics::MetricsSnapshot;
use crate::server::{ServerShared, DEFAULT_STREAM};
use crate::session;

/// Largest WebSocket message the transport accepts; the protocol's own (smaller) limit,
/// [`rfb_protocol::MAX_CLIENT_MESSAGE_BYTES`], is checked by the session with a clean close.
const TRANSPORT_MAX_MESSAGE: usize = 1 << 20;

type Shared = Arc<ServerShared>;

/// Builds the router for a server.
pub(crate) fn router(shared: Shared) -> Router {
    let side_channel = Router::new()
        .route("/metrics", get(all_metrics))
        .route("/streams", get(list_streams))
        .route("/streams/{name}/metrics", get(stream_metrics))
        .route("/recorded-events", get(recorded_events))
        .route(
            "/recorded-events/reset",
            get(reset_recorded_events).post(reset_recorded_events),
        )
        .route_layer(middleware::from_fn_with_state(
            shared.clone(),
            side_channel_auth,
        ));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(side_channel)
        .fallback(upgrade_or_asset)
        .with_state(shared)
}

/// The token of a side-channel request: `Authorization: Bearer <token>`, else `?token=`.
fn request_token(request: &Request) -> Option<String> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    bearer.or_else(|| {
        request.uri().query().and_then(|query| {
            query.split('&').find_map(|pair| {
                let value = pair.strip_prefix("token=")?;
                Some(percent_decode(value))
            })
        })
    })
}

/// `%XX` and `+` decoding of a query value (enough for tokens; invalid escapes stay).
fn percent_decode(value: &str) -> String {
    let hex = |b: u8| char::from(b).to_digit(16);
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some((hi, lo)), _) => {
                // Two hex digits: at most 0xFF.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs the server's authentication hook on a side-channel request (see the module docs).
async fn side_channel_auth(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let Some(hook) = shared.options.authenticate.as_ref() else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_string();
    let stream = path
        .strip_prefix("/streams/")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_default()
        .to_string();
    let context = AuthContext {
        token: request_token(&request),
        headers: request.headers().clone(),
        path,
        stream,
        peer: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
    };
    match hook.check(context).await {
        Ok(_principal) => next.run(request).await,
        Err(Rejected(reason)) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            format!("unauthorized: {reason}"),
        )
            .into_response(),
    }
}

fn display_of(state: Arc<crate::display::StreamState>) -> Display {
    Display {
        state,
        owns_server: false,
    }
}

async fn all_metrics(State(shared): State<Shared>) -> Json<Vec<MetricsSnapshot>> {
    Json(
        shared
            .all_streams()
            .into_iter()
            .flat_map(|s| display_of(s).metrics_snapshot())
            .collect(),
    )
}

async fn stream_metrics(State(shared): State<Shared>, UrlPath(name): UrlPath<String>) -> Response {
    match shared.stream(&name) {
        Some(s) => Json(display_of(s).metrics_snapshot()).into_response(),
        None => (StatusCode::NOT_FOUND, format!("no stream named {name:?}")).into_response(),
    }
}

const RECORDING_OFF: &str =
    "event recording is off (start the server with record_events / --record-events)";

async fn recorded_events(State(shared): State<Shared>) -> Response {
    match shared.tap.recorded() {
        Some(events) => Json(events).into_response(),
        None => (StatusCode::NOT_FOUND, RECORDING_OFF).into_response(),
    }
}

async fn reset_recorded_events(State(shared): State<Shared>) -> Response {
    if shared.tap.reset() {
        "ok".into_response()
    } else {
        (StatusCode::NOT_FOUND, RECORDING_OFF).into_response()
    }
}

/// One row of `GET /streams`.
#[derive(Debug, Serialize)]
struct StreamInfo {
    name: String,
    width: u32,
    height: u32,
    viewers: usize,
    transports: Vec<&'static str>,
    frames_published: u64,
}

async fn list_streams(State(shared): State<Shared>) -> Json<Vec<StreamInfo>> {
    Json(
        shared
            .all_streams()
            .into_iter()
            .map(|state| {
                let mut transports: Vec<&'static str> = lock(&state.sessions)
                    .values()
                    .map(|s| s.transport)
                    .collect();
                transports.sort_unstable();
                transports.dedup();
                let display = display_of(state);
                let (width, height) = display.size();
                StreamInfo {
                    name: display.name().to_string(),
                    width,
                    height,
                    viewers: display.client_count(),
                    transports,
                    frames_published: display.frames_published(),
                }
            })
            .collect(),
    )
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
    serve_asset(&shared, request).await
}

async fn upgrade(shared: Shared, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if !shared.options.origins.allows(&parts.headers) {
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return (
            StatusCode::FORBIDDEN,
            format!("origin {origin:?} may not connect"),
        )
            .into_response();
    }
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let path = parts.uri.path().to_string();
    let requested = stream_name_of(&path).map(str::to_string);
    let stream = requested.as_deref().and_then(|name| shared.stream(name));
    let context = session::Context {
        server: shared,
        peer,
        path,
        headers: parts.headers,
    };
    ws.max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let (sink, source) = session::socket::split_axum(socket);
            match stream {
                Some(stream) => session::run(sink, source, stream, context).await,
                None => {
                    session::refuse_unknown_stream(sink, source, requested.unwrap_or(context.path))
                        .await
                }
            }
        })
}

async fn serve_asset(shared: &ServerShared, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let options = &shared.options;
    let not_found = || (StatusCode::NOT_FOUND, format!("not found: {path}")).into_response();
    let result = if let Some(rest) = path.strip_prefix("/pkg/") {
        let Some(pkg) = options.pkg_dir.as_deref() else {
            return not_found();
        };
        serve_from(pkg, rest, request).await
    } else {
        let Some(web) = options.web_dir.as_deref() else {
            return (StatusCode::OK, page_without_assets(shared)).into_response();
        };
        if path == "/" {
            ServeFile::new(web.join("index.html"))
                .oneshot(request)
                .await
                .map(IntoResponse::into_response)
        } else {
            serve_from(web, path.trim_start_matches('/'), request).await
        }
    };
    result.unwrap_or_else(|never| match never {})
}

async fn serve_from(
    dir: &Path,
    rest: &str,
    mut request: Request,
) -> Result<Response, std::convert::Infallible> {
    // ServeDir resolves the request path against `dir` (rejecting `..`).
    let uri = format!("/{rest}");
    if let Ok(parsed) = uri.parse() {
        *request.uri_mut() = parsed;
    }
    ServeDir::new(dir)
        .oneshot(request)
        .await
        .map(IntoResponse::into_response)
}

fn page_without_assets(shared: &ServerShared) -> String {
    format!(
        "rfb server: viewers connect with WebSocket to ws://{}/ (no web assets configured)\n",
        shared
            .addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "this host".to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tokens_are_percent_decoded() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("s%3Dcr%C3%A9t"), "s=crét");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("é%41"), "éA");
    }

    #[test]
    fn websocket_paths_name_streams() {
        assert_eq!(stream_name_of("/"), Some(DEFAULT_STREAM));
        assert_eq!(stream_name_of("/cam"), Some("cam"));
        assert_eq!(stream_name_of("/a/b"), None);
    }
}
