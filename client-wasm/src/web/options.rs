//! The constructor's options object, read and validated field by field.

use js_sys::{Function, Reflect};
use rfb_protocol::FitMode;
use wasm_bindgen::{JsCast, JsValue};

use super::error::ViewerError;
use super::surface::DEFAULT_MAX_BACKING_DIMENSION;
use crate::reconnect::ReconnectPolicy;
use crate::watchdog::DEFAULT_STALL_AFTER_MS;

/// How long a worker view waits for its worker's `ready` by default (ms): loading and
/// compiling the wasm takes well under a second; ten leaves room for a slow device.
pub const DEFAULT_WORKER_READY_MS: f64 = 10_000.0;

/// The default letterbox colour.
pub const DEFAULT_BACKGROUND: &str = "#000000";

/// Validated options (see `RemoteFramebufferViewOptions` in the TypeScript declarations).
#[derive(Debug, Clone)]
pub struct Options {
    /// WebSocket URL; `ws(s)://<location.host>/` when absent.
    pub url: Option<String>,
    /// Credential sent in `Hello`.
    pub token: Option<String>,
    /// Never advertise H.264.
    pub image_only: bool,
    /// Requested in-flight ceiling (1..=255).
    pub max_inflight: Option<u8>,
    /// Fit mode.
    pub fit: FitMode,
    /// Letterbox colour.
    pub background: String,
    /// Device pixel ratio override.
    pub device_pixel_ratio: Option<f64>,
    /// Cap on either side of the backing store.
    pub max_backing_dimension: u32,
    /// Forward pointer, wheel and key input (false: a view-only viewer).
    pub input: bool,
    /// Log each step to `console.debug`.
    pub debug: bool,
    /// Milliseconds a video decoder may hold chunks without output before the watchdog
    /// rebuilds it.
    pub decoder_stall_ms: f64,
    /// How to reconnect after the connection ends (`None`: never).
    pub reconnect: Option<ReconnectPolicy>,
    /// Convert software-decoded video frames in the viewer rather than the browser
    /// (`None`: the mode's default, on in a worker, off on the main thread).
    pub copy_video_frames: Option<bool>,
    /// Milliseconds from opening the socket to the server's `Config` before the attempt is
    /// given up (and retried).
    pub connect_timeout_ms: f64,
    /// Milliseconds a worker view waits for its worker to start before failing.
    pub worker_ready_ms: f64,
    /// `onState(state)`.
    pub on_state: Option<Function>,
    /// `onStats(stats, serverStats)`.
    pub on_stats: Option<Function>,
    /// `onError(error)`.
    pub on_error: Option<Function>,
    /// `onClipboard(text)`.
    pub on_clipboard: Option<Function>,
}

fn invalid(option: &'static str, reason: impl Into<String>) -> ViewerError {
    ViewerError::Options {
        option,
        reason: reason.into(),
    }
}

struct Reader<'a>(&'a JsValue);

impl Reader<'_> {
    fn get(&self, key: &'static str) -> Result<Option<JsValue>, ViewerError> {
        if self.0.is_undefined() || self.0.is_null() {
            return Ok(None);
        }
        let value = Reflect::get(self.0, &JsValue::from_str(key))
            .map_err(|e| invalid(key, super::error::js_reason(&e)))?;
        Ok((!value.is_undefined() && !value.is_null()).then_some(value))
    }

    fn string(&self, key: &'static str) -> Result<Option<String>, ViewerError> {
        self.get(key)?
            .map(|v| {
                v.as_string()
                    .ok_or_else(|| invalid(key, "expected a string"))
            })
            .transpose()
    }

    fn bool(&self, key: &'static str) -> Result<bool, ViewerError> {
        self.bool_or(key, false)
    }

    fn bool_or(&self, key: &'static str, default: bool) -> Result<bool, ViewerError> {
        Ok(self
            .get(key)?
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| invalid(key, "expected a boolean"))
            })
            .transpose()?
            .unwrap_or(default))
    }

    fn number(&self, key: &'static str, min: f64, max: f64) -> Result<Option<f64>, ViewerError> {
        let Some(value) = self.get(key)? else {
            return Ok(None);
        };
        match value.as_f64() {
            Some(n) if n.is_finite() && n >= min && n <= max => Ok(Some(n)),
            _ => Err(invalid(
                key,
                format!("expected a number from {min} to {max}"),
            )),
        }
    }

    /// `reconnect`: absent or `true` (the defaults), `false` (never), or an object of
    /// `initialDelayMs`, `maxDelayMs`, `factor`, `jitter`, `maxAttempts`.
    fn reconnect(&self) -> Result<Option<ReconnectPolicy>, ViewerError> {
        let Some(value) = self.get("reconnect")? else {
            return Ok(Some(ReconnectPolicy::default()));
        };
        if let Some(on) = value.as_bool() {
            return Ok(on.then(ReconnectPolicy::default));
        }
        if !value.is_object() {
            return Err(invalid("reconnect", "expected a boolean or an object"));
        }
        let r = Reader(&value);
        let d = ReconnectPolicy::default();
        let initial_delay_ms = r
            .number("initialDelayMs", 0.0, 3_600_000.0)?
            .unwrap_or(d.initial_delay_ms);
        let policy = ReconnectPolicy {
            initial_delay_ms,
            // Without an explicit cap, a first delay above the default cap raises it.
            max_delay_ms: r
                .number("maxDelayMs", 0.0, 3_600_000.0)?
                .unwrap_or(d.max_delay_ms.max(initial_delay_ms)),
            factor: r.number("factor", 1.0, 10.0)?.unwrap_or(d.factor),
            jitter: r.number("jitter", 0.0, 1.0)?.unwrap_or(d.jitter),
            max_attempts: r
                .number("maxAttempts", 1.0, f64::from(u32::MAX))?
                .map(|n| n as u32),
        };
        policy
            .validate()
            .map_err(|reason| invalid("reconnect", reason))?;
        Ok(Some(policy))
    }

    fn function(&self, key: &'static str) -> Result<Option<Function>, ViewerError> {
        self.get(key)?
            .map(|v| {
                v.dyn_into::<Function>()
                    .map_err(|_| invalid(key, "expected a function"))
            })
            .transpose()
    }
}

impl Options {
    /// Reads `value` (an options object, or `undefined` for all defaults).
    pub fn from_js(value: &JsValue) -> Result<Options, ViewerError> {
        if !(value.is_undefined() || value.is_null() || value.is_object()) {
            return Err(invalid("options", "expected an object"));
        }
        let r = Reader(value);
        let fit = match r.string("fit")? {
            None => FitMode::default(),
            Some(name) => parse_fit(&name)?,
        };
        Ok(Options {
            url: r.string("url")?,
            token: r.string("token")?,
            image_only: r.bool("imageOnly")?,
            max_inflight: r.number("maxInflight", 1.0, 255.0)?.map(|n| n as u8),
            fit,
            background: r
                .string("background")?
                .unwrap_or_else(|| DEFAULT_BACKGROUND.to_string()),
            device_pixel_ratio: r.number("devicePixelRatio", 0.1, 16.0)?,
            max_backing_dimension: r
                .number("maxBackingDimension", 1.0, 65_535.0)?
                .map_or(DEFAULT_MAX_BACKING_DIMENSION, |n| n as u32),
            input: r.bool_or("input", true)?,
            debug: r.bool("debug")?,
            decoder_stall_ms: r
                .number("decoderStallMs", 100.0, 60_000.0)?
                .unwrap_or(DEFAULT_STALL_AFTER_MS),
            reconnect: r.reconnect()?,
            copy_video_frames: r
                .get("copyVideoFrames")?
                .map(|v| {
                    v.as_bool()
                        .ok_or_else(|| invalid("copyVideoFrames", "expected a boolean"))
                })
                .transpose()?,
            connect_timeout_ms: r
                .number("connectTimeoutMs", 100.0, 600_000.0)?
                .unwrap_or(crate::liveness::DEFAULT_CONNECT_TIMEOUT_MS),
            worker_ready_ms: r
                .number("workerTimeoutMs", 100.0, 600_000.0)?
                .unwrap_or(DEFAULT_WORKER_READY_MS),
            on_state: r.function("onState")?,
            on_stats: r.function("onStats")?,
            on_error: r.function("onError")?,
            on_clipboard: r.function("onClipboard")?,
        })
    }
}

/// Parses a fit mode name.
pub fn parse_fit(name: &str) -> Result<FitMode, ViewerError> {
    FitMode::from_name(name).ok_or_else(|| {
        invalid(
            "fit",
            format!("`{name}` is not one of contain, cover, fill"),
        )
    })
}
