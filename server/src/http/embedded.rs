//! The demo page and the viewer package compiled into the binary (feature `assets`), so a
//! binary moved away from its checkout, or installed with `cargo install`, still serves
//! them. `build.rs` writes the table from the checkout's `web/` and `client-wasm/pkg/` at
//! build time; [`super::assets`] serves from it where `ServeOptions::web_dir` or
//! `pkg_dir` is `None`.
//!
//! Each answer carries a content type from the file name, an ETag from the bytes and
//! `Cache-Control: no-cache` (a browser revalidates and gets 304 while the binary is the
//! same, the new bytes after an upgrade). `HEAD` gets the headers alone.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// One file compiled into the binary (see [`AssetFolder`]).
#[derive(Debug)]
pub struct EmbeddedFile {
    /// Path below its folder, `/`-separated, no leading slash (`index.html`,
    /// `rfb_viewer.js`).
    pub path: &'static str,
    /// The file's bytes.
    pub bytes: &'static [u8],
    /// A quoted entity tag derived from the bytes.
    pub etag: &'static str,
}

#[cfg(feature = "assets")]
mod table {
    use super::EmbeddedFile;
    include!(concat!(env!("OUT_DIR"), "/embedded_assets.rs"));
}

#[cfg(not(feature = "assets"))]
mod table {
    use super::EmbeddedFile;
    pub(super) static WEB: &[EmbeddedFile] = &[];
    pub(super) static PKG: &[EmbeddedFile] = &[];
}

/// A folder of web assets compiled into the binary by `build.rs` (feature `assets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetFolder {
    /// The demo page (`web/`), at `/`.
    Web,
    /// The viewer package (`client-wasm/pkg/`), at `/pkg/`.
    Pkg,
}

impl AssetFolder {
    /// Every file of the folder, sorted by path; empty when the build embedded none.
    pub fn files(self) -> &'static [EmbeddedFile] {
        match self {
            AssetFolder::Web => table::WEB,
            AssetFolder::Pkg => table::PKG,
        }
    }

    /// The file at `path` (already split into safe segments and joined with `/`).
    pub fn get(self, path: &str) -> Option<&'static EmbeddedFile> {
        let files = self.files();
        files
            .binary_search_by(|file| file.path.cmp(path))
            .ok()
            .map(|i| &files[i])
    }
}

/// Answers `method` for `file`, honouring `If-None-Match`.
pub(crate) fn respond(file: &EmbeddedFile, method: &Method, headers: &HeaderMap) -> Response {
    let etag = HeaderValue::from_static(file.etag);
    let content_type = mime_guess::from_path(file.path)
        .first_raw()
        .map(content_type_with_charset)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if matches(headers, file.etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(file.bytes)
    };
    let mut response = (
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, content_type)],
        body,
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(file.bytes.len()));
    response
}

/// Text types declare UTF-8, as tower-http's file service does.
fn content_type_with_charset(mime: &'static str) -> HeaderValue {
    if mime.starts_with("text/") || mime == "application/javascript" {
        HeaderValue::from_str(&format!("{mime}; charset=utf-8"))
            .unwrap_or(HeaderValue::from_static(mime))
    } else {
        HeaderValue::from_static(mime)
    }
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILE: EmbeddedFile = EmbeddedFile {
        path: "sub/app.js",
        bytes: b"export {};\n",
        etag: "\"0123456789abcdef\"",
    };

    #[test]
    fn serves_bytes_with_type_length_and_etag() {
        let response = respond(&FILE, &Method::GET, &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers[header::ETAG], FILE.etag);
        assert_eq!(headers[header::CONTENT_LENGTH], "11");
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .contains("javascript"));
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    }

    #[test]
    fn a_matching_etag_is_not_modified_and_another_is() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"other\", W/\"0123456789abcdef\""),
        );
        let response = respond(&FILE, &Method::GET, &headers);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(
            respond(&FILE, &Method::GET, &headers).status(),
            StatusCode::OK
        );
    }

    #[test]
    fn wasm_is_application_wasm() {
        let wasm = EmbeddedFile {
            path: "rfb_viewer_bg.wasm",
            bytes: b"\0asm",
            etag: "\"1\"",
        };
        let response = respond(&wasm, &Method::GET, &HeaderMap::new());
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/wasm");
    }

    #[cfg(feature = "assets")]
    #[test]
    fn the_build_embedded_the_demo_page_sorted() {
        let page = AssetFolder::Web
            .get("index.html")
            .expect("web/index.html embedded");
        let on_disk = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/index.html"))
            .expect("checkout");
        assert_eq!(page.bytes, on_disk.as_slice());
        let paths: Vec<_> = AssetFolder::Web.files().iter().map(|f| f.path).collect();
        let mut sorted = paths.clone();
        sorted.sort_unstable();
        assert_eq!(paths, sorted, "binary search needs the build's sort");
        assert!(paths
            .iter()
            .all(|p| !p.starts_with('.') && !p.contains("/.")));
    }
}
