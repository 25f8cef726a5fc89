//! The constructor's options, validated: [`RemoteFramebufferViewOptions`] (the JS object,
//! typed in `api/options.rs`) -> [`Options`] (ranges checked, defaults filled in).

use js_sys::Function;
use rfb_protocol::{FitMode, Scaling};
use wasm_bindgen::JsValue;

use super::api::{self, ReconnectChoice, RemoteFramebufferViewOptions};
use super::error::ViewerError;
use super::surface::DEFAULT_MAX_BACKING_DIMENSION;
use crate::reconnect::ReconnectPolicy;
use crate::watchdog::DEFAULT_STALL_AFTER_MS;

/// How long a worker view waits for its worker's `ready` by default (ms): loading and
/// compiling the wasm takes well under a second; ten leaves room for a slow device.
pub const DEFAULT_WORKER_READY_MS: f64 = 10_000.0;

/// The default letterbox colour.
pub const DEFAULT_BACKGROUND: &str = "#000000";

/// Validated options (see [`RemoteFramebufferViewOptions`]).
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
    /// Where the frame is scaled to the element.
    pub scaling: Scaling,
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

fn invalid(option: impl Into<String>, reason: impl Into<String>) -> ViewerError {
    ViewerError::Options {
        option: option.into(),
        reason: reason.into(),
    }
}

/// `value` if it is a finite number within `min..=max`.
fn within(
    option: &'static str,
    value: Option<f64>,
    min: f64,
    max: f64,
) -> Result<Option<f64>, ViewerError> {
    match value {
        None => Ok(None),
        Some(n) if n.is_finite() && n >= min && n <= max => Ok(Some(n)),
        Some(_) => Err(invalid(
            option,
            format!("expected a number from {min} to {max}"),
        )),
    }
}

/// `reconnect`: absent or `true` (the defaults), `false` (never), or the settings.
fn reconnect(choice: Option<&ReconnectChoice>) -> Result<Option<ReconnectPolicy>, ViewerError> {
    let tuned = match choice {
        None | Some(ReconnectChoice::Enabled(true)) => return Ok(Some(ReconnectPolicy::default())),
        Some(ReconnectChoice::Enabled(false)) => return Ok(None),
        Some(ReconnectChoice::Tuned(tuned)) => tuned,
    };
    let d = ReconnectPolicy::default();
    let initial_delay_ms = within(
        "reconnect.initialDelayMs",
        tuned.initial_delay_ms,
        0.0,
        3_600_000.0,
    )?
    .unwrap_or(d.initial_delay_ms);
    let policy = ReconnectPolicy {
        initial_delay_ms,
        // Without an explicit cap, a first delay above the default cap raises it.
        max_delay_ms: within("reconnect.maxDelayMs", tuned.max_delay_ms, 0.0, 3_600_000.0)?
            .unwrap_or(d.max_delay_ms.max(initial_delay_ms)),
        factor: within("reconnect.factor", tuned.factor, 1.0, 10.0)?.unwrap_or(d.factor),
        jitter: within("reconnect.jitter", tuned.jitter, 0.0, 1.0)?.unwrap_or(d.jitter),
        max_attempts: within(
            "reconnect.maxAttempts",
            tuned.max_attempts,
            1.0,
            f64::from(u32::MAX),
        )?
        .map(|n| n as u32),
    };
    policy
        .validate()
        .map_err(|reason| invalid("reconnect", reason))?;
    Ok(Some(policy))
}

/// Reads the options object (`undefined` or `null` for all defaults).
pub fn read(value: &JsValue) -> Result<RemoteFramebufferViewOptions, ViewerError> {
    if value.is_undefined() || value.is_null() {
        return Ok(RemoteFramebufferViewOptions::default());
    }
    if !value.is_object() {
        return Err(invalid("options", "expected an object"));
    }
    api::from_js(value.clone()).map_err(|reason| {
        let option = api::culprit::<RemoteFramebufferViewOptions>(value);
        invalid(option.unwrap_or_else(|| "options".into()), reason)
    })
}

impl Options {
    /// Reads and validates `value` (an options object, or `undefined` for all defaults).
    pub fn from_js(value: &JsValue) -> Result<Options, ViewerError> {
        Options::validate(&read(value)?)
    }

    /// Checks the ranges of `raw` and fills in the defaults.
    pub fn validate(raw: &RemoteFramebufferViewOptions) -> Result<Options, ViewerError> {
        let callback = |c: &Option<api::Callback>| c.as_ref().map(|c| c.0.clone());
        Ok(Options {
            url: raw.url.clone(),
            token: raw.token.clone(),
            image_only: raw.image_only.unwrap_or(false),
            max_inflight: within("maxInflight", raw.max_inflight, 1.0, 255.0)?.map(|n| n as u8),
            fit: raw.fit.map_or_else(FitMode::default, Into::into),
            background: raw
                .background
                .clone()
                .unwrap_or_else(|| DEFAULT_BACKGROUND.to_string()),
            scaling: raw.scaling.map_or_else(Scaling::default, Into::into),
            device_pixel_ratio: within("devicePixelRatio", raw.device_pixel_ratio, 0.1, 16.0)?,
            max_backing_dimension: within(
                "maxBackingDimension",
                raw.max_backing_dimension,
                1.0,
                65_535.0,
            )?
            .map_or(DEFAULT_MAX_BACKING_DIMENSION, |n| n as u32),
            input: raw.input.unwrap_or(true),
            debug: raw.debug.unwrap_or(false),
            decoder_stall_ms: within("decoderStallMs", raw.decoder_stall_ms, 100.0, 60_000.0)?
                .unwrap_or(DEFAULT_STALL_AFTER_MS),
            reconnect: reconnect(raw.reconnect.as_ref())?,
            copy_video_frames: raw.copy_video_frames,
            connect_timeout_ms: within(
                "connectTimeoutMs",
                raw.connect_timeout_ms,
                100.0,
                600_000.0,
            )?
            .unwrap_or(crate::liveness::DEFAULT_CONNECT_TIMEOUT_MS),
            worker_ready_ms: within("workerTimeoutMs", raw.worker_timeout_ms, 100.0, 600_000.0)?
                .unwrap_or(DEFAULT_WORKER_READY_MS),
            on_state: callback(&raw.on_state),
            on_stats: callback(&raw.on_stats),
            on_error: callback(&raw.on_error),
            on_clipboard: callback(&raw.on_clipboard),
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn parse(json: &str) -> Result<Options, String> {
        let value = js_sys::JSON::parse(json).unwrap();
        Options::from_js(&value).map_err(|e| e.to_string())
    }

    #[wasm_bindgen_test]
    fn absent_options_take_the_defaults() {
        for value in [
            JsValue::UNDEFINED,
            JsValue::NULL,
            js_sys::Object::new().into(),
        ] {
            let options = Options::from_js(&value).unwrap();
            assert_eq!(options.fit, FitMode::Contain);
            assert_eq!(options.background, DEFAULT_BACKGROUND);
            assert_eq!(options.scaling, Scaling::Css);
            assert!(options.input);
            assert!(!options.image_only);
            assert_eq!(options.reconnect, Some(ReconnectPolicy::default()));
            assert_eq!(options.worker_ready_ms, DEFAULT_WORKER_READY_MS);
        }
    }

    #[wasm_bindgen_test]
    fn given_options_are_read() {
        let options = parse(
            r#"{"url":"ws://h/","fit":"cover","maxInflight":4,"input":false,"imageOnly":true,
                "reconnect":{"initialDelayMs":500,"maxAttempts":3},"copyVideoFrames":false,
                "background":null,"scaling":"canvas"}"#,
        )
        .unwrap();
        assert_eq!(options.url.as_deref(), Some("ws://h/"));
        assert_eq!(options.fit, FitMode::Cover);
        assert_eq!(options.max_inflight, Some(4));
        assert!(!options.input);
        assert!(options.image_only);
        assert_eq!(options.copy_video_frames, Some(false));
        assert_eq!(options.scaling, Scaling::Canvas);
        assert_eq!(options.background, DEFAULT_BACKGROUND, "null is absent");
        let reconnect = options.reconnect.unwrap();
        assert_eq!(reconnect.initial_delay_ms, 500.0);
        assert_eq!(reconnect.max_attempts, Some(3));
        assert_eq!(parse(r#"{"reconnect":false}"#).unwrap().reconnect, None);
    }

    #[wasm_bindgen_test]
    fn a_bad_option_is_refused_by_name() {
        let cases = [
            (
                r#"{"fit":"sideways"}"#,
                "invalid option `fit`: unknown variant `sideways`",
            ),
            (
                r#"{"scaling":"gpu"}"#,
                "invalid option `scaling`: unknown variant `gpu`",
            ),
            (
                r#"{"maxInflight":"4"}"#,
                "invalid option `maxInflight`: invalid type",
            ),
            (
                r#"{"maxInflight":0}"#,
                "invalid option `maxInflight`: expected a number from 1 to 255",
            ),
            (
                r#"{"reconnect":3}"#,
                "invalid option `reconnect`: invalid type",
            ),
            (
                r#"{"reconnect":{"factor":0.5}}"#,
                "invalid option `reconnect.factor`",
            ),
            (
                r#"{"onError":"log"}"#,
                "invalid option `onError`: expected a function",
            ),
            (
                r#"{"url":"ws://h/","debug":"yes"}"#,
                "invalid option `debug`",
            ),
            ("7", "invalid option `options`: expected an object"),
        ];
        for (json, expected) in cases {
            let error = parse(json).unwrap_err();
            assert!(error.starts_with(expected), "{json}: {error}");
        }
    }
}
