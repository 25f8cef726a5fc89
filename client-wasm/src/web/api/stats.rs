//! What the views report: `stats()`, the second argument of `onStats`, `capture()`.

use js_sys::Uint8ClampedArray;
use rfb_protocol::{ColorPrimaries, ColorSpace, Role, ServerStats};
use serde::{Deserialize, Serialize};
use tsify::Tsify;

use crate::policy::InFlight;
use crate::server_report::ServerReport;
use crate::timing::{StageSummary, Summary};
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
    /// Where a frame's time goes, stage by stage (the server's and this viewer's).
    pub stages: StageStats,
    /// Time from an input event to the first drawn frame that reflects it, over the last
    /// 5 s; null until the app answered some input (`FrameMeta::answering` on the server).
    pub input_to_photon: Option<PhotonStats>,
}

/// A frame's way, stage by stage, in milliseconds: publish -> encode start (`queueMs`),
/// the encode (`encodeMs`), encode end -> socket write done (`sendMs`), the network and
/// queues both ways (`networkMs`) are the server's means from its last `Stats` (null
/// without `stats_interval`); arrival -> decoder output (`decodeMs`), decoder output ->
/// drawn (`drawMs`), drawn -> ACK sent (`ackMs`) and their sum arrival -> ACK sent
/// (`receiveToAckMs`) are this viewer's, over the last 5 s (null before a frame was
/// drawn). `decodeMs + drawMs + ackMs = receiveToAckMs`.
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)]
pub struct StageStats {
    /// The server's mean `publish()` -> encode start.
    pub queue_ms: Option<f64>,
    /// The server's mean encode time.
    pub encode_ms: Option<f64>,
    /// The server's mean encode end -> socket write done.
    pub send_ms: Option<f64>,
    /// The server's mean send -> ACK less this viewer's arrival -> ACK.
    pub network_ms: Option<f64>,
    /// Mean arrival -> decoder output.
    pub decode_ms: Option<f64>,
    /// 95th percentile arrival -> decoder output.
    pub decode_p95_ms: Option<f64>,
    /// Mean decoder output -> drawn.
    pub draw_ms: Option<f64>,
    /// 95th percentile decoder output -> drawn.
    pub draw_p95_ms: Option<f64>,
    /// Mean drawn -> ACK sent.
    pub ack_ms: Option<f64>,
    /// Mean arrival -> ACK sent.
    pub receive_to_ack_ms: Option<f64>,
    /// 95th percentile arrival -> ACK sent.
    pub receive_to_ack_p95_ms: Option<f64>,
}

impl StageStats {
    /// The viewer's own stages and the server's from its last `Stats`.
    pub fn new(viewer: &StageSummary, server: Option<&ServerStats>) -> Self {
        let mean = |s: Option<Summary>| s.map(|s| s.mean);
        let p95 = |s: Option<Summary>| s.map(|s| s.p95);
        let ack = match (viewer.receive_to_ack, viewer.decode, viewer.draw) {
            (Some(total), Some(decode), Some(draw)) => {
                Some((total.mean - decode.mean - draw.mean).max(0.0))
            }
            _ => None,
        };
        StageStats {
            queue_ms: server.map(|s| f64::from(s.queue_ms)),
            encode_ms: server.map(|s| f64::from(s.encode_ms)),
            send_ms: server.map(|s| f64::from(s.send_ms)),
            network_ms: server.map(|s| f64::from(s.network_ms)),
            decode_ms: mean(viewer.decode),
            decode_p95_ms: p95(viewer.decode),
            draw_ms: mean(viewer.draw),
            draw_p95_ms: p95(viewer.draw),
            ack_ms: ack,
            receive_to_ack_ms: mean(viewer.receive_to_ack),
            receive_to_ack_p95_ms: p95(viewer.receive_to_ack),
        }
    }
}

/// Input -> photon over the last 5 s: from an input's DOM event to the viewer drawing
/// the first frame the app marked as answering it (milliseconds).
#[derive(Tsify, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhotonStats {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Inputs measured in the window.
    pub samples: u32,
}

impl From<Summary> for PhotonStats {
    fn from(s: Summary) -> Self {
        PhotonStats {
            p50_ms: s.p50,
            p95_ms: s.p95,
            samples: u32::try_from(s.count).unwrap_or(u32::MAX),
        }
    }
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
            stages: StageStats::new(&core.stages, s),
            input_to_photon: core.photon.map(Into::into),
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
    /// Mean `publish()` -> encode start, ms.
    pub queue_ms: f32,
    /// Mean encode end -> socket write done, ms.
    pub send_ms: f32,
    /// Mean network and queue time (send -> ACK less the viewer's arrival -> ACK), ms.
    pub network_ms: f32,
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
            queue_ms: s.queue_ms,
            send_ms: s.send_ms,
            network_ms: s.network_ms,
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
