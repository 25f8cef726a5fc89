//! Who may reach the server at all: the `Host` allow-list (DNS rebinding), the security
//! headers, and static files that cannot leak what is beside or hidden in their folders.

use crate::common::*;
use rfb::{serve, ServeOptions, StreamOptions};

/// A WebSocket upgrade request with this `Host` and `Origin`.
fn upgrade(host: &str, origin: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebound_name_gets_nothing() {
    let display = serve(
        64,
        48,
        ServeOptions {
            record_events: true,
            ..options(StreamOptions::default())
        },
    )
    .await
    .unwrap();
    let port = display.port();
    // The attack: the page at http://evil.test:PORT/ re-pointed at 127.0.0.1.
    let evil = format!("evil.test:{port}");
    let (status, _, body) = raw_http(port, &upgrade(&evil, &format!("http://{evil}"))).await;
    assert_eq!(status, 403, "no WebSocket for a foreign Host: {body}");
    assert!(body.contains("--allowed-host"), "{body}");
    for path in ["/recorded-events", "/metrics", "/streams", "/", "/health"] {
        let (status, _, _) = get_with_host(port, path, &evil, &[]).await;
        assert_eq!(status, 403, "{path} for a foreign Host");
    }
    // The names of this server keep working.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (status, _, _) = get_with_host(port, "/recorded-events", &host, &[]).await;
        assert_eq!(status, 200, "{host}");
        let (status, head, _) = raw_http(port, &upgrade(&host, &format!("http://{host}"))).await;
        assert_eq!(status, 101, "{host}: {head}");
    }
    let (status, _, _) = raw_http(port, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert!(matches!(status, 400 | 403), "no Host, no answer: {status}");
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_names_are_answered() {
    let display = serve(
        64,
        48,
        ServeOptions {
            allowed_hosts: vec!["viewer.example.com".into(), ".corp.example".into()],
            ..options(StreamOptions::default())
        },
    )
    .await
    .unwrap();
    let port = display.port();
    for (host, status) in [
        ("viewer.example.com", 200),
        ("VIEWER.example.com:443", 200),
        ("wall.corp.example", 200),
        ("example.com", 403),
        ("viewer.example.com.evil.test", 403),
    ] {
        assert_eq!(
            get_with_host(port, "/health", host, &[]).await.0,
            status,
            "{host}"
        );
    }
    display.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_security_headers_and_assets_stay_in_their_folder() {
    let base = std::env::temp_dir().join(format!("rfb-hosts-assets-{}", std::process::id()));
    let web = base.join("web");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(web.join(".git")).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html>page").unwrap();
    std::fs::write(web.join(".env"), "SECRET=1").unwrap();
    std::fs::write(web.join(".git/config"), "[core]").unwrap();
    std::fs::write(base.join("outside.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(base.join("outside.txt"), web.join("link.txt")).unwrap();
    let display = serve(
        64,
        48,
        ServeOptions {
            web_dir: Some(web.clone()),
            ..options(StreamOptions::default())
        },
    )
    .await
    .unwrap();
    let port = display.port();
    let host = format!("127.0.0.1:{port}");
    let (status, head, body) = get_with_host(port, "/", &host, &[]).await;
    assert_eq!((status, body.as_str()), (200, "<!doctype html>page"));
    let head = head.to_ascii_lowercase();
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    for path in [
        "/.env",
        "/.git/config",
        "/link.txt",
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/%2e%2e%2foutside.txt",
    ] {
        let (status, _, body) = get_with_host(port, path, &host, &[]).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("SECRET") && !body.contains("outside\n") && body != "outside");
    }
    let (_, head, _) = get_with_host(port, "/health", &host, &[]).await;
    assert!(
        head.to_ascii_lowercase().contains("nosniff"),
        "on every response"
    );
    display.close().await;
    let _ = std::fs::remove_dir_all(&base);
}
