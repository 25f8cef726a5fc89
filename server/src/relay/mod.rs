//! The relay: a stream's shared encodes travel from the app's process (the *origin*) to
//! any number of stateless *edge* servers over NATS, and edge viewers' input travels back.
//! One encode serves every viewer on every edge.
//!
//! ```text
//!  app -> Display -> lane (one encode) -> origin relay --NATS--> edge -> fed lane -> viewers
//!                      ^  local viewers                  <--input--  edge sessions
//! ```
//!
//! - [`origin`]: `ServeOptions::relay` (`rfb serve --relay nats://...`) publishes the
//!   catalogue of the server's streams and, while some edge wants a stream, that stream's
//!   H.264 access units and clipboard offers; it answers keyframe requests under the lane's fairness rules and
//!   puts edge viewers' input into the stream's event queue.
//! - [`edge`]: `rfb edge --relay nats://...` serves the same page, package, WebSocket
//!   protocol and side channel for every stream the origins publish.
//! - [`subjects`]: the subject names, all under a per-deployment prefix.
//! - [`wire`]: the message formats (postcard, a version byte first).
//! - [`chunks`]: items larger than the NATS server's `max_payload` travel in parts and are
//!   reassembled on the edge in bounded memory.
//!
//! Credentials (token, user and password, nkey seed) are given in [`RelayOptions`], never
//! logged, never in `/metrics`; server URLs are logged without their user part.

pub mod chunks;
pub mod edge;
pub mod origin;
pub mod subjects;
pub mod wire;

use std::path::PathBuf;
use std::time::Duration;

/// How often the origin publishes its catalogue (also its liveness signal).
pub const CATALOGUE_EVERY: Duration = Duration::from_secs(1);

/// How often an edge says it still wants a stream.
pub const DEMAND_EVERY: Duration = Duration::from_secs(1);

/// How long the origin keeps publishing a stream after the last demand.
pub const DEMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an edge keeps a stream whose origin stopped announcing it before closing its
/// viewers with 4410 (`StreamRemoved`).
pub const ORIGIN_GRACE: Duration = Duration::from_secs(10);

/// How to reach NATS, shared by the origin and the edge.
#[derive(Clone, Default)]
pub struct RelayOptions {
    /// NATS server URLs (`nats://host:port`); the client picks one and fails over.
    pub urls: Vec<String>,
    /// Subject prefix of this deployment (dot-separated tokens of `[A-Za-z0-9_-]`).
    pub prefix: String,
    /// This process's name in the relay (the edge's name on input events).
    pub name: String,
    /// Credentials.
    pub credentials: RelayCredentials,
    /// On an edge: how long a stream whose origin stopped announcing it is kept before
    /// its viewers are closed with 4410 (`None`: [`ORIGIN_GRACE`]).
    pub origin_grace: Option<Duration>,
}

impl RelayOptions {
    /// The origin grace period in force.
    pub fn origin_grace(&self) -> Duration {
        self.origin_grace.unwrap_or(ORIGIN_GRACE)
    }
}

/// NATS credentials; never printed (the `Debug` form hides them).
#[derive(Clone, Default)]
pub enum RelayCredentials {
    /// None.
    #[default]
    None,
    /// A token.
    Token(String),
    /// A user and password.
    User {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// An nkey seed read from this file.
    NkeyFile(PathBuf),
}

impl std::fmt::Debug for RelayCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RelayCredentials::None => "None",
            RelayCredentials::Token(_) => "Token(..)",
            RelayCredentials::User { .. } => "User(..)",
            RelayCredentials::NkeyFile(_) => "NkeyFile(..)",
        })
    }
}

impl std::fmt::Debug for RelayOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayOptions")
            .field(
                "urls",
                &self.urls.iter().map(|u| redact_url(u)).collect::<Vec<_>>(),
            )
            .field("prefix", &self.prefix)
            .field("name", &self.name)
            .field("credentials", &self.credentials)
            .field("origin_grace", &self.origin_grace)
            .finish()
    }
}

impl RelayOptions {
    /// Options for these URLs with the default prefix `rfb` and a name.
    pub fn new(urls: Vec<String>, name: impl Into<String>) -> RelayOptions {
        RelayOptions {
            urls,
            prefix: subjects::DEFAULT_PREFIX.to_string(),
            name: name.into(),
            credentials: RelayCredentials::None,
            origin_grace: None,
        }
    }
}

/// What can go wrong setting up the relay.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The options are unusable (no URL, a bad prefix or name).
    #[error("relay options: {0}")]
    Options(String),
    /// The credentials could not be read.
    #[error("relay credentials: {0}")]
    Credentials(String),
    /// NATS refused or failed the connection or a subscription.
    #[error("NATS: {0}")]
    Nats(String),
}

/// A URL as it may be logged: without a user part (`nats://user:pass@host` -> `nats://host`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        (None, Some(at)) => url[at + 1..].to_string(),
        _ => url.to_string(),
    }
}

/// Connects to NATS. The first connection must succeed (a wrong URL or credentials is an
/// error at start, not a silent retry loop); after that the client reconnects by itself
/// whenever the connection drops (NATS restarting, a failover to another URL), every
/// 250 ms rising to 1 s, for ever.
pub async fn connect(options: &RelayOptions) -> Result<async_nats::Client, RelayError> {
    if options.urls.is_empty() {
        return Err(RelayError::Options("no NATS URL given".into()));
    }
    subjects::check_prefix(&options.prefix)?;
    subjects::check_token(&options.name, "relay name")?;
    let mut connect = async_nats::ConnectOptions::new()
        .name(format!("rfb-{}", options.name))
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .ping_interval(Duration::from_secs(2))
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis(250 * (attempts.clamp(1, 4) as u64))
        })
        .event_callback(|event| async move {
            // Events name servers and errors, never credentials.
            tracing::info!("NATS: {event}");
        });
    connect = match &options.credentials {
        RelayCredentials::None => connect,
        RelayCredentials::Token(token) => connect.token(token.clone()),
        RelayCredentials::User { user, password } => {
            connect.user_and_password(user.clone(), password.clone())
        }
        RelayCredentials::NkeyFile(path) => {
            let seed = std::fs::read_to_string(path).map_err(|e| {
                RelayError::Credentials(format!("reading the nkey file {}: {e}", path.display()))
            })?;
            connect.nkey(seed.trim().to_string())
        }
    };
    let addrs = options
        .urls
        .iter()
        .map(|u| {
            u.parse::<async_nats::ServerAddr>()
                .map_err(|e| RelayError::Options(format!("NATS URL {}: {e}", redact_url(u))))
        })
        .collect::<Result<Vec<_>, _>>()?;
    connect
        .connect(addrs.as_slice())
        .await
        .map_err(|e| RelayError::Nats(e.to_string()))
}

/// Microseconds since the Unix epoch (the relay's common clock: publish times travel in
/// it; on one host it is exact, across hosts it is as good as their clock sync).
pub(crate) fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_logged_without_credentials() {
        assert_eq!(
            redact_url("nats://alice:s3cret@host:4222"),
            "nats://host:4222"
        );
        assert_eq!(redact_url("nats://tok@host"), "nats://host");
        assert_eq!(redact_url("nats://host:4222"), "nats://host:4222");
        assert_eq!(redact_url("bob:pw@host:4222"), "host:4222");
    }

    #[test]
    fn debug_hides_credentials() {
        let options = RelayOptions {
            credentials: RelayCredentials::User {
                user: "alice".into(),
                password: "s3cret".into(),
            },
            urls: vec!["nats://alice:s3cret@h:1".into()],
            ..RelayOptions::new(vec![], "edge-1")
        };
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("alice"),
            "{shown}"
        );
        let token = format!("{:?}", RelayCredentials::Token("t0k".into()));
        assert!(!token.contains("t0k"));
    }
}
