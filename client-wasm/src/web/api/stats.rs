//! What the views report: `stats()`, the second argument of `onStats`, `capture()`.

use js_sys::Uint8ClampedArray;
use rfb_protocol::{ColorPrimaries, ColorSpace, Role, ServerStats};
use serde::{Deserialize, Serialize};
use tsify::Tsify;

use crate::policy::InFlight;
use crate::server_report::ServerReport;
use crate::web::core::CoreStats;

/// The colour space of a canvas (and of the frame on it).
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CanvasColorSpace {
    /// sRGB.
    Srgb,
    /// Display P3.
    DisplayP3,
}

impl From<ColorSpace> for CanvasColorSpace {
    fn from(color: ColorSpace) -> Self {
        match color.primaries {
            ColorPrimaries::Bt709 => CanvasColorSpace::Srgb,
            ColorPrimaries::DisplayP3 => CanvasColorSpace::DisplayP3,
        }
    }
}

/// What a viewer may do, as the server said.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// Input, resize and paste reach the app.
    Control,
    /// The viewer sends none.
    View,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Control => RoleName::Control,
            Role::View => RoleName::View,
        }
    }
}

/// What `stats()` returns.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct ViewerStats {
    /// Negotiated transport (`h264`, `jpeg`, `png`, `webp`), null before negotiation.
    pub transport: Option<String>,
    /// Frames drawn on the canvas.
    pub frames_displayed: u64,
    /// Frames received but never drawn.
    pub frames_dropped: u64,
    /// Session sequence number of the frame on screen.
    pub last_displayed_seq: Option<u64>,
    /// Publish counter of the frame on screen.
    pub last_frame_seq: Option<u64>,
    /// Frames handed to a decoder and not yet displayed or dropped.
    pub decode_queue_size: u32,
    /// Width of the frame on screen in pixels, null before the first frame.
    pub frame_width: Option<u32>,
    /// Height of the frame on screen in pixels, null before the first frame.
    pub frame_height: Option<u32>,
    /// Render device pixel ratio the frame on screen is tagged with.
    pub pixel_ratio: Option<f32>,
    /// Colour space of the frame on screen (and of the canvas).
    pub color_space: Option<CanvasColorSpace>,
    /// How the frame on screen was encoded (`h264`, `jpeg`, `png`, `webp`): a lossless
    /// still on a JPEG stream reads `png`.
    pub format: Option<String>,
    /// Image frames drawn in another format than the stream's (the server's stills).
    pub stills: u64,
    /// Video decoders rebuilt after an error or a stall (each sent `DecoderReset`).
    pub decoder_resets: u64,
    /// From the server's last `Stats` (null until one arrives, i.e. without
    /// `stats_interval`): mean ACK round trip (send -> displayed), ms.
    pub server_rtt_ms: Option<f32>,
    /// Frames per second the server sent, recent window.
    pub server_fps_sent: Option<f32>,
    /// Frames per second the server saw acknowledged, recent window.
    pub server_fps_acked: Option<f32>,
    /// Payload bits per second the server sent, recent window.
    pub server_bitrate_bps: Option<f64>,
    /// Mean encode time, ms.
    pub server_encode_ms: Option<f32>,
    /// Published frames the server never sent this viewer.
    pub server_dropped: Option<u64>,
    /// Keyframes the server sent this viewer.
    pub server_keyframes: Option<u64>,
    /// Frames in flight at the server.
    pub server_inflight: Option<u32>,
    /// The server's current target bitrate (bits/s), from `Stats` or the adaptive
    /// controller's `SetQuality`, whichever came last.
    pub target_bitrate: Option<u64>,
    /// The server's current target frame rate, from `Stats` or `SetQuality`.
    pub target_fps: Option<f32>,
    /// In-flight ceiling of the last `SetQuality` (null before one).
    pub target_max_inflight: Option<u8>,
    /// JPEG quality of the last `SetQuality` (null before one).
    pub target_jpeg_quality: Option<u8>,
    /// `SetQuality` messages received.
    pub quality_changes: u32,
    /// What this viewer may do, as the server said: `control` (input, resize and paste
    /// reach the app) or `view` (the viewer sends none); null before the server said.
    pub role: Option<RoleName>,
}

impl ViewerStats {
    /// The core's counters, `frame` (the frame on screen) and what the server reported
    /// (`server*` from its last `Stats`, `target*` from `Stats` or `SetQuality`).
    pub fn new(core: &CoreStats, frame: Option<&InFlight>, server: &ServerReport) -> Self {
        let c = &core.counters;
        let s = server.stats.as_ref();
        let t = server.target.as_ref();
        ViewerStats {
            transport: core.transport.map(str::to_string),
            frames_displayed: c.frames_displayed,
            frames_dropped: c.frames_dropped,
            last_displayed_seq: c.last_displayed_seq,
            last_frame_seq: c.last_frame_seq,
            decode_queue_size: c.decode_queue_size,
            frame_width: frame.map(|f| f.width),
            frame_height: frame.map(|f| f.height),
            pixel_ratio: frame.map(|f| f.pixel_ratio),
            color_space: frame.map(|f| f.color.into()),
            format: core.shown_format.map(str::to_string),
            stills: core.stills,
            decoder_resets: core.decoder_resets,
            server_rtt_ms: s.map(|s| s.rtt_ms),
            server_fps_sent: s.map(|s| s.fps_sent),
            server_fps_acked: s.map(|s| s.fps_acked),
            server_bitrate_bps: s.map(|s| s.bitrate_bps),
            server_encode_ms: s.map(|s| s.encode_ms),
            server_dropped: s.map(|s| s.frames_dropped),
            server_keyframes: s.map(|s| s.keyframes_sent),
            server_inflight: s.map(|s| s.inflight),
            target_bitrate: t.map(|t| t.bitrate_bps),
            target_fps: t.map(|t| t.fps),
            target_max_inflight: t.and_then(|t| t.max_inflight),
            target_jpeg_quality: t.and_then(|t| t.jpeg_quality),
            quality_changes: server.quality_changes,
            role: server.role.map(Into::into),
        }
    }

    /// True unless the server said this viewer only watches.
    pub fn may_control(&self) -> bool {
        self.role != Some(RoleName::View)
    }
}

/// The server's last `Stats` message.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatsReport {
    /// Mean ACK round trip (sent -> displayed), ms.
    pub rtt_ms: f32,
    /// Frames sent per second, recent window.
    pub fps_sent: f32,
    /// Frames acknowledged per second, recent window.
    pub fps_acked: f32,
    /// Payload bits per second, recent window.
    pub bitrate_bps: f64,
    /// Mean encode time, ms.
    pub encode_ms: f32,
    /// Frames dropped for this viewer so far.
    pub frames_dropped: u64,
    /// Keyframes sent so far.
    pub keyframes_sent: u64,
    /// Frames in flight now.
    pub inflight: u32,
    /// The encoder's target bitrate, bits/s.
    pub target_bitrate_bps: u64,
    /// The target frame rate.
    pub target_fps: f32,
}

impl From<&ServerStats> for ServerStatsReport {
    fn from(s: &ServerStats) -> Self {
        ServerStatsReport {
            rtt_ms: s.rtt_ms,
            fps_sent: s.fps_sent,
            fps_acked: s.fps_acked,
            bitrate_bps: s.bitrate_bps,
            encode_ms: s.encode_ms,
            frames_dropped: s.frames_dropped,
            keyframes_sent: s.keyframes_sent,
            inflight: s.inflight,
            target_bitrate_bps: s.target_bitrate_bps,
            target_fps: s.target_fps,
        }
    }
}

/// The second argument of `onStats`.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct StatsTiming {
    /// Mean time from receiving a frame to drawing it over the last second (ms), null if
    /// none was drawn.
    pub receive_to_display_ms: Option<f64>,
    /// The server's last `Stats` message, null until one arrives.
    pub server: Option<ServerStatsReport>,
}

impl StatsTiming {
    /// The viewer's mean receive-to-display time over the last interval and the server's
    /// last `Stats`.
    pub fn new(receive_to_display_ms: Option<f64>, server: Option<&ServerStats>) -> Self {
        StatsTiming {
            receive_to_display_ms,
            server: server.map(Into::into),
        }
    }
}

/// What `capture()` returns: the canvas backing store as RGBA bytes.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct CaptureResult {
    /// Backing-store width in pixels.
    pub width: u32,
    /// Backing-store height in pixels.
    pub height: u32,
    /// The canvas's colour space (the bytes are in it); null before the first frame.
    pub color_space: Option<CanvasColorSpace>,
    /// RGBA, row by row, in `colorSpace` (backed by its own `ArrayBuffer`, so it makes an
    /// `ImageData` as it is).
    #[tsify(type = "Uint8ClampedArray<ArrayBuffer>")]
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub data: Uint8ClampedArray,
    /// The stats of exactly the frame in `data`.
    pub stats: ViewerStats,
}

impl CaptureResult {
    /// The pixels of `canvas` with `stats`, the stats of the frame they show.
    pub fn new(canvas: crate::web::surface::CanvasCapture, stats: ViewerStats) -> Self {
        CaptureResult {
            width: canvas.width,
            height: canvas.height,
            color_space: canvas.color_space,
            data: canvas.data,
            stats,
        }
    }
}
