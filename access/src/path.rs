//! Which file a request path names below a served folder: the path is percent-decoded,
//! then split into segments, and refused (`None`, a 404) when any segment is empty, `.`,
//! `..`, starts with a dot (dotfiles and folders such as `.git`), or holds a backslash or
//! NUL. Pure, so the fuzz targets and unit tests drive it directly; `rfb::http`'s asset
//! handler then resolves the segments under the folder and checks symlinks.

/// The segments of a URL path below a folder, decoded, or `None` for a path that names
/// something hidden or tries to leave the folder.
pub fn safe_segments(url_path: &str) -> Option<Vec<String>> {
    let decoded = percent_decode_path(url_path)?;
    let segments: Vec<String> = decoded.split('/').map(str::to_string).collect();
    let safe = segments
        .iter()
        .all(|s| !s.is_empty() && !s.starts_with('.') && !s.contains('\\') && !s.contains('\0'));
    safe.then_some(segments)
}

/// `%XX` decoding of a URL path (no `+` rule: that is for queries); `None` when the
/// result is not UTF-8.
fn percent_decode_path(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).ok()?);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_escaping_paths_are_refused() {
        assert_eq!(
            safe_segments("pkg/rfb_viewer.js"),
            Some(vec!["pkg".to_string(), "rfb_viewer.js".to_string()])
        );
        for bad in [
            "../secret",
            "a/../../b",
            "%2e%2e/secret",
            ".git/config",
            "a/.env",
            "a//b",
            "a\\..\\b",
            "a%5c..%5cb",
            "a%00b",
            "%ff",
            "",
            "./index.html",
        ] {
            assert_eq!(safe_segments(bad), None, "{bad:?}");
        }
    }
}
