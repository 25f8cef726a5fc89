//! The security and resource flags `rfb serve` shares with other serving commands: who may
//! connect (hosts, origins, tokens, the anonymous role) and every limit of
//! `rfb::limits::Limits`.

use std::net::IpAddr;
use std::time::Duration;

use rfb::auth::{role_tokens, OriginPolicy, Role};
use rfb::limits::{Limits, Rate};
use rfb::ServeOptions;

/// Who may connect and with which role.
#[derive(Debug, Clone, clap::Args)]
pub struct AccessArgs {
    /// Require this token in the viewer's Hello (close 4401 otherwise) and on the side
    /// channel (`Authorization: Bearer T` or `?token=T`; HTTP 401 otherwise). Its viewers
    /// control the app.
    #[arg(long)]
    pub token: Option<String>,
    /// A second token whose viewers only watch: their input, viewport and pastes are
    /// dropped (counted as `input_refused` in /metrics).
    #[arg(long, value_name = "TOKEN")]
    pub view_token: Option<String>,
    /// The role of viewers when no token is required: `control` or `view`. Default:
    /// `control` when listening on loopback only, `view` otherwise (anyone who can reach
    /// the port could otherwise drive the app).
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    pub anonymous_role: Option<Role>,
    /// Also accept WebSocket connections from pages of origin O (repeatable; pages served
    /// by this server are always accepted). Other origins get close 4403.
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub origins: Vec<String>,
    /// Also answer requests for this host name (repeatable): `viewer.example.com`,
    /// `.example.com` for a domain and its subdomains, `*` for any. Loopback names, IP
    /// literals of this server and the --host name are always answered; other `Host`s get
    /// HTTP 403 (DNS rebinding).
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
}

/// Every resource limit, with `rfb::limits::Limits`' defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Most open TCP connections; more are closed at once.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Most concurrent viewers over all streams; more get close 1013.
    #[arg(long, default_value_t = Limits::default().max_sessions)]
    pub max_sessions: usize,
    /// Seconds a request's head may take to arrive once it started.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub header_read_timeout: f64,
    /// Seconds an HTTP connection may stay silent between requests.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub idle_timeout: f64,
    /// Input events per second per viewer, and the burst: `RATE` or `RATE/BURST`. Over
    /// it, moves and wheels are dropped; a flood of presses and keys closes with 1008.
    #[arg(long, value_name = "RATE[/BURST]", default_value = "2000/1000", value_parser = parse_rate)]
    pub input_rate: Rate,
    /// Viewport changes per second per viewer (`RATE` or `RATE/BURST`); the newest waits
    /// for the rate, never lost.
    #[arg(long, value_name = "RATE[/BURST]", default_value = "10/10", value_parser = parse_rate)]
    pub viewport_rate: Rate,
    /// Bytes of undrained input a stream keeps for the app (`8M`, `512k`: binary units).
    #[arg(long, value_name = "BYTES", default_value = "8M", value_parser = parse_bytes)]
    pub event_queue_bytes: u64,
    /// Bytes of JSON `/recorded-events` keeps.
    #[arg(long, value_name = "BYTES", default_value = "16M", value_parser = parse_bytes)]
    pub recorded_events_bytes: u64,
    /// Bytes of events waiting for the --event-log writer before new ones are dropped.
    #[arg(long, value_name = "BYTES", default_value = "4M", value_parser = parse_bytes)]
    pub event_log_backlog_bytes: u64,
    /// Size at which the --event-log file is rotated to FILE.1 (the older .1 is deleted).
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_bytes)]
    pub event_log_max_bytes: u64,
    /// Seconds of silence after which a viewer is sent a heartbeat (0 = never).
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub heartbeat: f64,
    /// Seconds a viewer may send nothing (not even a heartbeat answer) before it is closed
    /// with 4409.
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    pub viewer_timeout: f64,
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::from_name(name).ok_or_else(|| format!("unknown role {name:?}; one of control, view"))
}

/// `RATE` or `RATE/BURST`, both positive numbers (the burst defaults to the rate).
fn parse_rate(text: &str) -> Result<Rate, String> {
    let number = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| {
                format!("expected RATE or RATE/BURST with positive numbers, got {text:?}")
            })
    };
    match text.split_once('/') {
        Some((rate, burst)) => Ok(Rate::new(number(rate)?, number(burst)?)),
        None => {
            let rate = number(text)?;
            Ok(Rate::new(rate, rate))
        }
    }
}

/// A byte count: digits with an optional binary `k`, `M` or `G`.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, scale) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|v| v.checked_mul(scale))
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("expected a size such as 8M, got {text:?}"))
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| anyhow::anyhow!("{flag} must be a non-negative number of seconds"))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl AccessArgs {
    /// Fills the access fields of `options` (whose `host` is already set).
    pub fn apply(&self, options: &mut ServeOptions) {
        if self.token.is_some() || self.view_token.is_some() {
            options.authenticate = Some(role_tokens(self.token.clone(), self.view_token.clone()));
        }
        options.default_role = self
            .anonymous_role
            .unwrap_or(if is_loopback(&options.host) {
                Role::Control
            } else {
                Role::View
            });
        options.origins = if self.origins.is_empty() {
            OriginPolicy::SameHost
        } else {
            OriginPolicy::List(self.origins.clone())
        };
        options.allowed_hosts = self.allowed_hosts.clone();
    }

    /// A warning to print when anonymous viewers of a reachable server may drive the app.
    pub fn warning(&self, options: &ServeOptions) -> Option<String> {
        let anonymous = options.authenticate.is_none();
        (anonymous && !is_loopback(&options.host) && options.default_role == Role::Control).then(
            || {
                format!(
                    "warning: anyone who reaches {}:{} can drive the app (no --token, --anonymous-role control)",
                    options.host, options.port
                )
            },
        )
    }
}

impl LimitArgs {
    /// The limits and heartbeat settings of `options`.
    pub fn apply(&self, options: &mut ServeOptions) -> anyhow::Result<()> {
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        options.limits = Limits {
            max_connections: self.max_connections,
            max_sessions: self.max_sessions,
            header_read_timeout: seconds(self.header_read_timeout, "--header-read-timeout")?,
            idle_timeout: seconds(self.idle_timeout, "--idle-timeout")?,
            input_rate: self.input_rate,
            viewport_rate: self.viewport_rate,
            event_queue_bytes: size(self.event_queue_bytes),
            recorded_events_bytes: size(self.recorded_events_bytes),
            event_log_backlog_bytes: size(self.event_log_backlog_bytes),
            event_log_max_bytes: self.event_log_max_bytes,
        };
        let heartbeat = seconds(self.heartbeat, "--heartbeat")?;
        options.heartbeat_interval = (!heartbeat.is_zero()).then_some(heartbeat);
        options.viewer_timeout = seconds(self.viewer_timeout, "--viewer-timeout")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_sizes_parse() {
        assert_eq!(parse_rate("2000/1000"), Ok(Rate::new(2000.0, 1000.0)));
        assert_eq!(parse_rate("10"), Ok(Rate::new(10.0, 10.0)));
        assert!(
            parse_rate("0").is_err() && parse_rate("x/1").is_err() && parse_rate("NaN").is_err()
        );
        assert_eq!(parse_bytes("8M"), Ok(8 << 20));
        assert_eq!(parse_bytes("512k"), Ok(512 << 10));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(parse_bytes("0").is_err() && parse_bytes("1T").is_err());
    }

    #[test]
    fn the_anonymous_role_follows_the_interface() {
        let args = AccessArgs {
            token: None,
            view_token: None,
            anonymous_role: None,
            origins: vec![],
            allowed_hosts: vec![],
        };
        let mut local = ServeOptions::default();
        args.apply(&mut local);
        assert_eq!(local.default_role, Role::Control);
        let mut lan = ServeOptions {
            host: "0.0.0.0".into(),
            ..ServeOptions::default()
        };
        args.apply(&mut lan);
        assert_eq!(lan.default_role, Role::View);
        let open = AccessArgs {
            anonymous_role: Some(Role::Control),
            ..args
        };
        open.apply(&mut lan);
        assert!(open.warning(&lan).is_some());
    }
}
