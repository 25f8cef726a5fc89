//! Authentication, the app's policy: the library verifies nothing itself.
//!
//! [`Authenticate`] is an async hook called once per connection, after the viewer's
//! `Hello` and before any frame, with an [`AuthContext`]. It returns a [`Grant`]: a
//! [`Principal`] (any value; it rides on every input event from that viewer) and a
//! [`Role`] (`Control` drives the app, `View` only watches), or a rejection, which closes
//! the connection with 4401 and the reason. A hook that returns a bare `Principal` grants
//! `Control`. A stream's hook overrides the server's. The same hooks gate the side channel
//! (see `crate::http`). Which hosts and page origins may connect at all is decided before
//! any of this, in [`crate::access`] ([`OriginPolicy`] is re-exported here).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::HeaderMap;
pub use rfb_protocol::Role;

pub use crate::access::OriginPolicy;
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

/// What a hook grants an accepted connection.
#[derive(Clone)]
pub struct Grant {
    /// Who it is, for the app (downcast it to your type).
    pub principal: Principal,
    /// What the viewer may do.
    pub role: Role,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Grant {
    /// A viewer that may drive the app.
    pub fn control(principal: Principal) -> Grant {
        Grant {
            principal,
            role: Role::Control,
        }
    }

    /// A viewer that only watches.
    pub fn view(principal: Principal) -> Grant {
        Grant {
            principal,
            role: Role::View,
        }
    }
}

impl From<Principal> for Grant {
    /// A bare principal controls (the behaviour of hooks written before roles).
    fn from(principal: Principal) -> Grant {
        Grant::control(principal)
    }
}

/// The future an authentication hook returns.
pub type AuthFuture = Pin<Box<dyn Future<Output = Result<Grant, Rejected>> + Send>>;

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

/// Wraps an async function as a hook. It may return a [`Grant`] (principal and role) or a
/// bare [`Principal`] (which controls).
///
/// ```
/// use std::sync::Arc;
/// use rfb::auth::{authenticate_with, Grant, Rejected};
/// let hook = authenticate_with(|ctx| async move {
///     match ctx.token.as_deref() {
///         Some("pilot") => Ok(Grant::control(Arc::new("alice".to_string()))),
///         Some("audience") => Ok(Grant::view(Arc::new("guest".to_string()))),
///         _ => Err(Rejected("unknown token".into())),
///     }
/// });
/// # let _ = hook;
/// ```
pub fn authenticate_with<F, Fut, G>(hook: F) -> Authenticate
where
    F: Fn(AuthContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<G, Rejected>> + Send + 'static,
    G: Into<Grant>,
{
    let hook = Arc::new(hook);
    Authenticate(Arc::new(move |ctx| {
        let future = hook(ctx);
        Box::pin(async move { future.await.map(Into::into) })
    }))
}

/// A hook accepting exactly one shared token (the CLI's `--token`), which controls; the
/// principal is the string `"token"`. See [`role_tokens`] for a view-only token too.
pub fn static_token(expected: impl Into<String>) -> Authenticate {
    role_tokens(Some(expected.into()), None)
}

/// A hook with a control token and a view-only token (the CLI's `--token` and
/// `--view-token`; either may be absent). The principal is the string `"token"` or
/// `"view-token"`. Comparisons take the same time wherever the tokens differ.
pub fn role_tokens(control: Option<String>, view: Option<String>) -> Authenticate {
    authenticate_with(move |ctx| {
        let matches = |expected: &Option<String>| {
            let given = ctx.token.as_deref().unwrap_or_default();
            expected.as_deref().is_some_and(|e| {
                ctx.token.is_some() && constant_time_eq(given.as_bytes(), e.as_bytes())
            })
        };
        let grant = if matches(&control) {
            Some(Grant::control(Arc::new("token".to_string())))
        } else if matches(&view) {
            Some(Grant::view(Arc::new("view-token".to_string())))
        } else {
            None
        };
        async move { grant.ok_or_else(|| Rejected("missing or wrong token".to_string())) }
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let roles = role_tokens(Some("pilot".into()), Some("audience".into()));
        let role = |grant: Result<Grant, Rejected>| grant.map(|g| g.role);
        assert_eq!(
            role(roles.check(ctx(Some("pilot"))).await),
            Ok(Role::Control)
        );
        assert_eq!(
            role(roles.check(ctx(Some("audience"))).await),
            Ok(Role::View)
        );
        assert!(roles.check(ctx(Some(""))).await.is_err());
        let view_only = role_tokens(None, Some("".into()));
        assert!(
            view_only.check(ctx(None)).await.is_err(),
            "no token never matches"
        );
    }

    #[tokio::test]
    async fn hooks_returning_a_principal_grant_control() {
        let hook =
            authenticate_with(|_ctx| async move { Ok::<_, Rejected>(Arc::new(7u32) as Principal) });
        let ctx = AuthContext {
            token: None,
            headers: HeaderMap::new(),
            path: "/".into(),
            stream: "default".into(),
            peer: None,
        };
        let grant = hook.check(ctx).await.expect("accepted");
        assert_eq!(grant.role, Role::Control);
        assert_eq!(grant.principal.downcast_ref::<u32>(), Some(&7));
    }
}
