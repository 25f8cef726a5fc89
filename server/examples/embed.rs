//! An axum app with pages of its own and an rfb stream mounted at `/rfb`, behind the app's
//! cookie login: the Rust counterpart of mounting the reference's ASGI adapter.
//!
//! Run: `cargo run --release -p rfb --example embed`, open http://127.0.0.1:3000/ and
//! follow "log in". Without the session cookie the viewer is refused with 4401.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use rfb::auth::{authenticate_with, AuthContext, Rejected};
use rfb::{Frame, Principal, ServeOptions, Server, StreamOptions};

/// The only valid session in this toy app.
const SESSION: &str = "session=demo-user";

async fn home() -> Html<&'static str> {
    Html(r#"<h1>My app</h1><p><a href="/login">log in</a> then <a href="/viewer">watch</a>.</p>"#)
}

async fn login() -> impl IntoResponse {
    (
        [(
            "set-cookie",
            format!("{SESSION}; Path=/; HttpOnly; SameSite=Strict"),
        )],
        Html(r#"<p>Logged in. <a href="/viewer">watch</a></p>"#),
    )
}

/// The viewer page: the package is served by the mounted router at `/rfb/pkg/`.
async fn viewer() -> Html<&'static str> {
    Html(
        r#"<!doctype html><div id="v" style="width:100vw;height:90vh"></div><p id="s"></p>
<script type="module">
  import init, { RemoteFramebufferView } from "/rfb/pkg/rfb_viewer.js";
  await init();
  new RemoteFramebufferView(document.getElementById("v"), {
    url: `ws://${location.host}/rfb`,
    onState: (s) => (document.getElementById("s").textContent = s),
    onError: (e) => (document.getElementById("s").textContent = e.message),
  });
</script>"#,
    )
}

/// The app's own cookie check, as an rfb authentication hook.
async fn cookie_auth(ctx: AuthContext) -> Result<Principal, Rejected> {
    let cookies = ctx
        .headers
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if cookies.split(';').any(|c| c.trim() == SESSION) {
        Ok(Arc::new("demo-user".to_string()))
    } else {
        Err(Rejected("log in first".to_string()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = ServeOptions {
        authenticate: Some(authenticate_with(cookie_auth)),
        ..ServeOptions::default()
    };
    let rfb = Server::embedded(options)?;
    let display = rfb.add_stream("default", 640, 480, StreamOptions::default())?;
    let app = axum::Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/viewer", get(viewer))
        .nest("/rfb", rfb.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("app at http://{}/", listener.local_addr()?);
    tokio::spawn(async move {
        for seq in 1.. {
            let pixels = rfb_protocol::test_card(seq, 640, 480);
            if display
                .publish(Frame::rgb(640, 480, pixels).expect("sized"))
                .is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(33)).await;
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    rfb.close().await;
    Ok(())
}
