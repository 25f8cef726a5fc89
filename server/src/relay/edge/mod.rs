//! The edge server (`rfb edge`): a normal rfb server (same page, package, WebSocket
//! protocol, side channel, access rules and limits) whose streams are the ones the
//! origins announce on `P.catalog`, fed over NATS instead of by an app.
//!
//! - **Streams** appear when a catalogue names them (with the origin's settings) and are
//!   removed, closing their viewers with 4410 (`StreamRemoved`), when no catalogue named
//!   them for the origin grace ([`super::ORIGIN_GRACE`] unless
//!   `RelayOptions::origin_grace` says otherwise). A catalogue with a new instance (the
//!   origin restarted) removes and re-adds the stream at once (4410, which the viewer
//!   retries). Two origins announcing one name: the first keeps it. A viewer asking for a
//!   stream the edge has not heard of yet waits up to 3 s for it (an edge that just
//!   started) before 4404.
//! - **Video**: each stream's H.264 lane is *fed* ([`crate::fanout::lane::Lane::fed`]):
//!   access units from `P.s.NAME.au` go to every H.264 viewer of the edge with the usual
//!   per-viewer flow control; joiners and viewers that must resync replay the cached IDR
//!   group ([`crate::fanout::feed`]) without asking the origin. See [`stream`] for when the
//!   edge asks the origin for an IDR.
//! - **Images**: while a stream has image viewers, the edge decodes its access units and
//!   publishes the pictures into the edge's own display, so the image cache, stills and
//!   per-viewer pacing run on the edge exactly as on the origin (the origin encodes
//!   nothing extra for them).
//! - **Input**: what the edge's sessions let through (controllers only, rate limited,
//!   clamped to the frame) goes to `P.s.NAME.input` with the viewer's edge client id, its
//!   principal (when a string) and role, and the edge's name.
//! - **Stateless**: everything is rebuilt from NATS; kill an edge and its viewers
//!   reconnect (to it, or to another edge behind the same load balancer).

pub mod stream;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::wire::{self, Catalogue, StreamInfo};
use super::{subjects, RelayError, RelayOptions};
use crate::options::{ServeOptions, StreamOptions};
use crate::server::{serve_server, Server};
use crate::sync::lock;

/// A running edge: its server and its relay tasks.
#[derive(Debug, Clone)]
pub struct Edge {
    server: Server,
    shared: Arc<EdgeShared>,
}

#[derive(Debug)]
pub(crate) struct EdgeShared {
    pub client: async_nats::Client,
    pub options: RelayOptions,
    streams: Mutex<HashMap<String, stream::EdgeStream>>,
}

/// What can stop an edge from starting.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    /// The server did not start.
    #[error(transparent)]
    Serve(#[from] crate::ServeError),
    /// The relay did not start.
    #[error(transparent)]
    Relay(#[from] RelayError),
}

/// Starts an edge server with `options` (host, port, access, limits; its `relay` field is
/// ignored) fed from the relay `relay`.
pub async fn serve_edge(options: ServeOptions, relay: RelayOptions) -> Result<Edge, EdgeError> {
    let options = ServeOptions {
        relay: None,
        ..options
    };
    let client = super::connect(&relay).await?;
    let catalogue = client
        .subscribe(subjects::catalogue(&relay.prefix))
        .await
        .map_err(|e| RelayError::Nats(e.to_string()))?;
    let server = serve_server(options).await?;
    server.inner.late_streams.store(true, Ordering::Release);
    tracing::info!(
        urls = ?relay.urls.iter().map(|u| super::redact_url(u)).collect::<Vec<_>>(),
        prefix = %relay.prefix,
        name = %relay.name,
        "relay: edge serving the origins' streams"
    );
    let shared = Arc::new(EdgeShared {
        client,
        options: relay,
        streams: Mutex::new(HashMap::new()),
    });
    let edge = Edge { server, shared };
    tokio::spawn(catalogue_loop(edge.clone(), catalogue));
    Ok(edge)
}

impl Edge {
    /// The edge's server (URL, port, streams, close).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Names of the streams the edge serves now.
    pub fn stream_names(&self) -> Vec<String> {
        self.server.stream_names()
    }

    /// Stops serving: closes every viewer (1001) and the relay tasks.
    pub async fn close(&self) {
        for (_, s) in lock(&self.shared.streams).drain() {
            s.stop();
        }
        self.server.close().await;
    }
}

/// The options of an edge stream: the origin's, with sharing on (every H.264 viewer on the
/// fed lane) and no adaptive quality (one relayed encode for everyone).
fn stream_options(info: &StreamInfo) -> StreamOptions {
    StreamOptions {
        fps: info.fps,
        bitrate_bps: info.bitrate_bps,
        keyframe_interval: info.keyframe_interval,
        max_inflight: info.max_inflight.max(1),
        image_formats: if info.image_formats.is_empty() {
            rfb_protocol::ImageFormat::ALL.to_vec()
        } else {
            info.image_formats.clone()
        },
        jpeg_quality: info.jpeg_quality.clamp(1, 100),
        still_after: (info.still_after_ms > 0)
            .then(|| Duration::from_millis(u64::from(info.still_after_ms))),
        adaptive: None,
        share_encoders: true,
        ..StreamOptions::default()
    }
}

async fn catalogue_loop(edge: Edge, mut catalogue: async_nats::Subscriber) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut bad = 0u64;
    loop {
        tokio::select! {
            msg = catalogue.next() => {
                let Some(msg) = msg else { return };
                match wire::decode::<Catalogue>(&msg.payload) {
                    Ok(c) => edge.on_catalogue(c).await,
                    Err(err) => {
                        if bad.is_multiple_of(1000) {
                            tracing::warn!("relay: dropped a catalogue ({} so far): {err}", bad + 1);
                        }
                        bad += 1;
                    }
                }
            }
            _ = tick.tick() => {
                if edge.server.inner.is_closed() {
                    return;
                }
                edge.expire().await;
            }
        }
    }
}

impl Edge {
    /// A catalogue arrived: serve its new streams, keep the known ones alive, and start
    /// over the streams whose origin restarted.
    async fn on_catalogue(&self, catalogue: Catalogue) {
        let now = Instant::now();
        let mut restarted = Vec::new();
        {
            let mut streams = lock(&self.shared.streams);
            for info in &catalogue.streams {
                if !info.video || subjects::check_token(&info.name, "stream").is_err() {
                    continue;
                }
                let Some(s) = streams.get_mut(&info.name) else {
                    continue;
                };
                if s.origin() != catalogue.origin {
                    // Stream names are unique within a deployment: the first origin keeps it.
                    s.note_conflict(&catalogue.origin);
                } else if s.instance() != catalogue.instance {
                    restarted.push(info.name.clone());
                } else {
                    s.seen(now);
                }
            }
        }
        for name in restarted {
            // A new origin process is a new stream: its numbering, encoder and frame
            // counter started over. Viewers are closed with 4410 and reconnect at once.
            tracing::info!(stream = %name, origin = %catalogue.origin, "relay: the stream's origin restarted; starting the stream over");
            self.drop_stream(&name).await;
        }
        let mut streams = lock(&self.shared.streams);
        for info in catalogue.streams {
            if !info.video
                || subjects::check_token(&info.name, "stream").is_err()
                || streams.contains_key(&info.name)
            {
                continue;
            }
            let display = match self.server.add_stream(
                &info.name,
                info.width.max(2),
                info.height.max(2),
                stream_options(&info),
            ) {
                Ok(display) => display,
                Err(err) => {
                    tracing::warn!(stream = %info.name, "relay: cannot serve a relayed stream: {err}");
                    continue;
                }
            };
            tracing::info!(stream = %info.name, origin = %catalogue.origin, "relay: serving a stream");
            let s = stream::EdgeStream::start(
                self.shared.clone(),
                display,
                &catalogue.origin,
                catalogue.instance,
                &info,
            );
            streams.insert(info.name.clone(), s);
        }
    }

    /// Stops feeding a stream and removes it, closing its viewers with 4410.
    async fn drop_stream(&self, name: &str) {
        if let Some(s) = lock(&self.shared.streams).remove(name) {
            s.stop();
        }
        self.server.remove_stream(name).await;
    }

    /// Removes streams whose origin stopped announcing them.
    async fn expire(&self) {
        let gone: Vec<String> = lock(&self.shared.streams)
            .iter()
            .filter(|(_, s)| s.last_seen().elapsed() > self.shared.options.origin_grace())
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            tracing::info!(stream = %name, "relay: the stream's origin is gone; closing its viewers (4410)");
            self.drop_stream(&name).await;
        }
    }
}
