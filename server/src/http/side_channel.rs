//! The side channel: numbers about the viewers and what they typed, behind the same
//! authentication hooks as the streams.
//!
//! The credential is `Authorization: Bearer <token>` (scheme case-insensitive) or a
//! `?token=` query parameter; the hook also gets the request's headers, path and peer.
//!
//! - `/streams/<name>/metrics` goes through that stream's hook (its own, else the
//!   server's) with the stream's name; a rejection is 401, an unknown stream 404.
//! - `/metrics`, `/streams` and `/recorded-events...` cover several streams. With a server
//!   hook, it decides (stream name empty) and a caller it accepts sees every stream. Without
//!   one, each stream with a hook of its own is shown only to callers that hook accepts
//!   (stream name set), streams with no hook to everyone; a caller that sees nothing
//!   because every hook refused it gets 401.
//! - `/recorded-events` holds what viewers typed: a caller granted only `View` gets 403.
//! - The reset is `POST /recorded-events/reset` (a GET could be triggered by any page
//!   the operator visits).
//!
//! JSON is built off the async runtime (on tokio's blocking pool).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path as UrlPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use super::Shared;
use crate::access::request_token;
use crate::auth::{AuthContext, Authenticate, Rejected, Role};
use crate::display::Display;
use crate::event_tap::json_array;
use crate::metrics::exposition::{render, StreamCounts, CONTENT_TYPE};
use crate::metrics::stages::{merged, Stages};
use crate::stream::StreamState;
use crate::sync::lock;

/// The side-channel routes.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/metrics", get(all_metrics))
        .route("/streams", get(list_streams))
        .route("/streams/{name}/metrics", get(stream_metrics))
        .route("/recorded-events", get(recorded_events))
        .route("/recorded-events/reset", post(reset_recorded_events))
}

/// What a request may see.
struct Visible {
    /// The streams, by name.
    streams: Vec<Arc<StreamState>>,
    /// The weakest role any deciding hook granted (`View` hides recorded input).
    role: Role,
}

impl Visible {
    fn names(&self) -> BTreeSet<String> {
        self.streams.iter().map(|s| s.name.clone()).collect()
    }
}

fn unauthorized(reason: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        format!("unauthorized: {reason}"),
    )
        .into_response()
}

/// Runs `hook` for a side-channel request about `stream` (empty: several streams).
async fn ask(hook: &Authenticate, request: &Parts, stream: &str) -> Result<Role, Rejected> {
    let context = AuthContext {
        token: request_token(
            request
                .headers
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes),
            request.uri.query(),
        ),
        headers: request.headers.clone(),
        path: request.uri.path().to_string(),
        stream: stream.to_string(),
        peer: request
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0),
    };
    hook.check(context).await.map(|grant| grant.role)
}

/// The streams a multi-stream request may see (see the module rules).
async fn visible(shared: &Shared, request: &Parts) -> Result<Visible, Response> {
    let streams = shared.all_streams();
    let default_role = shared.options.default_role;
    if let Some(hook) = &shared.options.authenticate {
        return match ask(hook, request, "").await {
            Ok(role) => Ok(Visible { streams, role }),
            Err(Rejected(reason)) => Err(unauthorized(&reason)),
        };
    }
    let mut visible = Visible {
        streams: Vec::new(),
        role: Role::Control,
    };
    let mut refusal = None;
    for stream in streams {
        let role = match &stream.options.authenticate {
            None => Ok(default_role),
            Some(hook) => ask(hook, request, &stream.name).await,
        };
        match role {
            Ok(role) => {
                if role == Role::View {
                    visible.role = Role::View;
                }
                visible.streams.push(stream);
            }
            Err(Rejected(reason)) => refusal = Some(reason),
        }
    }
    match refusal {
        Some(reason) if visible.streams.is_empty() => Err(unauthorized(&reason)),
        _ => Ok(visible),
    }
}

/// Serialises `value` on the blocking pool.
async fn json<T: Serialize + Send + 'static>(value: T) -> Response {
    let encoded = tokio::task::spawn_blocking(move || serde_json::to_vec(&value)).await;
    match encoded {
        Ok(Ok(bytes)) => json_response(bytes),
        Ok(Err(err)) => internal(&err.to_string()),
        Err(err) => internal(&err.to_string()),
    }
}

fn json_response(bytes: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

fn internal(reason: &str) -> Response {
    tracing::error!("side channel: {reason}");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

fn display_of(shared: &Shared, state: Arc<StreamState>) -> Display {
    Display {
        state,
        server: Arc::downgrade(shared),
        owns_server: false,
    }
}

/// True when the caller wants the Prometheus text format: `?format=prometheus`, or an
/// `Accept` naming `text/plain` or OpenMetrics (as Prometheus sends) without
/// `?format=json`.
fn wants_prometheus(request: &Parts) -> bool {
    let query = request.uri.query().unwrap_or_default();
    let format = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("format="));
    match format {
        Some("prometheus") => true,
        Some(_) => false,
        None => request
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| {
                accept.contains("text/plain") || accept.contains("application/openmetrics-text")
            }),
    }
}

/// The metrics of `streams` in the format the caller asked for.
async fn metrics_of(shared: &Shared, streams: Vec<Arc<StreamState>>, prometheus: bool) -> Response {
    let counts: Vec<StreamCounts> = streams
        .iter()
        .map(|s| {
            let d = display_of(shared, s.clone());
            StreamCounts {
                name: s.name.clone(),
                viewers: d.client_count(),
                frames_published: d.frames_published(),
                stages: stream_stages(s),
            }
        })
        .collect();
    let snapshots: Vec<_> = streams
        .into_iter()
        .flat_map(|s| display_of(shared, s).metrics_snapshot())
        .collect();
    if !prometheus {
        return json(snapshots).await;
    }
    let resources = shared.resources();
    let rendered =
        tokio::task::spawn_blocking(move || render(&snapshots, &counts, &resources)).await;
    match rendered {
        Ok(Ok(text)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            text,
        )
            .into_response(),
        Ok(Err(err)) => internal(&err.to_string()),
        Err(err) => internal(&err.to_string()),
    }
}

async fn all_metrics(State(shared): State<Shared>, request: Request) -> Response {
    let (request, _body) = request.into_parts();
    let visible = match visible(&shared, &request).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    metrics_of(&shared, visible.streams, wants_prometheus(&request)).await
}

async fn stream_metrics(
    State(shared): State<Shared>,
    UrlPath(name): UrlPath<String>,
    request: Request,
) -> Response {
    let (request, _body) = request.into_parts();
    let Some(stream) = shared.stream(&name) else {
        return (StatusCode::NOT_FOUND, format!("no stream named {name:?}")).into_response();
    };
    let hook = stream
        .options
        .authenticate
        .as_ref()
        .or(shared.options.authenticate.as_ref());
    if let Some(hook) = hook {
        if let Err(Rejected(reason)) = ask(hook, &request, &name).await {
            return unauthorized(&reason);
        }
    }
    metrics_of(&shared, vec![stream], wants_prometheus(&request)).await
}

const RECORDING_OFF: &str =
    "event recording is off (start the server with record_events / --record-events)";

const VIEW_ONLY: &str = "a view-only credential cannot read what viewers typed";

async fn recorded_events(State(shared): State<Shared>, request: Request) -> Response {
    let (request, _body) = request.into_parts();
    let visible = match visible(&shared, &request).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    if visible.role == Role::View {
        return (StatusCode::FORBIDDEN, VIEW_ONLY).into_response();
    }
    let names = visible.names();
    let Some(events) = shared.tap.recorded(|stream| names.contains(stream)) else {
        return (StatusCode::NOT_FOUND, RECORDING_OFF).into_response();
    };
    match tokio::task::spawn_blocking(move || json_array(&events)).await {
        Ok(text) => json_response(text.into_bytes()),
        Err(err) => internal(&err.to_string()),
    }
}

async fn reset_recorded_events(State(shared): State<Shared>, request: Request) -> Response {
    let (request, _body) = request.into_parts();
    let visible = match visible(&shared, &request).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    if visible.role == Role::View {
        return (StatusCode::FORBIDDEN, VIEW_ONLY).into_response();
    }
    let names = visible.names();
    if shared.tap.reset(|stream| names.contains(stream)) {
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
    /// Every stage over the last 3 s, over all of the stream's viewers together.
    stages: Stages,
}

/// A stream's stage timings: its viewers' samples taken together.
fn stream_stages(state: &StreamState) -> Stages {
    let now = std::time::Instant::now();
    let sessions = lock(&state.sessions);
    let mut metrics: Vec<_> = sessions.values().map(|s| lock(&s.metrics)).collect();
    merged(metrics.iter_mut().map(|m| &mut m.stages), now)
}

async fn list_streams(State(shared): State<Shared>, request: Request) -> Response {
    let (request, _body) = request.into_parts();
    let visible = match visible(&shared, &request).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let rows: Vec<StreamInfo> = visible
        .streams
        .into_iter()
        .map(|state| {
            let mut transports: Vec<&'static str> = lock(&state.sessions)
                .values()
                .map(|s| s.transport)
                .collect();
            transports.sort_unstable();
            transports.dedup();
            let stages = stream_stages(&state);
            let display = display_of(&shared, state);
            let (width, height) = display.size();
            StreamInfo {
                name: display.name().to_string(),
                width,
                height,
                viewers: display.client_count(),
                transports,
                frames_published: display.frames_published(),
                stages,
            }
        })
        .collect();
    json(rows).await
}
