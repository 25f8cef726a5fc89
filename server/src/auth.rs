//! Authentication and origin checks, both the app's policy: the library verifies nothing
//! itself.
//!
//! - [`Authenticate`]: an async hook called once per connection, after the viewer's
//!   `Hello` and before any frame, with an [`AuthContext`]. It returns a [`Principal`]
//!   (any value; it rides on every input event from that viewer) or a rejection, which
//!   closes the connection with 4401 and the reason. A stream's hook overrides the
//!   server's.
//! - [`OriginPolicy`]: which `Origin` headers may open a WebSocket (defence against
//!   cross-site WebSocket hijacking). Refused upgrades get HTTP 403 before any WebSocket
//!   exists. The default, [`OriginPolicy::SameHost`], accepts pages served by this host
//!   (the `Origin`'s host equals the request's `Host`) and clients that send no `Origin`
//!   at all (native programs; browsers always send one).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::{header, HeaderMap};

use crate::events::Principal;

/// What the authentication hook knows about a connection.
#[derive(Debug, Clone)]
pub struct AuthContext {
    /// The token the viewer sent in `Hello`, if any.
    pub token: Option<String>,
    /// The WebSocket upgrade request's headers (cookies, authorization...).
    pub headers: HeaderMap,
    /// The request path.
    pub path: String,
    /// The stream asked for.
    pub stream: String,
    /// The peer's address.
    pub peer: Option<SocketAddr>,
}

/// A rejected connection: the reason goes to the viewer with close code 4401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

/// The future an authentication hook returns.
pub type AuthFuture = Pin<Box<dyn Future<Output = Result<Principal, Rejected>> + Send>>;

/// An authentication hook (build one with [`authenticate_with`] or [`static_token`]).
#[derive(Clone)]
pub struct Authenticate(Arc<dyn Fn(AuthContext) -> AuthFuture + Send + Sync>);

impl std::fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticate(..)")
    }
}

impl Authenticate {
    /// Runs the hook.
    pub fn check(&self, ctx: AuthContext) -> AuthFuture {
        (self.0)(ctx)
    }
}

/// Wraps an async function as a hook.
///
/// ```
/// use std::sync::Arc;
/// let hook = rfb::auth::authenticate_with(|ctx| async move {
///     match ctx.token.as_deref() {
///         Some("let-me-in") => Ok(Arc::new("alice".to_string()) as rfb::Principal),
///         _ => Err(rfb::auth::Rejected("unknown token".into())),
///     }
/// });
/// # let _ = hook;
/// ```
pub fn authenticate_with<F, Fut>(hook: F) -> Authenticate
where
    F: Fn(AuthContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Principal, Rejected>> + Send + 'static,
{
    Authenticate(Arc::new(move |ctx| Box::pin(hook(ctx))))
}

/// A hook accepting exactly one shared token (the CLI's `--token`); the principal is the
/// string `"token"`. The comparison takes the same time wherever the tokens differ.
pub fn static_token(expected: impl Into<String>) -> Authenticate {
    let expected = expected.into();
    authenticate_with(move |ctx| {
        let ok = ctx
            .token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()));
        async move {
            if ok {
                Ok(Arc::new("token".to_string()) as Principal)
            } else {
                Err(Rejected("missing or wrong token".to_string()))
            }
        }
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which `Origin` headers may open a WebSocket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Same host as the request (and no `Origin` at all). The default.
    #[default]
    SameHost,
    /// The same host plus these origins, exactly as browsers send them
    /// (`https://app.example.com`, `http://localhost:5173`).
    List(Vec<String>),
    /// Any origin (only for servers behind another gate).
    Any,
}

impl OriginPolicy {
    /// True when a request with these headers may upgrade.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
            return true;
        };
        if *self == OriginPolicy::Any {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'));
        if host.is_some() && origin_host == host {
            return true;
        }
        match self {
            OriginPolicy::List(allowed) => {
                allowed.iter().any(|a| a.trim_end_matches('/') == origin)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).expect("header"));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("header"));
        }
        h
    }

    #[test]
    fn same_host_is_the_default() {
        let p = OriginPolicy::default();
        assert!(p.allows(&headers(Some("http://127.0.0.1:8765"), "127.0.0.1:8765")));
        assert!(
            p.allows(&headers(None, "127.0.0.1:8765")),
            "native clients send no Origin"
        );
        assert!(!p.allows(&headers(Some("https://evil.example"), "127.0.0.1:8765")));
        assert!(!p.allows(&headers(Some("http://127.0.0.1:9999"), "127.0.0.1:8765")));
    }

    #[test]
    fn lists_add_exact_origins() {
        let p = OriginPolicy::List(vec!["http://localhost:5173".into()]);
        assert!(p.allows(&headers(Some("http://localhost:5173"), "127.0.0.1:8765")));
        assert!(!p.allows(&headers(Some("http://localhost:5174"), "127.0.0.1:8765")));
        assert!(OriginPolicy::Any.allows(&headers(Some("https://evil.example"), "x")));
    }

    #[tokio::test]
    async fn static_tokens_compare_exactly() {
        let hook = static_token("s3cret");
        let ctx = |token: Option<&str>| AuthContext {
            token: token.map(str::to_string),
            headers: HeaderMap::new(),
            path: "/".into(),
            stream: "default".into(),
            peer: None,
        };
        assert!(hook.check(ctx(Some("s3cret"))).await.is_ok());
        assert!(hook.check(ctx(Some("s3cre"))).await.is_err());
        assert!(hook.check(ctx(None)).await.is_err());
    }
}
