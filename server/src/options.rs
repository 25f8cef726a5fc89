//! Server and stream options, with the defaults `serve()` uses.

use std::path::PathBuf;
use std::time::Duration;

use rfb_protocol::ImageFormat;

use crate::adaptive::AdaptiveConfig;
use crate::auth::{Authenticate, OriginPolicy, Role};
use crate::encode::{Content, EncoderRegistry};
use crate::limits::Limits;
use crate::sizing::ResizePolicy;

/// Options of the server (listener, limits, side channel) and the default options of the
/// streams it hosts.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Interface to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one (read it back with `Display::port`).
    pub port: u16,
    /// Defaults for every stream (each `add_stream` may override them).
    pub stream: StreamOptions,
    /// How long a connection may take to send `Hello` before it is closed (4408).
    pub hello_timeout: Duration,
    /// A folder to serve the demo page and its files from, at `/`. `None`: the copy
    /// embedded in the binary at build time (feature `assets`, see
    /// [`ServeOptions::embedded_assets`]).
    pub web_dir: Option<PathBuf>,
    /// A folder to serve the built viewer package from, at `/pkg/`. `None`: the embedded
    /// copy.
    pub pkg_dir: Option<PathBuf>,
    /// Serve the demo page and viewer package embedded in the binary where `web_dir` /
    /// `pkg_dir` are `None` (default `true`; without the `assets` feature nothing is
    /// embedded). `false` serves no page at all unless a folder is given.
    pub embedded_assets: bool,
    /// Keep received input for `GET /recorded-events` (bounded, see `event_tap`).
    pub record_events: bool,
    /// Append every received input event to this file as a JSON line.
    pub event_log: Option<PathBuf>,
    /// Called once per connection after `Hello`; `None` accepts everyone.
    pub authenticate: Option<Authenticate>,
    /// Which page origins may connect (see [`OriginPolicy`]).
    pub origins: OriginPolicy,
    /// Host names this server answers to besides loopback, its own addresses and `host`
    /// (see [`crate::access::host`]): `viewer.example.com`, `.example.com` for a domain and
    /// its subdomains, `*` for any. Requests naming another `Host` get HTTP 403.
    pub allowed_hosts: Vec<String>,
    /// The role of viewers when no authentication hook decides (no hook at all).
    pub default_role: Role,
    /// Resource limits (see [`crate::limits`]).
    pub limits: Limits,
    /// Send each viewer a heartbeat when nothing else was sent for this long, so a viewer
    /// can tell a still stream from a dead link (`None`: never).
    pub heartbeat_interval: Option<Duration>,
    /// With heartbeats on, a viewer that sends nothing at all (no ACK, input or heartbeat
    /// answer) for this long is closed with 4409: a laptop that went to sleep leaves a
    /// half-open connection that would otherwise hold a session for ever.
    pub viewer_timeout: Duration,
    /// Publish this server's streams to edge servers over NATS (see [`crate::relay`]);
    /// `None`: no relay. Only `serve_server`/`serve` start it (not `Server::embedded`).
    #[cfg(feature = "relay")]
    pub relay: Option<crate::relay::RelayOptions>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: "127.0.0.1".to_string(),
            port: 8765,
            stream: StreamOptions::default(),
            hello_timeout: Duration::from_secs(10),
            web_dir: None,
            pkg_dir: None,
            embedded_assets: true,
            record_events: false,
            event_log: None,
            authenticate: None,
            origins: OriginPolicy::SameHost,
            allowed_hosts: Vec::new(),
            default_role: Role::Control,
            limits: Limits::default(),
            heartbeat_interval: Some(Duration::from_secs(2)),
            viewer_timeout: Duration::from_secs(15),
            #[cfg(feature = "relay")]
            relay: None,
        }
    }
}

/// Encoding and flow-control options of one stream.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Expected publish rate: encoder rate control and IDR cadence (you set the real rate).
    pub fps: f32,
    /// H.264 target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Periodic IDR interval in frames (0 = only on demand).
    pub keyframe_interval: u32,
    /// Most un-acknowledged frames per viewer.
    pub max_inflight: u8,
    /// Next frame after a drop is a keyframe (see `session::flow`).
    pub keyframe_after_drop: bool,
    /// Never use H.264, even for viewers that decode it.
    pub force_image: bool,
    /// Image formats in order of preference.
    pub image_formats: Vec<ImageFormat>,
    /// JPEG quality, 1..=100.
    pub jpeg_quality: u8,
    /// H.264 encoder threads (0 = the encoder decides).
    pub encoder_threads: u16,
    /// What the frames show, which tunes the H.264 encoder (see [`Content`]; default
    /// [`Content::Rendered`]).
    pub content: Content,
    /// H.264 temporal layers of shared encodes (lanes): 2 (the default) puts every other
    /// access unit on a layer nothing references, so a viewer that falls behind skips
    /// those instead of needing a keyframe; 1 turns that off. A viewer's private encoder
    /// always uses 1 (it drops frames before encoding instead).
    pub temporal_layers: u8,
    /// The encoders available to this stream.
    pub encoders: EncoderRegistry,
    /// Who owns the frame size (see [`ResizePolicy`]).
    pub resize_policy: ResizePolicy,
    /// The largest side `Display::target_size()` suggests under `MatchClient`.
    pub max_render_dimension: u32,
    /// Push a `Stats` message to each viewer this often (`None`: never).
    pub stats_interval: Option<Duration>,
    /// When the oldest un-ACKed frame is older than this, the session stops waiting:
    /// it clears the in-flight window and resyncs with a keyframe.
    pub inflight_timeout: Duration,
    /// Once nothing new has been published for this long, send each viewer a
    /// high-quality still of the resting frame (lossless PNG on the image path).
    pub still_after: Option<Duration>,
    /// Adapt each viewer's quality to its congestion (`None`: fixed quality).
    pub adaptive: Option<AdaptiveConfig>,
    /// Viewers with the same encoding share one encode of each frame (see `fanout`).
    pub share_encoders: bool,
    /// This stream's authentication hook, overriding the server's.
    pub authenticate: Option<Authenticate>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            fps: 30.0,
            bitrate_bps: 8_000_000,
            keyframe_interval: 240,
            max_inflight: 2,
            keyframe_after_drop: true,
            force_image: false,
            image_formats: ImageFormat::ALL.to_vec(),
            jpeg_quality: 80,
            encoder_threads: 1,
            content: Content::Rendered,
            temporal_layers: 2,
            encoders: EncoderRegistry::default(),
            resize_policy: ResizePolicy::Publisher,
            max_render_dimension: 3840,
            stats_interval: None,
            inflight_timeout: Duration::from_secs(2),
            still_after: None,
            adaptive: None,
            share_encoders: true,
            authenticate: None,
        }
    }
}

impl StreamOptions {
    /// True when this stream can stream H.264 to a viewer that decodes it.
    pub fn video_enabled(&self) -> bool {
        !self.force_image && self.encoders.has_video()
    }
}
