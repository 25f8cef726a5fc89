//! Input events as JSON in the renderview shape (the reference's vocabulary), for
//! `GET /recorded-events`, `--event-log` and logs.
//!
//! ```json
//! {"type": "pointer_down", "x": 320.0, "y": 240.0, "inside": true, "pixel_ratio": 2.0,
//!  "button": 1, "buttons": [1], "modifiers": ["Shift"], "pointer_type": "mouse",
//!  "pointer_id": 1, "timestamp": 12.5, "pressure": 0.5, "tilt_x": 0.0, "tilt_y": 0.0,
//!  "twist": 0.0}
//! {"type": "wheel", "x": .., "y": .., "dx": 0.0, "dy": 120.0, ...}
//! {"type": "key_down", "key": "a", "code": "KeyA", "modifiers": [], "repeat": false, ...}
//! {"type": "resize", "width": 800.0, "height": 600.0, "pwidth": 1600, "pheight": 1200, "ratio": 2.0}
//! {"type": "paste", "text": "hello", "timestamp": 14.0}
//! ```

use rfb_protocol::input::{KeyInput, PointerInput, TextInput, WheelInput};
use rfb_protocol::{InputEvent as Event, Viewport};
use serde_json::{json, Value};

use crate::events::InputEvent;

fn pointer(kind: &str, p: &PointerInput) -> Value {
    json!({
        "type": kind,
        "x": p.x,
        "y": p.y,
        "inside": p.inside,
        "pixel_ratio": p.pixel_ratio,
        "button": p.button,
        "buttons": p.buttons.list(),
        "modifiers": p.modifiers.names(),
        "pointer_type": p.pointer_type.name(),
        "pointer_id": p.pointer_id,
        "timestamp": p.timestamp,
        "pressure": p.pressure,
        "tilt_x": p.tilt_x,
        "tilt_y": p.tilt_y,
        "twist": p.twist,
    })
}

fn wheel(w: &WheelInput) -> Value {
    json!({
        "type": "wheel",
        "x": w.x,
        "y": w.y,
        "inside": w.inside,
        "pixel_ratio": w.pixel_ratio,
        "dx": w.dx,
        "dy": w.dy,
        "buttons": w.buttons.list(),
        "modifiers": w.modifiers.names(),
        "timestamp": w.timestamp,
    })
}

fn key(kind: &str, k: &KeyInput) -> Value {
    json!({
        "type": kind,
        "key": k.key,
        "code": k.code,
        "modifiers": k.modifiers.names(),
        "repeat": k.repeat,
        "timestamp": k.timestamp,
    })
}

fn text(kind: &str, t: &TextInput) -> Value {
    json!({
        "type": kind,
        "text": t.text,
        "timestamp": t.timestamp,
    })
}

fn resize(v: &Viewport) -> Value {
    json!({
        "type": "resize",
        "width": v.width,
        "height": v.height,
        "pwidth": v.pwidth,
        "pheight": v.pheight,
        "ratio": v.ratio,
    })
}

/// The event alone, in the renderview shape.
pub fn event_json(event: &Event) -> Value {
    let kind = event.type_name();
    match event {
        Event::PointerMove(p) | Event::PointerDown(p) | Event::PointerUp(p) => pointer(kind, p),
        Event::Wheel(w) => wheel(w),
        Event::KeyDown(k) | Event::KeyUp(k) => key(kind, k),
        Event::Resize(v) => resize(v),
        Event::Text(t) | Event::Paste(t) => text(kind, t),
    }
}

/// The event with who sent it and when: `{"client_id", "stream", "received_us",
/// "input_id", "event"}` (`input_id` null for a resize from a viewport change).
pub fn input_json(stream: &str, event: &InputEvent) -> Value {
    json!({
        "client_id": event.client_id,
        "stream": stream,
        "received_us": event.received_us,
        "input_id": event.input_id,
        "event": event_json(&event.event),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::input::{Buttons, Modifiers, PointerKind};

    #[test]
    fn pointer_events_use_renderview_names_and_lists() {
        let p = PointerInput {
            x: 10.0,
            y: 20.0,
            inside: false,
            pixel_ratio: 2.0,
            button: 2,
            buttons: Buttons(0b011),
            modifiers: Modifiers(Modifiers::SHIFT | Modifiers::CONTROL),
            pointer_type: PointerKind::Pen,
            pointer_id: 7,
            timestamp: 1.5,
            pressure: 0.25,
            tilt_x: -30.0,
            tilt_y: 15.0,
            twist: 90.0,
        };
        let v = event_json(&Event::PointerDown(p));
        assert_eq!(v["type"], "pointer_down");
        assert_eq!(v["buttons"], json!([1, 2]));
        assert_eq!(v["modifiers"], json!(["Shift", "Control"]));
        assert_eq!(v["pointer_type"], "pen");
        assert_eq!(v["inside"], false);
        assert_eq!(v["pressure"], 0.25);
        assert_eq!(v["tilt_x"], -30.0);
    }

    #[test]
    fn resize_carries_logical_and_physical_sizes() {
        let v = event_json(&Event::Resize(Viewport {
            width: 400.0,
            height: 300.0,
            pwidth: 800,
            pheight: 600,
            ratio: 2.0,
        }));
        assert_eq!(
            v,
            json!({"type": "resize", "width": 400.0, "height": 300.0, "pwidth": 800, "pheight": 600, "ratio": 2.0})
        );
    }
}
