//! The accept loop of a listening server: TCP_NODELAY on every connection, the
//! connection limit, the header-read and idle timeouts ([`clock`]), and a graceful stop.
//! (An app that mounts `Server::router()` in its own listener applies its own.)

mod clock;
mod io;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tower::ServiceExt;

use crate::limits::Limits;
use crate::sync::lock;
pub use clock::{ConnClock, Expiry};
use io::TrackedIo;

/// How long a connection asked to stop (server closing, timeout) may take to finish its
/// response before it is dropped.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// A connection's clock and the wake-up for its watcher.
pub(crate) struct ConnState {
    clock: Mutex<ConnClock>,
    /// Notified when the next check moved earlier (a request head started).
    changed: Notify,
}

/// Accepts connections until `shutdown` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(
                %peer,
                "refused a connection: the server holds its limit of {} connections",
                limits.max_connections
            );
            drop(tcp);
            continue;
        };
        if let Err(err) = tcp.set_nodelay(true) {
            // Without TCP_NODELAY, Nagle's algorithm holds the tail of each frame (and
            // ACKs) until the peer's delayed ACK: up to 40 ms of latency per frame.
            tracing::warn!("cannot set TCP_NODELAY: {err}");
        }
        connections.spawn(connection(
            tcp,
            peer,
            permit,
            router.clone(),
            limits.clone(),
            shutdown.clone(),
        ));
    }
    // Stop accepting; let the connections finish (each stops gracefully on the signal).
    drop(listener);
    let _ = tokio::time::timeout(STOP_GRACE * 2, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// Serves one connection until it ends, upgrades, expires or the server stops.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    permit: tokio::sync::OwnedSemaphorePermit,
    router: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let now = Instant::now();
    let state = Arc::new(ConnState {
        clock: Mutex::new(ConnClock::new(
            limits.header_read_timeout,
            limits.idle_timeout,
            now,
        )),
        changed: Notify::new(),
    });
    let io = TokioIo::new(TrackedIo::new(tcp, state.clone(), permit));
    let started = state.clone();
    let ended = state.clone();
    let service = router
        .map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            lock(&started.clock).on_request_start();
            request
        })
        .map_response(move |response| {
            lock(&ended.clock).on_request_end(Instant::now());
            ended.changed.notify_one();
            response
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The clock above owns the timeouts; hyper's own header timer would also cut idle
    // keep-alive connections at the header timeout.
    builder.timer(TokioTimer::new()).header_read_timeout(None);
    let conn = builder
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    let mut stopping: Option<Instant> = None;
    loop {
        let deadline = match stopping {
            Some(at) => at,
            None => lock(&state.clock).next_check(),
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%peer, "connection ended: {err}");
                }
                return;
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                if stopping.is_some() {
                    return; // the grace is over: drop the connection
                }
                let expiry = lock(&state.clock).expiry(Instant::now());
                match expiry {
                    Some(Expiry::HeaderTimeout | Expiry::Stalled) => {
                        tracing::debug!(%peer, ?expiry, "closing a connection");
                        return;
                    }
                    Some(Expiry::Idle) => {
                        conn.as_mut().graceful_shutdown();
                        stopping = Some(Instant::now() + STOP_GRACE);
                    }
                    None => {}
                }
            }
            _ = state.changed.notified() => {}
            _ = shutdown.wait_for(|stop| *stop), if stopping.is_none() => {
                conn.as_mut().graceful_shutdown();
                stopping = Some(Instant::now() + STOP_GRACE);
            }
        }
    }
}
