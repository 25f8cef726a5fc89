//! The bounds every client message must respect once decoded. [`crate::decode_client`]
//! checks them, so a server never hands a NaN coordinate, a 60 KiB key name or a
//! thousand capability strings to anything else. Each bound is a named constant with its
//! reason; a message outside them is an [`InvalidMessage`] (the server closes with 1002).
//!
//! | field | bound | why |
//! |---|---|---|
//! | `Hello.token` | [`MAX_TOKEN_BYTES`] | long enough for a JWT, short enough to log |
//! | `Hello.capabilities` | [`MAX_CAPABILITIES`] entries of [`MAX_CAPABILITY_BYTES`] | a viewer knows a handful of codecs |
//! | `key`, `code` | [`MAX_KEY_BYTES`] | the longest DOM key names are ~20 bytes |
//! | `text`, `paste` | [`MAX_TEXT_BYTES`] | a page of text; the message itself is capped at 64 KiB |
//! | pointer and wheel `x`, `y` | finite, within ±[`MAX_COORDINATE`] | frame pixels (the server clamps them to the frame) |
//! | wheel `dx`, `dy` | finite, within ±[`MAX_WHEEL_DELTA`] | a page of a huge element is still far below |
//! | `pixel_ratio`, viewport `ratio` | finite, in (0, [`MAX_PIXEL_RATIO`]] | real screens are 1-4 |
//! | viewport `width`, `height` | finite, in [0, [`MAX_COORDINATE`]] | CSS pixels |
//! | viewport `pwidth`, `pheight` | at most [`MAX_VIEWPORT_PIXELS`] | device pixels |
//! | `pressure` | finite, 0..=1 | DOM range |
//! | `tilt_x`, `tilt_y` | finite, -90..=90 | DOM range |
//! | `twist` | finite, 0..=360 | DOM range |
//! | `timestamp` | finite | seconds on the viewer's clock |
//! | `button`, `buttons`, `modifiers` | known bits only | 3 buttons, 4 modifiers |
//! | `Input.id` | any `u64` | only echoed back to the same viewer |
//! | `PhotonReport.samples` | 1..=[`MAX_PHOTON_SAMPLES`] | a report of nothing is not sent |
//! | `PhotonReport.p50_us`, `p95_us` | `p50 <= p95 <=` [`MAX_PHOTON_US`] | input -> photon beyond a minute is not a measurement |
//! | `Ack.timings` | any `u32`s | the server keeps only timings that fit its own send -> ACK round trip (see `rfb::metrics::stages`) |

use crate::input::{InputEvent, KeyInput, PointerInput, TextInput, Viewport, WheelInput};
use crate::messages::{ClientMessage, Hello, PhotonReport};

/// Longest `Hello.token`, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Most capability strings in a `Hello`.
pub const MAX_CAPABILITIES: usize = 32;
/// Longest capability string, in bytes.
pub const MAX_CAPABILITY_BYTES: usize = 64;
/// Longest `key` or `code` of a key event, in bytes.
pub const MAX_KEY_BYTES: usize = 64;
/// Longest text of a `text` or `paste` event (and of a clipboard offer), in bytes.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Largest absolute pointer coordinate or CSS viewport side.
pub const MAX_COORDINATE: f32 = 1.0e6;
/// Largest absolute wheel delta, in pixels.
pub const MAX_WHEEL_DELTA: f32 = 1.0e5;
/// Largest device pixel ratio.
pub const MAX_PIXEL_RATIO: f32 = 64.0;
/// Largest physical viewport side, in device pixels.
pub const MAX_VIEWPORT_PIXELS: u32 = 1 << 16;
/// Largest input -> photon time a [`PhotonReport`] may carry, in microseconds (60 s).
pub const MAX_PHOTON_US: u32 = 60_000_000;
/// Most samples a [`PhotonReport`] may claim.
pub const MAX_PHOTON_SAMPLES: u32 = 65_536;

/// A message that decoded but breaks one of the bounds above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMessage(pub String);

impl core::fmt::Display for InvalidMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "invalid message: {}", self.0)
    }
}

impl std::error::Error for InvalidMessage {}

type Checked = Result<(), InvalidMessage>;

fn fail(what: impl Into<String>) -> Checked {
    Err(InvalidMessage(what.into()))
}

fn finite_within(name: &str, value: f32, min: f32, max: f32) -> Checked {
    if !value.is_finite() {
        return fail(format!("{name} is not a finite number"));
    }
    if value < min || value > max {
        return fail(format!("{name} {value} is outside {min}..={max}"));
    }
    Ok(())
}

fn positive_ratio(name: &str, value: f32) -> Checked {
    finite_within(name, value, 0.0, MAX_PIXEL_RATIO)?;
    if value <= 0.0 {
        return fail(format!("{name} must be positive"));
    }
    Ok(())
}

fn timestamp(value: f64) -> Checked {
    if value.is_finite() {
        Ok(())
    } else {
        fail("timestamp is not a finite number")
    }
}

fn short_text(name: &str, value: &str, max: usize) -> Checked {
    if value.len() > max {
        return fail(format!("{name} of {} bytes exceeds {max}", value.len()));
    }
    Ok(())
}

fn bits(name: &str, value: u8, known: u8) -> Checked {
    if value & !known != 0 {
        return fail(format!("{name} has unknown bits {value:#04x}"));
    }
    Ok(())
}

fn pointer(p: &PointerInput) -> Checked {
    finite_within("x", p.x, -MAX_COORDINATE, MAX_COORDINATE)?;
    finite_within("y", p.y, -MAX_COORDINATE, MAX_COORDINATE)?;
    positive_ratio("pixel_ratio", p.pixel_ratio)?;
    if p.button > 3 {
        return fail(format!("button {} is not 0..=3", p.button));
    }
    bits("buttons", p.buttons.0, 0b111)?;
    bits("modifiers", p.modifiers.0, 0b1111)?;
    finite_within("pressure", p.pressure, 0.0, 1.0)?;
    finite_within("tilt_x", p.tilt_x, -90.0, 90.0)?;
    finite_within("tilt_y", p.tilt_y, -90.0, 90.0)?;
    finite_within("twist", p.twist, 0.0, 360.0)?;
    timestamp(p.timestamp)
}

fn wheel(w: &WheelInput) -> Checked {
    finite_within("x", w.x, -MAX_COORDINATE, MAX_COORDINATE)?;
    finite_within("y", w.y, -MAX_COORDINATE, MAX_COORDINATE)?;
    positive_ratio("pixel_ratio", w.pixel_ratio)?;
    finite_within("dx", w.dx, -MAX_WHEEL_DELTA, MAX_WHEEL_DELTA)?;
    finite_within("dy", w.dy, -MAX_WHEEL_DELTA, MAX_WHEEL_DELTA)?;
    bits("buttons", w.buttons.0, 0b111)?;
    bits("modifiers", w.modifiers.0, 0b1111)?;
    timestamp(w.timestamp)
}

fn key(k: &KeyInput) -> Checked {
    short_text("key", &k.key, MAX_KEY_BYTES)?;
    short_text("code", &k.code, MAX_KEY_BYTES)?;
    bits("modifiers", k.modifiers.0, 0b1111)?;
    timestamp(k.timestamp)
}

fn text(t: &TextInput) -> Checked {
    short_text("text", &t.text, MAX_TEXT_BYTES)?;
    timestamp(t.timestamp)
}

/// Checks a viewport (in `Hello`, `SetViewport` or a `resize` event).
pub fn check_viewport(v: &Viewport) -> Checked {
    finite_within("viewport width", v.width, 0.0, MAX_COORDINATE)?;
    finite_within("viewport height", v.height, 0.0, MAX_COORDINATE)?;
    if v.pwidth > MAX_VIEWPORT_PIXELS || v.pheight > MAX_VIEWPORT_PIXELS {
        return fail(format!(
            "viewport {}x{} device pixels exceeds {MAX_VIEWPORT_PIXELS}",
            v.pwidth, v.pheight
        ));
    }
    positive_ratio("viewport ratio", v.ratio)
}

/// Checks an input event.
pub fn check_input(event: &InputEvent) -> Checked {
    match event {
        InputEvent::PointerMove(p) | InputEvent::PointerDown(p) | InputEvent::PointerUp(p) => {
            pointer(p)
        }
        InputEvent::Wheel(w) => wheel(w),
        InputEvent::KeyDown(k) | InputEvent::KeyUp(k) => key(k),
        InputEvent::Resize(v) => check_viewport(v),
        InputEvent::Text(t) | InputEvent::Paste(t) => text(t),
    }
}

fn hello(h: &Hello) -> Checked {
    if let Some(token) = &h.token {
        short_text("token", token, MAX_TOKEN_BYTES)?;
    }
    if h.capabilities.len() > MAX_CAPABILITIES {
        return fail(format!(
            "{} capabilities exceed {MAX_CAPABILITIES}",
            h.capabilities.len()
        ));
    }
    for cap in &h.capabilities {
        short_text("capability", cap, MAX_CAPABILITY_BYTES)?;
    }
    if let Some(v) = &h.viewport {
        check_viewport(v)?;
    }
    Ok(())
}

/// Checks a [`PhotonReport`]: at least one sample and at most [`MAX_PHOTON_SAMPLES`],
/// `p50 <= p95 <=` [`MAX_PHOTON_US`].
pub fn check_photon(r: &PhotonReport) -> Checked {
    if r.samples == 0 || r.samples > MAX_PHOTON_SAMPLES {
        return fail(format!(
            "photon report of {} samples is outside 1..={MAX_PHOTON_SAMPLES}",
            r.samples
        ));
    }
    if r.p50_us > r.p95_us || r.p95_us > MAX_PHOTON_US {
        return fail(format!(
            "photon report p50 {} us / p95 {} us must satisfy p50 <= p95 <= {MAX_PHOTON_US}",
            r.p50_us, r.p95_us
        ));
    }
    Ok(())
}

/// Checks a decoded client message against every bound of this module.
pub fn check_client(msg: &ClientMessage) -> Checked {
    match msg {
        ClientMessage::Hello(h) => hello(h),
        ClientMessage::Input(input) => check_input(&input.event),
        ClientMessage::PhotonReport(r) => check_photon(r),
        ClientMessage::SetViewport(v) => check_viewport(v),
        ClientMessage::Ack(_)
        | ClientMessage::RequestKeyframe
        | ClientMessage::DecoderReset
        | ClientMessage::Heartbeat => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Buttons, Modifiers, PointerKind};

    fn move_to(x: f32, y: f32) -> PointerInput {
        PointerInput {
            x,
            y,
            inside: true,
            pixel_ratio: 1.0,
            button: 0,
            buttons: Buttons(0),
            modifiers: Modifiers(0),
            pointer_type: PointerKind::Mouse,
            pointer_id: 1,
            timestamp: 1.0,
            pressure: 0.0,
            tilt_x: 0.0,
            tilt_y: 0.0,
            twist: 0.0,
        }
    }

    fn input(event: InputEvent) -> Checked {
        check_client(&ClientMessage::Input(crate::InputMessage::new(1, event)))
    }

    #[test]
    fn ordinary_events_pass() {
        assert_eq!(
            input(InputEvent::PointerMove(move_to(320.0, 240.0))),
            Ok(())
        );
        assert_eq!(input(InputEvent::PointerMove(move_to(-5.0, 1e5))), Ok(()));
    }

    #[test]
    fn non_finite_and_huge_numbers_are_refused() {
        for (x, y) in [(f32::NAN, 1.0), (1.0, f32::INFINITY), (2e6, 0.0)] {
            let err = input(InputEvent::PointerDown(move_to(x, y))).unwrap_err();
            assert!(err.0.contains('x') || err.0.contains('y'), "{err}");
        }
        let wheel = WheelInput {
            x: 1.0,
            y: 1.0,
            inside: true,
            pixel_ratio: 1.0,
            dx: 0.0,
            dy: f32::NAN,
            buttons: Buttons(0),
            modifiers: Modifiers(0),
            timestamp: 0.0,
        };
        assert!(input(InputEvent::Wheel(wheel.clone()))
            .unwrap_err()
            .0
            .contains("dy"));
        let ratio = WheelInput {
            dy: 1.0,
            pixel_ratio: 0.0,
            ..wheel
        };
        assert!(input(InputEvent::Wheel(ratio)).is_err());
    }

    #[test]
    fn long_strings_and_unknown_bits_are_refused() {
        let long = KeyInput {
            key: "k".repeat(MAX_KEY_BYTES + 1),
            code: "KeyK".into(),
            modifiers: Modifiers(0),
            repeat: false,
            timestamp: 0.0,
        };
        assert!(input(InputEvent::KeyDown(long.clone())).is_err());
        let ok = KeyInput {
            key: "k".repeat(MAX_KEY_BYTES),
            ..long.clone()
        };
        assert_eq!(input(InputEvent::KeyDown(ok)), Ok(()));
        let bits = KeyInput {
            key: "k".into(),
            modifiers: Modifiers(0x10),
            ..long
        };
        assert!(input(InputEvent::KeyUp(bits)).is_err());
        let paste = TextInput {
            text: "x".repeat(MAX_TEXT_BYTES + 1),
            timestamp: 0.0,
        };
        assert!(input(InputEvent::Paste(paste)).is_err());
    }

    #[test]
    fn hellos_are_bounded() {
        let hello = |caps: usize, token: usize| {
            check_client(&ClientMessage::Hello(Hello {
                version: crate::PROTOCOL_VERSION,
                capabilities: vec!["image/png".into(); caps],
                token: Some("t".repeat(token)),
                viewport: None,
                max_inflight: None,
            }))
        };
        assert_eq!(hello(3, 10), Ok(()));
        assert!(hello(MAX_CAPABILITIES + 1, 10).is_err());
        assert!(hello(1, MAX_TOKEN_BYTES + 1).is_err());
    }

    #[test]
    fn photon_reports_are_bounded() {
        let report = |samples, p50_us, p95_us| {
            check_client(&ClientMessage::PhotonReport(PhotonReport {
                samples,
                p50_us,
                p95_us,
            }))
        };
        assert_eq!(report(30, 40_000, 55_000), Ok(()));
        assert_eq!(report(1, MAX_PHOTON_US, MAX_PHOTON_US), Ok(()));
        assert!(report(0, 1, 1).is_err(), "no samples");
        assert!(report(MAX_PHOTON_SAMPLES + 1, 1, 1).is_err());
        assert!(report(10, 50_000, 40_000).unwrap_err().0.contains("p50"));
        assert!(report(10, 1, MAX_PHOTON_US + 1).is_err());
        assert!(report(10, u32::MAX, u32::MAX).is_err());
    }

    #[test]
    fn viewports_are_bounded() {
        let v = Viewport {
            width: 800.0,
            height: 600.0,
            pwidth: 1600,
            pheight: 1200,
            ratio: 2.0,
        };
        assert_eq!(check_viewport(&v), Ok(()));
        assert!(check_viewport(&Viewport {
            ratio: f32::NAN,
            ..v
        })
        .is_err());
        assert!(check_viewport(&Viewport {
            pwidth: MAX_VIEWPORT_PIXELS + 1,
            ..v
        })
        .is_err());
        assert!(check_viewport(&Viewport { width: -1.0, ..v }).is_err());
    }
}
