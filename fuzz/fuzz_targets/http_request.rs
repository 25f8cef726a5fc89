//! `http_request`: the server's parsing of the untrusted parts of an HTTP request
//! (`rfb_access`, re-exported by the server as `rfb::access`: the `Host` allow-list, the `Origin` check, the side channel's token;
//! `rfb_access::path::safe_segments` for static file paths).
//!
//! The input is lines (`\n`); a missing line, or one that is a lone NUL byte, is an
//! absent header:
//!
//! ```text
//! same|any|list:ORIGIN[,ORIGIN...] BOUND-IP|- LISTEN-HOST [ALLOWED-HOST...]   (the server's settings)
//! Host header
//! Origin header
//! Authorization header
//! query string
//! URL path below a served folder
//! ```
//!
//! Checked for any input: no panic, and
//! - a parsed `Host` is normalised (lower case, no trailing dot, known characters) and
//!   parses back to itself from its canonical text; the verdicts ignore ASCII case;
//!   with no configured names, only loopback names and addresses pass;
//! - no `Origin` always passes, `Any` passes everything, a list never refuses what the
//!   default allows, and the `--origin` value a refusal suggests does admit that origin;
//! - a token is never longer than `MAX_TOKEN_BYTES`; a fully percent-encoded query token
//!   decodes to exactly its text;
//! - accepted path segments each name one plain child (no `..`, `.`, separators, NUL or
//!   hidden name), so joined under a folder they stay inside it, and re-encoding them
//!   gives the same segments.

#![no_main]

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use rfb_access::path::safe_segments;
use rfb_access::token::percent_decode;
use rfb_access::{request_token, Authority, HostAllowList, OriginPolicy};
use rfb_protocol::limits::MAX_TOKEN_BYTES;

/// The server's settings, from the first line.
struct Settings {
    origins: OriginPolicy,
    hosts: HostAllowList,
    /// No names were configured and no wildcard (only loopback and the bound IP pass).
    no_names: bool,
    bound: Option<IpAddr>,
}

impl Settings {
    fn parse(line: &str) -> Settings {
        let mut words = line.split(' ');
        let origins = match words.next().unwrap_or("") {
            "any" => OriginPolicy::Any,
            w => match w.strip_prefix("list:") {
                Some(list) => OriginPolicy::List(list.split(',').map(str::to_string).collect()),
                None => OriginPolicy::SameHost,
            },
        };
        let bound = words.next().and_then(|w| w.parse().ok());
        let listen = words.next().unwrap_or("127.0.0.1").to_string();
        let names: Vec<String> = words.map(str::to_string).collect();
        let no_names = names.is_empty()
            && (listen.parse::<IpAddr>().is_ok() || listen.trim().trim_end_matches('.').is_empty());
        Settings {
            origins,
            hosts: HostAllowList::new(&names, &listen, bound),
            no_names,
            bound,
        }
    }
}

/// `host[:port]` as a browser would write it (IPv6 literals in brackets).
fn canonical(a: &Authority) -> String {
    let host = if a.host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{}]", a.host)
    } else {
        a.host.clone()
    };
    match a.port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

fn percent_encode_all(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn check_host(settings: &Settings, host: Option<&[u8]>) {
    let allowed = settings.hosts.allows(host);
    let parsed = host
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(Authority::parse);
    if let Some(a) = &parsed {
        assert!(!a.host.is_empty() && !a.host.ends_with('.'), "{a:?}");
        assert_eq!(a.host, a.host.to_ascii_lowercase());
        assert!(a
            .host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':')));
        let text = canonical(a);
        assert_eq!(Authority::parse(&text).as_ref(), Some(a), "{text:?}");
    }
    if let Some(h) = host {
        let upper = h.to_ascii_uppercase();
        assert_eq!(
            settings.hosts.allows(Some(&upper)),
            allowed,
            "case changed the verdict"
        );
    }
    if allowed && settings.no_names {
        let a = parsed.unwrap_or_else(|| panic!("allowed an unparsable Host {host:?}"));
        let ip_ok = a.ip().is_some_and(|ip| {
            settings
                .bound
                .is_some_and(|b| b.is_unspecified() || b == ip)
        });
        assert!(
            a.is_loopback() || ip_ok,
            "{a:?} allowed with no names configured"
        );
    }
}

fn check_origin(settings: &Settings, origin: Option<&[u8]>, host: Option<&[u8]>) {
    let verdict = settings.origins.check(origin, host);
    assert!(OriginPolicy::Any.check(origin, host).is_ok());
    assert!(settings.origins.check(None, host).is_ok());
    let same_host = OriginPolicy::SameHost.check(origin, host);
    if same_host.is_ok() {
        assert!(verdict.is_ok(), "a list refused what the default allows");
    }
    if let (Some(o), Some(h)) = (origin, host) {
        let upper = OriginPolicy::SameHost
            .check(Some(&o.to_ascii_uppercase()), Some(&h.to_ascii_uppercase()));
        assert_eq!(upper.is_ok(), same_host.is_ok(), "case changed the verdict");
    }
    if let Err(refused) = same_host {
        // "pages from X may not connect; allow them with `rfb serve --origin X` ...": X
        // must then be allowed. X has no spaces but may itself hold "--origin", so the
        // last "--origin " starts it. (The other refusal quotes the raw header: skipped.)
        let advice = refused
            .0
            .strip_prefix("pages from ")
            .and_then(|m| m.rsplit_once("--origin "))
            .map(|(_, after)| after);
        if let Some(advice) = advice {
            let suggested = advice.split('`').next().unwrap_or("").to_string();
            let listed = OriginPolicy::List(vec![suggested.clone()]);
            assert!(
                listed.check(origin, host).is_ok(),
                "the suggested --origin {suggested:?} does not admit {:?}",
                origin.map(String::from_utf8_lossy)
            );
        }
    }
}

fn check_token(authorization: Option<&[u8]>, query: Option<&str>, sample: &str) {
    if let Some(token) = request_token(authorization, query) {
        assert!(token.len() <= MAX_TOKEN_BYTES);
        if authorization.is_none() {
            let raw = query
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("token=")))
                .unwrap_or_else(|| panic!("a token from no header and no token= in {query:?}"));
            assert_eq!(token, percent_decode(raw));
        }
    }
    let query = format!("a=1&token={}&token=other", percent_encode_all(sample));
    let expected = (sample.len() <= MAX_TOKEN_BYTES).then(|| sample.to_string());
    assert_eq!(request_token(None, Some(&query)), expected);
    if !sample.contains(['%', '+']) {
        assert_eq!(percent_decode(sample), sample);
    }
}

fn check_path(path: &str) {
    let Some(segments) = safe_segments(path) else {
        return;
    };
    let root = Path::new("/srv/web");
    let mut joined = PathBuf::from(root);
    for segment in &segments {
        assert!(
            !segment.starts_with('.') && !segment.contains(['/', '\\', '\0']),
            "{segment:?}"
        );
        let parts: Vec<Component<'_>> = Path::new(segment).components().collect();
        assert!(
            matches!(parts.as_slice(), [Component::Normal(name)] if *name == segment.as_str()),
            "{segment:?} is not one plain name: {parts:?}"
        );
        joined.push(segment);
    }
    assert!(joined.starts_with(root));
    assert_eq!(
        joined.components().count(),
        root.components().count() + segments.len()
    );
    let encoded: Vec<String> = segments.iter().map(|s| percent_encode_all(s)).collect();
    assert_eq!(safe_segments(&encoded.join("/")), Some(segments));
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let settings = Settings::parse(&String::from_utf8_lossy(lines.next().unwrap_or(&[])));
    let mut field = || lines.next().filter(|l| *l != [0u8]);
    let host = field();
    let origin = field();
    let authorization = field();
    let query = field().map(String::from_utf8_lossy);
    let path = field().map(String::from_utf8_lossy);

    check_host(&settings, host);
    check_origin(&settings, origin, host);
    let sample = String::from_utf8_lossy(origin.unwrap_or(b"t0k3n"));
    check_token(authorization, query.as_deref(), &sample);
    if let Some(path) = path {
        check_path(&path);
    }
});
