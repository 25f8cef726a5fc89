//! The `Origin` check: which web pages may open a WebSocket to this server (the defence
//! against cross-site WebSocket hijacking). It runs after the `Host` check, so "same
//! host" compares with a `Host` this server answers to, never with one an attacker chose.
//!
//! | `Origin` | verdict |
//! |---|---|
//! | absent | allowed (native clients; browsers always send one) |
//! | not UTF-8, unparsable, `null` | refused (sandboxed frames and `file:` pages are not trusted) |
//! | same scheme-default host and port as the request's `Host` | allowed |
//! | a loopback name with the `Host`'s port, when `Host` is loopback too (`localhost` vs `127.0.0.1`) | allowed |
//! | listed in [`OriginPolicy::List`] (exact, case-insensitive host) | allowed |
//! | anything else | refused, unless [`OriginPolicy::Any`] |

use super::host::Authority;

/// Which `Origin` headers may open a WebSocket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Pages served by this host (and no `Origin` at all). The default.
    #[default]
    SameHost,
    /// The same host plus these origins, exactly as browsers send them
    /// (`https://app.example.com`, `http://localhost:5173`).
    List(Vec<String>),
    /// Any origin (only for servers behind another gate).
    Any,
}

/// A page origin: scheme, host and effective port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    authority: Authority,
}

impl Origin {
    fn parse(text: &str) -> Option<Origin> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "http" | "https") {
            return None;
        }
        let authority = Authority::parse(rest.strip_suffix('/').unwrap_or(rest))?;
        Some(Origin { scheme, authority })
    }

    fn default_port(&self) -> u16 {
        if self.scheme == "https" {
            443
        } else {
            80
        }
    }

    fn port(&self) -> u16 {
        self.authority.port.unwrap_or_else(|| self.default_port())
    }

    /// `scheme://host:port` as written, for messages.
    fn shown(&self) -> String {
        let host = &self.authority.host;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        match self.authority.port {
            Some(port) => format!("{}://{host}:{port}", self.scheme),
            None => format!("{}://{host}", self.scheme),
        }
    }
}

/// Why an origin may not connect; the message names the setting that would allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OriginRefused(pub String);

impl OriginPolicy {
    /// Decides for a request's raw `Origin` and `Host` header values.
    pub fn check(&self, origin: Option<&[u8]>, host: Option<&[u8]>) -> Result<(), OriginRefused> {
        let Some(raw) = origin else { return Ok(()) };
        if *self == OriginPolicy::Any {
            return Ok(());
        }
        let text = std::str::from_utf8(raw).ok();
        let Some(origin) = text.and_then(Origin::parse) else {
            return Err(OriginRefused(format!(
                "the page's origin {:?} is not a web origin this server can trust",
                String::from_utf8_lossy(raw)
            )));
        };
        let host = host
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(Authority::parse);
        if let Some(host) = host {
            let host_port = host.port.unwrap_or_else(|| origin.default_port());
            let same_port = host_port == origin.port();
            if same_port && host.host == origin.authority.host {
                return Ok(());
            }
            if same_port && host.is_loopback() && origin.authority.is_loopback() {
                return Ok(());
            }
        }
        if let OriginPolicy::List(allowed) = self {
            let listed = allowed
                .iter()
                .filter_map(|a| Origin::parse(a.trim()))
                .any(|a| {
                    a.scheme == origin.scheme
                        && a.authority.host == origin.authority.host
                        && a.port() == origin.port()
                });
            if listed {
                return Ok(());
            }
        }
        let shown = origin.shown();
        Err(OriginRefused(format!(
            "pages from {shown} may not connect; allow them with `rfb serve --origin {shown}` (ServeOptions::origins)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &OriginPolicy, origin: Option<&str>, host: &str) -> bool {
        p.check(origin.map(str::as_bytes), Some(host.as_bytes()))
            .is_ok()
    }

    #[test]
    fn same_host_is_the_default() {
        let p = OriginPolicy::default();
        assert!(check(&p, Some("http://127.0.0.1:8765"), "127.0.0.1:8765"));
        assert!(
            check(&p, None, "127.0.0.1:8765"),
            "native clients send no Origin"
        );
        assert!(!check(&p, Some("https://evil.example"), "127.0.0.1:8765"));
        assert!(!check(&p, Some("http://127.0.0.1:9999"), "127.0.0.1:8765"));
        assert!(
            check(&p, Some("http://localhost:8765"), "127.0.0.1:8765"),
            "loopback aliases"
        );
        assert!(!check(&p, Some("http://localhost:5173"), "127.0.0.1:8765"));
        assert!(
            check(&p, Some("https://viewer.example"), "viewer.example"),
            "default ports"
        );
        assert!(!check(
            &p,
            Some("http://viewer.example"),
            "viewer.example:8443"
        ));
    }

    #[test]
    fn odd_origins_are_refused_not_ignored() {
        let p = OriginPolicy::default();
        assert!(p.check(Some(b"\xff\xfe"), Some(b"127.0.0.1:8765")).is_err());
        assert!(!check(&p, Some("null"), "127.0.0.1:8765"));
        assert!(!check(&p, Some("file://"), "127.0.0.1:8765"));
        assert!(!check(&p, Some(""), "127.0.0.1:8765"));
        assert!(OriginPolicy::Any.check(Some(b"null"), None).is_ok());
    }

    #[test]
    fn lists_add_exact_origins_and_refusals_name_the_flag() {
        let p = OriginPolicy::List(vec!["http://localhost:5173/".into()]);
        assert!(check(&p, Some("http://LOCALHOST:5173"), "127.0.0.1:8765"));
        assert!(!check(&p, Some("http://localhost:5174"), "127.0.0.1:8765"));
        assert!(!check(&p, Some("https://localhost:5173"), "127.0.0.1:8765"));
        let err = p
            .check(Some(b"http://localhost:5174"), Some(b"127.0.0.1:8765"))
            .unwrap_err();
        assert!(err.0.contains("--origin http://localhost:5174"), "{err}");
    }

    /// Found by the `http_request` fuzz target: the `--origin` a refusal suggests must
    /// admit the refused origin (IPv6 literals need their brackets, with or without a
    /// port), and an origin whose host holds a bare colon is no origin at all.
    #[test]
    fn the_suggested_origin_admits_the_refused_one() {
        for origin in [
            "http://[::1]",
            "https://[fe80::1]:8443",
            "http://evil.test:81",
        ] {
            let err = OriginPolicy::SameHost
                .check(Some(origin.as_bytes()), Some(b"viewer.example"))
                .unwrap_err();
            let suggested = err
                .0
                .split("--origin ")
                .nth(1)
                .and_then(|s| s.split('`').next());
            assert_eq!(suggested, Some(origin), "{err}");
            let listed = OriginPolicy::List(vec![origin.to_string()]);
            assert!(check(&listed, Some(origin), "viewer.example"), "{origin}");
        }
        let err = OriginPolicy::SameHost
            .check(
                Some(b"http://127.0.0.1:876.1:8765"),
                Some(b"127.0.0.1:8765"),
            )
            .unwrap_err();
        assert!(err.0.contains("not a web origin"), "{err}");
    }
}
