//! Static files: the demo page (`web_dir`, at `/`) and the viewer package (`pkg_dir`, at
//! `/pkg/`), each from its folder on disk when one is configured, else from the copy
//! embedded in the binary ([`super::embedded`], feature `assets`), else nothing.
//!
//! A request path is percent-decoded and split into segments first by
//! [`crate::access::path::safe_segments`] (a segment that is empty, `.`, `..`, starts with
//! a dot, or holds a backslash or NUL is refused: 404). A file on disk is then resolved
//! with symlinks followed and must still lie inside the folder's own resolved path, so a
//! symlink cannot lead out of it either. Everything else (content types, ranges,
//! conditional requests) is tower-http's `ServeFile`.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::embedded::{self, AssetFolder as Folder};
use super::Shared;
use crate::access::path::safe_segments;

/// Serves a static file for `request`.
pub(super) async fn serve(shared: &Shared, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let options = &shared.options;
    let (folder, dir, rest) = match path.strip_prefix("/pkg/") {
        Some(rest) => (Folder::Pkg, options.pkg_dir.as_deref(), rest),
        None => (
            Folder::Web,
            options.web_dir.as_deref(),
            path.trim_start_matches('/'),
        ),
    };
    let rest = match (folder, rest) {
        (Folder::Web, "") => "index.html",
        (_, rest) => rest,
    };
    if let Some(dir) = dir {
        return match resolve(dir, rest).await {
            Some(file) => match ServeFile::new(file).oneshot(request).await {
                Ok(response) => response.into_response(),
                Err(never) => match never {},
            },
            None => not_found(&path),
        };
    }
    let embedded_page = options.embedded_assets && !Folder::Web.files().is_empty();
    if folder == Folder::Web && !embedded_page && rest == "index.html" {
        return (StatusCode::OK, page_without_assets(shared)).into_response();
    }
    if !options.embedded_assets {
        return not_found(&path);
    }
    let Some(segments) = safe_segments(rest) else {
        return not_found(&path);
    };
    match folder.get(&segments.join("/")) {
        Some(file) => embedded::respond(file, request.method(), request.headers()),
        None => not_found(&path),
    }
}

fn not_found(path: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("not found: {path}")).into_response()
}

/// The file `rest` names under `root`, if it is a regular file whose resolved path stays
/// inside `root`'s resolved path.
async fn resolve(root: &Path, rest: &str) -> Option<PathBuf> {
    let segments = safe_segments(rest)?;
    let root = tokio::fs::canonicalize(root).await.ok()?;
    let mut candidate = root.clone();
    candidate.extend(&segments);
    let resolved = tokio::fs::canonicalize(&candidate).await.ok()?;
    let is_file = tokio::fs::metadata(&resolved).await.ok()?.is_file();
    (is_file && resolved.starts_with(&root)).then_some(resolved)
}

fn page_without_assets(shared: &Shared) -> String {
    format!(
        "rfb server: viewers connect with WebSocket to ws://{}/ (no web assets configured)\n",
        shared
            .addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "this host".to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn symlinks_cannot_lead_out_of_the_folder() {
        let base = std::env::temp_dir().join(format!("rfb-assets-{}", std::process::id()));
        let web = base.join("web");
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(web.join("sub")).expect("dirs");
        std::fs::write(base.join("secret.txt"), "secret").expect("secret");
        std::fs::write(web.join("index.html"), "page").expect("page");
        std::fs::write(web.join("sub/inner.txt"), "inner").expect("inner");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("secret.txt"), web.join("leak.txt"))
                .expect("symlink");
            std::os::unix::fs::symlink(web.join("sub/inner.txt"), web.join("alias.txt"))
                .expect("symlink");
            assert_eq!(
                resolve(&web, "leak.txt").await,
                None,
                "symlink out of the folder"
            );
            assert!(
                resolve(&web, "alias.txt").await.is_some(),
                "symlink within it"
            );
        }
        assert!(resolve(&web, "index.html").await.is_some());
        assert!(resolve(&web, "sub/inner.txt").await.is_some());
        assert_eq!(resolve(&web, "sub").await, None, "a folder is not a file");
        assert_eq!(resolve(&web, "missing.txt").await, None);
        let _ = std::fs::remove_dir_all(&base);
    }
}
