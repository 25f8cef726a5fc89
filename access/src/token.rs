//! The credential of a side-channel request: `Authorization: Bearer <token>` (scheme
//! matched case-insensitively, as RFC 9110 requires), else a `token=` query parameter
//! (percent-decoded). Tokens longer than [`rfb_protocol::limits::MAX_TOKEN_BYTES`] are
//! treated as absent, so a hook never sees a megabyte of header.

use rfb_protocol::limits::MAX_TOKEN_BYTES;

/// The token of a request, from its raw `Authorization` value and its query string.
pub fn request_token(authorization: Option<&[u8]>, query: Option<&str>) -> Option<String> {
    let bearer = authorization
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once([' ', '\t'])?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    bearer
        .or_else(|| {
            query?.split('&').find_map(|pair| {
                let value = pair.strip_prefix("token=")?;
                Some(percent_decode(value))
            })
        })
        .filter(|t| t.len() <= MAX_TOKEN_BYTES)
}

/// `%XX` and `+` decoding of a query value (enough for tokens; invalid escapes stay as
/// they are, invalid UTF-8 becomes U+FFFD).
pub fn percent_decode(value: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', hi, lo]) => hex(*hi).zip(hex(*lo)),
            _ => None,
        };
        match (escaped, b) {
            (Some((hi, lo)), _) => {
                out.push(hi * 16 + lo);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tokens_are_percent_decoded() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("s%3Dcr%C3%A9t"), "s=crét");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("é%41"), "éA");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn bearer_is_case_insensitive_and_wins_over_the_query() {
        for header in [
            "Bearer s3cret",
            "bearer s3cret",
            "BEARER   s3cret ",
            "Bearer\ts3cret",
        ] {
            assert_eq!(
                request_token(Some(header.as_bytes()), None).as_deref(),
                Some("s3cret"),
                "{header:?}"
            );
        }
        assert_eq!(request_token(Some(b"Basic abc"), None), None);
        assert_eq!(request_token(Some(b"Bearer "), None), None);
        assert_eq!(
            request_token(Some(b"Bearer a"), Some("token=b")).as_deref(),
            Some("a")
        );
        assert_eq!(
            request_token(None, Some("x=1&token=a%2Bb")).as_deref(),
            Some("a+b")
        );
        assert_eq!(
            request_token(Some(b"\xff"), Some("token=q")).as_deref(),
            Some("q")
        );
    }

    #[test]
    fn huge_tokens_count_as_absent() {
        let huge = format!("Bearer {}", "t".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(request_token(Some(huge.as_bytes()), None), None);
    }
}
