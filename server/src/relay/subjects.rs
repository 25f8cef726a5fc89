//! NATS subjects of the relay, all under the deployment's prefix `P` (default `rfb`), so
//! several deployments share one NATS without seeing each other's streams.
//!
//! | subject | direction | message ([`super::wire`]) |
//! |---|---|---|
//! | `P.catalog` | origin -> edges, every second | `Catalogue`: the origin's streams and their settings |
//! | `P.s.NAME.au` | origin -> edges | `Part`s of numbered `StreamItem`s: H.264 access units (IDR mark, layer, still) and clipboard offers |
//! | `P.s.NAME.demand` | edge -> origin, every second | `Demand`: this edge has viewers of NAME |
//! | `P.s.NAME.idr` | edge -> origin, request-reply | `IdrRequest` -> `IdrReply` |
//! | `P.s.NAME.input` | edge -> origin | `RelayInput`: a viewer's input, with its edge, id, principal and role |

use super::RelayError;

/// The prefix when none is configured.
pub const DEFAULT_PREFIX: &str = "rfb";

/// Checks a subject token: 1-64 characters of `[A-Za-z0-9_-]`.
pub fn check_token(token: &str, what: &str) -> Result<(), RelayError> {
    let ok = !token.is_empty()
        && token.len() <= 64
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(RelayError::Options(format!(
            "{what} {token:?} must be 1-64 characters of A-Z, a-z, 0-9, _ and -"
        )))
    }
}

/// Checks a prefix: dot-separated tokens.
pub fn check_prefix(prefix: &str) -> Result<(), RelayError> {
    prefix
        .split('.')
        .try_for_each(|token| check_token(token, "relay prefix part"))
}

/// The catalogue subject.
pub fn catalogue(prefix: &str) -> String {
    format!("{prefix}.catalog")
}

/// Access units and clipboard offers of a stream.
pub fn access_units(prefix: &str, stream: &str) -> String {
    format!("{prefix}.s.{stream}.au")
}

/// Edges' demand for a stream.
pub fn demand(prefix: &str, stream: &str) -> String {
    format!("{prefix}.s.{stream}.demand")
}

/// Keyframe requests of a stream.
pub fn keyframes(prefix: &str, stream: &str) -> String {
    format!("{prefix}.s.{stream}.idr")
}

/// Input for a stream.
pub fn input(prefix: &str, stream: &str) -> String {
    format!("{prefix}.s.{stream}.input")
}

/// The stream name in a per-stream subject (`P.s.NAME.x`), if it is one.
pub fn stream_of<'a>(prefix: &str, subject: &'a str) -> Option<&'a str> {
    let rest = subject.strip_prefix(prefix)?.strip_prefix(".s.")?;
    let (name, _) = rest.split_once('.')?;
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_names_are_subject_tokens() {
        assert!(check_prefix("rfb").is_ok());
        assert!(check_prefix("acme.prod-1").is_ok());
        assert!(check_prefix("a..b").is_err());
        assert!(check_prefix("a.*").is_err());
        assert!(check_prefix("a.>").is_err());
        assert!(check_token("edge 1", "name").is_err());
    }

    #[test]
    fn per_stream_subjects_name_their_stream() {
        let s = access_units("acme.prod", "cam-1");
        assert_eq!(s, "acme.prod.s.cam-1.au");
        assert_eq!(stream_of("acme.prod", &s), Some("cam-1"));
        assert_eq!(stream_of("acme.prod", &input("acme.prod", "x")), Some("x"));
        assert_eq!(stream_of("other", &s), None);
    }
}
