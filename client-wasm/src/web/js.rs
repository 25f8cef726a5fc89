//! Plain JS objects the view hands out: the stats and the server's measurements.

use js_sys::{Object, Reflect};
use rfb_protocol::ServerStats;
use wasm_bindgen::JsValue;

use super::core::CoreStats;
use crate::policy::InFlight;
use crate::server_report::ServerReport;

/// `{ key: value, ... }`.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let out = Object::new();
    for (key, value) in pairs {
        // Defining a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&out, &JsValue::from_str(key), value);
    }
    out.into()
}

/// A sequence number as a JS number (exact below 2^53), `null` when absent.
fn seq(value: Option<u64>) -> JsValue {
    value.map_or(JsValue::NULL, |v| JsValue::from_f64(v as f64))
}

/// A number, `null` when absent.
fn num(value: Option<f64>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_f64)
}

/// The `ViewerStats` object: the core's counters, `frame` (the frame on screen) and what the
/// server reported (`server*` from its last `Stats`, `target*` from `Stats` or `SetQuality`).
pub fn stats_object(core: &CoreStats, frame: Option<&InFlight>, server: &ServerReport) -> JsValue {
    let c = &core.counters;
    let frame_field = |f: fn(&InFlight) -> JsValue| frame.map_or(JsValue::NULL, f);
    let s = server.stats.as_ref();
    let stat = |f: fn(&ServerStats) -> f64| num(s.map(f));
    let t = server.target.as_ref();
    object(&[
        (
            "transport",
            core.transport.map_or(JsValue::NULL, JsValue::from_str),
        ),
        (
            "framesDisplayed",
            JsValue::from_f64(c.frames_displayed as f64),
        ),
        ("framesDropped", JsValue::from_f64(c.frames_dropped as f64)),
        ("lastDisplayedSeq", seq(c.last_displayed_seq)),
        ("lastFrameSeq", seq(c.last_frame_seq)),
        ("decodeQueueSize", JsValue::from(c.decode_queue_size)),
        ("frameWidth", frame_field(|f| JsValue::from(f.width))),
        ("frameHeight", frame_field(|f| JsValue::from(f.height))),
        ("pixelRatio", frame_field(|f| JsValue::from(f.pixel_ratio))),
        (
            "colorSpace",
            frame_field(|f| JsValue::from_str(f.color.canvas_color_space())),
        ),
        (
            "format",
            core.shown_format.map_or(JsValue::NULL, JsValue::from_str),
        ),
        ("stills", JsValue::from_f64(core.stills as f64)),
        (
            "decoderResets",
            JsValue::from_f64(core.decoder_resets as f64),
        ),
        ("serverRttMs", stat(|s| f64::from(s.rtt_ms))),
        ("serverFpsSent", stat(|s| f64::from(s.fps_sent))),
        ("serverFpsAcked", stat(|s| f64::from(s.fps_acked))),
        ("serverBitrateBps", stat(|s| s.bitrate_bps)),
        ("serverEncodeMs", stat(|s| f64::from(s.encode_ms))),
        ("serverDropped", stat(|s| s.frames_dropped as f64)),
        ("serverKeyframes", stat(|s| s.keyframes_sent as f64)),
        ("serverInflight", stat(|s| f64::from(s.inflight))),
        ("targetBitrate", num(t.map(|t| t.bitrate_bps as f64))),
        ("targetFps", num(t.map(|t| f64::from(t.fps)))),
        (
            "targetMaxInflight",
            num(t.and_then(|t| t.max_inflight).map(f64::from)),
        ),
        (
            "targetJpegQuality",
            num(t.and_then(|t| t.jpeg_quality).map(f64::from)),
        ),
        (
            "qualityChanges",
            JsValue::from_f64(f64::from(server.quality_changes)),
        ),
        (
            "role",
            server
                .role
                .map_or(JsValue::NULL, |r| JsValue::from_str(r.name())),
        ),
    ])
}

/// The `StatsTiming` object: the viewer's mean receive-to-display time over the last
/// interval and the server's last `Stats` (each `null` when there is none).
pub fn timing_object(receive_to_display_ms: Option<f64>, server: Option<&ServerStats>) -> JsValue {
    object(&[
        (
            "receiveToDisplayMs",
            receive_to_display_ms.map_or(JsValue::NULL, JsValue::from_f64),
        ),
        ("server", server.map_or(JsValue::NULL, server_stats_object)),
    ])
}

/// The `ServerStatsReport` object (the server's last `Stats` message).
fn server_stats_object(s: &ServerStats) -> JsValue {
    object(&[
        ("rttMs", JsValue::from(s.rtt_ms)),
        ("fpsSent", JsValue::from(s.fps_sent)),
        ("fpsAcked", JsValue::from(s.fps_acked)),
        ("bitrateBps", JsValue::from(s.bitrate_bps)),
        ("encodeMs", JsValue::from(s.encode_ms)),
        ("framesDropped", JsValue::from_f64(s.frames_dropped as f64)),
        ("keyframesSent", JsValue::from_f64(s.keyframes_sent as f64)),
        ("inflight", JsValue::from(s.inflight)),
        (
            "targetBitrateBps",
            JsValue::from_f64(s.target_bitrate_bps as f64),
        ),
        ("targetFps", JsValue::from(s.target_fps)),
    ])
}
