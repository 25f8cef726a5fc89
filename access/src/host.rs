//! The `Host` allow-list: the defence against DNS rebinding.
//!
//! A page on `http://evil.test:8765/` whose name the attacker re-points at 127.0.0.1 talks
//! to this server as a same-origin page: its requests carry `Host: evil.test:8765`. The
//! browser sets `Host` from the URL, so refusing names this server does not answer to
//! defeats the attack. Allowed (case-insensitive, a trailing dot ignored, any port):
//!
//! - `localhost` and names under `.localhost` (they always resolve to loopback);
//! - IP literals that are loopback, equal the bound address, or any IP literal when the
//!   server listens on all interfaces (an IP literal cannot be re-pointed by DNS);
//! - the name the server was told to listen on (`--host NAME`);
//! - configured names ([`HostAllowList::new`]'s `names`, `rfb serve --allowed-host`): an
//!   exact name, `.example.com` for that name and every name under it, or `*` for any.

use std::net::IpAddr;

/// Which `Host` headers this server answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowList {
    names: Vec<String>,
    any: bool,
    bound: Option<IpAddr>,
}

/// The host part of an authority (`name`, `1.2.3.4` or `[::1]`) and its port, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Lower-case host name or IP literal (without brackets), no trailing dot.
    pub host: String,
    /// The port, when the authority names one.
    pub port: Option<u16>,
}

impl Authority {
    /// Parses `host[:port]` or `[v6]:port` as found in a `Host` header or an origin.
    /// `None` for anything else (empty, bad port, stray characters, userinfo).
    pub fn parse(text: &str) -> Option<Authority> {
        if text.is_empty() || text.len() > 255 + 6 {
            return None;
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (v6, after) = rest.split_once(']')?;
            v6.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                p => Some(parse_port(p.strip_prefix(':')?)?),
            };
            (v6.to_string(), port)
        } else {
            let (host, port) = match text.rsplit_once(':') {
                Some((host, port)) => (host, Some(parse_port(port)?)),
                None => (text, None),
            };
            // Only a bracketed IPv6 literal holds colons: `a:b:80` is no authority (its
            // host would print back as `[a:b]`, which names nothing).
            if host.contains(':') {
                return None;
            }
            (host.to_string(), port)
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'));
        valid.then_some(Authority { host, port })
    }

    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// True for `localhost`, names under `.localhost` and loopback IP literals.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host.ends_with(".localhost")
            || self.ip().is_some_and(|ip| ip.is_loopback())
    }
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl HostAllowList {
    /// A list allowing loopback, IP literals as described in the module docs (`bound` is
    /// the listening address, `None` when embedded), the listening name `listen_host` and
    /// `names`.
    pub fn new(names: &[String], listen_host: &str, bound: Option<IpAddr>) -> HostAllowList {
        let mut list = HostAllowList {
            names: Vec::new(),
            any: false,
            bound,
        };
        for name in names.iter().map(String::as_str).chain([listen_host]) {
            let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
            if name == "*" {
                list.any = true;
            } else if !name.is_empty() && name.parse::<IpAddr>().is_err() {
                list.names.push(name);
            }
        }
        list
    }

    /// True when a request carrying this `Host` header value may be served.
    pub fn allows(&self, host_header: Option<&[u8]>) -> bool {
        if self.any {
            return true;
        }
        let Some(authority) = host_header
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .and_then(Authority::parse)
        else {
            return false;
        };
        self.allows_authority(&authority)
    }

    /// True when this parsed authority may be served.
    pub fn allows_authority(&self, authority: &Authority) -> bool {
        if self.any || authority.is_loopback() {
            return true;
        }
        if let Some(ip) = authority.ip() {
            return match self.bound {
                Some(bound) => bound.is_unspecified() || bound == ip,
                None => false,
            };
        }
        self.names.iter().any(|name| match name.strip_prefix('.') {
            Some(domain) => {
                authority.host == domain || authority.host.ends_with(&format!(".{domain}"))
            }
            None => authority.host == *name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str], bound: &str) -> HostAllowList {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        HostAllowList::new(&names, "127.0.0.1", bound.parse().ok())
    }

    fn allowed(list: &HostAllowList, host: &str) -> bool {
        list.allows(Some(host.as_bytes()))
    }

    #[test]
    fn authorities_parse_strictly() {
        let a = Authority::parse("LocalHost.:8765").expect("parses");
        assert_eq!((a.host.as_str(), a.port), ("localhost", Some(8765)));
        let v6 = Authority::parse("[::1]:80").expect("v6");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(80)));
        for bad in [
            "",
            ":80",
            "a:b",
            "a:99999",
            "user@host",
            "[::1",
            "[zz]:1",
            "a b",
            "h:",
            "::1:8765",
            "127.0.0.1:876.1:8765",
        ] {
            assert_eq!(Authority::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rebinding_names_are_refused_and_loopback_allowed() {
        let l = list(&[], "127.0.0.1");
        assert!(!allowed(&l, "evil.test:8765"));
        assert!(!allowed(&l, "127.0.0.1.evil.test"));
        assert!(!l.allows(None), "HTTP/1.1 requires Host");
        assert!(!l.allows(Some(b"\xff\xfe")));
        for ok in [
            "127.0.0.1:8765",
            "localhost:8765",
            "LOCALHOST",
            "app.localhost:1",
            "[::1]:8765",
            "127.0.0.2",
        ] {
            assert!(allowed(&l, ok), "{ok}");
        }
        assert!(
            !allowed(&l, "10.0.0.5:8765"),
            "another IP than the bound one"
        );
    }

    #[test]
    fn bound_addresses_and_configured_names() {
        let all = list(&[], "0.0.0.0");
        assert!(
            allowed(&all, "192.168.1.20:8765"),
            "any IP when bound to all"
        );
        assert!(!allowed(&all, "evil.test"));
        let lan = list(&["viewer.example.com", ".corp.example"], "10.0.0.5");
        assert!(allowed(&lan, "10.0.0.5:8765"));
        assert!(!allowed(&lan, "10.0.0.6:8765"));
        assert!(allowed(&lan, "Viewer.Example.com:443"));
        assert!(!allowed(&lan, "example.com"));
        assert!(allowed(&lan, "corp.example") && allowed(&lan, "a.b.corp.example"));
        assert!(!allowed(&lan, "evilcorp.example"));
        assert!(allowed(&list(&["*"], "127.0.0.1"), "anything.test"));
        let named = HostAllowList::new(&[], "rfb.internal", None);
        assert!(allowed(&named, "rfb.internal:8765"), "the --host name");
        assert!(
            !allowed(&named, "192.168.1.20"),
            "embedded: no bound address"
        );
    }
}
