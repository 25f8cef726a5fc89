//! The relay flags `rfb serve` (origin) and `rfb edge` share: where NATS is, the subject
//! prefix, this process's relay name and the NATS credentials.

use std::path::PathBuf;

use anyhow::Context as _;
use rfb::relay::{RelayCredentials, RelayOptions};

/// How to reach NATS.
#[derive(Debug, Clone, clap::Args)]
pub struct RelayArgs {
    /// NATS server URL, `nats://HOST:PORT` (repeatable: the client fails over between
    /// them). On `rfb serve`, publishes every stream to `rfb edge` servers.
    #[arg(long = "relay", value_name = "URL")]
    pub urls: Vec<String>,
    /// Subject prefix of this deployment (dot-separated `[A-Za-z0-9_-]` tokens): origins
    /// and edges of one deployment share it, other deployments on the same NATS use others.
    #[arg(long, value_name = "PREFIX", default_value = rfb::relay::subjects::DEFAULT_PREFIX)]
    pub relay_prefix: String,
    /// This process's name in the relay (edges put it on input events); default `edge-PORT`
    /// or `origin-PORT`.
    #[arg(long, value_name = "NAME")]
    pub relay_name: Option<String>,
    /// NATS token (or set RFB_RELAY_TOKEN, which keeps it out of `ps`).
    #[arg(long, value_name = "TOKEN")]
    pub relay_token: Option<String>,
    /// NATS user; the password comes from --relay-password or RFB_RELAY_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub relay_user: Option<String>,
    /// NATS password (with --relay-user; prefer RFB_RELAY_PASSWORD).
    #[arg(long, value_name = "PASSWORD", requires = "relay_user")]
    pub relay_password: Option<String>,
    /// File holding an nkey seed (`SU...`) to authenticate to NATS with.
    #[arg(long, value_name = "FILE")]
    pub relay_nkey: Option<PathBuf>,
}

impl RelayArgs {
    /// The relay options, `None` without `--relay`.
    pub fn options(&self, default_name: String) -> anyhow::Result<Option<RelayOptions>> {
        if self.urls.is_empty() {
            return Ok(None);
        }
        let token = self
            .relay_token
            .clone()
            .or_else(|| std::env::var("RFB_RELAY_TOKEN").ok());
        let credentials = match (&self.relay_user, token, &self.relay_nkey) {
            (Some(user), None, None) => RelayCredentials::User {
                user: user.clone(),
                password: self
                    .relay_password
                    .clone()
                    .or_else(|| std::env::var("RFB_RELAY_PASSWORD").ok())
                    .context("--relay-user needs --relay-password or RFB_RELAY_PASSWORD")?,
            },
            (None, Some(token), None) => RelayCredentials::Token(token),
            (None, None, Some(path)) => RelayCredentials::NkeyFile(path.clone()),
            (None, None, None) => RelayCredentials::None,
            _ => anyhow::bail!("give one of --relay-token, --relay-user or --relay-nkey"),
        };
        Ok(Some(RelayOptions {
            urls: self.urls.clone(),
            prefix: self.relay_prefix.clone(),
            name: self.relay_name.clone().unwrap_or(default_name),
            credentials,
            origin_grace: None,
        }))
    }
}
