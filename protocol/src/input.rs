//! Input events a viewer sends back to the app, in the renderview vocabulary
//! (`pointer_move`, `pointer_down`, `pointer_up`, `wheel`, `key_down`, `key_up`, `resize`).
//!
//! Pointer and wheel coordinates are physical framebuffer pixels (top-left origin) of the
//! frame on screen: the viewer maps them through its fit mode and device pixel ratio with
//! [`crate::fit`], so they index straight into the frame the app published.

use serde::{Deserialize, Serialize};

/// Keyboard modifiers held during an event, as a bit set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Modifiers(pub u8);

impl Modifiers {
    /// Shift.
    pub const SHIFT: u8 = 1;
    /// Control.
    pub const CONTROL: u8 = 2;
    /// Alt / Option.
    pub const ALT: u8 = 4;
    /// Meta / Command / Windows.
    pub const META: u8 = 8;

    const NAMES: [(u8, &'static str); 4] = [
        (Self::SHIFT, "Shift"),
        (Self::CONTROL, "Control"),
        (Self::ALT, "Alt"),
        (Self::META, "Meta"),
    ];

    /// Builds the set from the four DOM flags.
    pub fn from_flags(shift: bool, control: bool, alt: bool, meta: bool) -> Modifiers {
        let mut bits = 0;
        for (on, bit) in [
            (shift, Self::SHIFT),
            (control, Self::CONTROL),
            (alt, Self::ALT),
            (meta, Self::META),
        ] {
            if on {
                bits |= bit;
            }
        }
        Modifiers(bits)
    }

    /// The capitalised names of the held modifiers (`Shift`, `Control`, `Alt`, `Meta`).
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }
}

/// Mouse buttons in renderview numbering: 1 left, 2 right, 3 middle (0 = none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Buttons(pub u8);

impl Buttons {
    /// Builds the set from a DOM `MouseEvent.buttons` mask (1 left, 2 right, 4 middle).
    pub fn from_dom_mask(mask: u16) -> Buttons {
        let mut bits = 0u8;
        for (dom, button) in [(1u16, 1u8), (2, 2), (4, 3)] {
            if mask & dom != 0 {
                bits |= 1 << (button - 1);
            }
        }
        Buttons(bits)
    }

    /// The pressed buttons in renderview numbering, ascending.
    pub fn list(self) -> Vec<u8> {
        (1..=3).filter(|b| self.0 & (1 << (b - 1)) != 0).collect()
    }
}

/// Maps a DOM `MouseEvent.button` (0 left, 1 middle, 2 right) to renderview numbering.
pub fn button_from_dom(dom_button: i16) -> u8 {
    match dom_button {
        0 => 1,
        1 => 3,
        2 => 2,
        _ => 0,
    }
}

/// What produced a pointer event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PointerKind {
    /// A mouse (or trackpad).
    #[default]
    Mouse,
    /// A pen / stylus.
    Pen,
    /// A finger on a touch screen.
    Touch,
}

impl PointerKind {
    /// Parses the DOM `PointerEvent.pointerType`.
    pub fn from_dom(kind: &str) -> PointerKind {
        match kind {
            "pen" => PointerKind::Pen,
            "touch" => PointerKind::Touch,
            _ => PointerKind::Mouse,
        }
    }

    /// The DOM name.
    pub fn name(self) -> &'static str {
        match self {
            PointerKind::Mouse => "mouse",
            PointerKind::Pen => "pen",
            PointerKind::Touch => "touch",
        }
    }
}

/// A pointer move, down or up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointerInput {
    /// Frame x in physical pixels (0..width-1 when inside).
    pub x: f32,
    /// Frame y in physical pixels (0..height-1 when inside).
    pub y: f32,
    /// False when the pointer is over a letterbox bar or the part cropped away by `cover`.
    pub inside: bool,
    /// The render pixel ratio of the frame on screen.
    pub pixel_ratio: f32,
    /// The button that changed: 0 none, 1 left, 2 right, 3 middle.
    pub button: u8,
    /// Buttons held after the event.
    pub buttons: Buttons,
    /// Modifiers held.
    pub modifiers: Modifiers,
    /// Mouse, pen or touch.
    pub pointer_type: PointerKind,
    /// The DOM pointer id (tells touches apart).
    pub pointer_id: i32,
    /// Seconds, from the viewer's clock (`performance.now() / 1000`).
    pub timestamp: f64,
    /// Pen or touch pressure in 0..=1 (DOM `pressure`: 0.5 for a pressed mouse button, 0
    /// when nothing is pressed).
    pub pressure: f32,
    /// Pen tilt along x in degrees, -90..=90 (DOM `tiltX`; 0 for a mouse).
    pub tilt_x: f32,
    /// Pen tilt along y in degrees, -90..=90 (DOM `tiltY`; 0 for a mouse).
    pub tilt_y: f32,
    /// Pen rotation about its axis in degrees, 0..360 (DOM `twist`; 0 for a mouse).
    pub twist: f32,
}

/// A wheel turn, deltas normalised to pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WheelInput {
    /// Frame x of the pointer in physical pixels.
    pub x: f32,
    /// Frame y of the pointer in physical pixels.
    pub y: f32,
    /// False over a letterbox bar or a cropped-away part.
    pub inside: bool,
    /// The render pixel ratio of the frame on screen.
    pub pixel_ratio: f32,
    /// Horizontal scroll in pixels.
    pub dx: f32,
    /// Vertical scroll in pixels (positive = down).
    pub dy: f32,
    /// Buttons held.
    pub buttons: Buttons,
    /// Modifiers held.
    pub modifiers: Modifiers,
    /// Seconds, from the viewer's clock.
    pub timestamp: f64,
}

/// A key press or release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInput {
    /// DOM `KeyboardEvent.key` (`a`, `Enter`, `ArrowLeft`...).
    pub key: String,
    /// DOM `KeyboardEvent.code` (`KeyA`, `Enter`...).
    pub code: String,
    /// Modifiers held.
    pub modifiers: Modifiers,
    /// True for auto-repeat.
    pub repeat: bool,
    /// Seconds, from the viewer's clock.
    pub timestamp: f64,
}

/// Text the viewer's user entered as a whole: committed IME composition (`text`) or a
/// paste (`paste`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextInput {
    /// The text (at most [`crate::limits::MAX_TEXT_BYTES`] bytes).
    pub text: String,
    /// Seconds, from the viewer's clock.
    pub timestamp: f64,
}

/// The viewer's size: logical CSS pixels, physical pixels and their ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Viewport {
    /// Logical (CSS) width.
    pub width: f32,
    /// Logical (CSS) height.
    pub height: f32,
    /// Physical width in device pixels.
    pub pwidth: u32,
    /// Physical height in device pixels.
    pub pheight: u32,
    /// Device pixel ratio.
    pub ratio: f32,
}

/// One input event from a viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InputEvent {
    /// `pointer_move`.
    PointerMove(PointerInput),
    /// `pointer_down`.
    PointerDown(PointerInput),
    /// `pointer_up`.
    PointerUp(PointerInput),
    /// `wheel`.
    Wheel(WheelInput),
    /// `key_down`.
    KeyDown(KeyInput),
    /// `key_up`.
    KeyUp(KeyInput),
    /// `resize`: the viewer's size changed (sent on the wire as `SetViewport`).
    Resize(Viewport),
    /// `text`: text committed by an input method (IME composition, dictation).
    Text(TextInput),
    /// `paste`: text pasted into the focused view.
    Paste(TextInput),
}

impl InputEvent {
    /// The renderview event type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            InputEvent::PointerMove(_) => "pointer_move",
            InputEvent::PointerDown(_) => "pointer_down",
            InputEvent::PointerUp(_) => "pointer_up",
            InputEvent::Wheel(_) => "wheel",
            InputEvent::KeyDown(_) => "key_down",
            InputEvent::KeyUp(_) => "key_up",
            InputEvent::Resize(_) => "resize",
            InputEvent::Text(_) => "text",
            InputEvent::Paste(_) => "paste",
        }
    }

    /// The event's `timestamp` (seconds on the viewer's clock); `None` for `resize`,
    /// which has none.
    pub fn timestamp(&self) -> Option<f64> {
        match self {
            InputEvent::PointerMove(p) | InputEvent::PointerDown(p) | InputEvent::PointerUp(p) => {
                Some(p.timestamp)
            }
            InputEvent::Wheel(w) => Some(w.timestamp),
            InputEvent::KeyDown(k) | InputEvent::KeyUp(k) => Some(k.timestamp),
            InputEvent::Text(t) | InputEvent::Paste(t) => Some(t.timestamp),
            InputEvent::Resize(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_name_in_capitalised_order() {
        let m = Modifiers::from_flags(true, false, true, true);
        assert_eq!(m.names(), vec!["Shift", "Alt", "Meta"]);
        assert!(Modifiers::default().names().is_empty());
    }

    #[test]
    fn dom_buttons_map_to_renderview_numbers() {
        assert_eq!(button_from_dom(0), 1);
        assert_eq!(button_from_dom(1), 3);
        assert_eq!(button_from_dom(2), 2);
        assert_eq!(button_from_dom(3), 0);
        assert_eq!(Buttons::from_dom_mask(1 | 4).list(), vec![1, 3]);
        assert_eq!(Buttons::from_dom_mask(2).list(), vec![2]);
        assert!(Buttons::from_dom_mask(0).list().is_empty());
    }
}
