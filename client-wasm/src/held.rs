//! What the app believes is held down, so the viewer can let go of it when the browser
//! stops telling: no browser types, so native unit tests cover it.
//!
//! The DOM only reports a key release or a button release to the element that has focus or
//! pointer capture. When focus moves elsewhere (Tab, a click on an `<input>`, Alt-Tab away
//! from the window), the tab is hidden, pointer capture is lost or the browser cancels the
//! pointer, the release goes to someone else or nowhere, and the app would see the key or
//! button held for ever. [`HeldInputs`] follows every event the viewer sends and, when the
//! view loses the input ([`HeldInputs::release_all`]), returns the `key_up` and `pointer_up`
//! events that bring the app back to "nothing held":
//!
//! - keys are released newest first, each `key_up` carrying the modifiers still held after
//!   it (a held Shift is released last and its `key_up` has none);
//! - each held button of each pointer gets a `pointer_up` at the pointer's last position,
//!   with the buttons still held after it.

use rfb_protocol::input::{Buttons, KeyInput, Modifiers, PointerInput};
use rfb_protocol::InputEvent;

/// The modifier bit a key's `code` stands for (`ShiftLeft` -> Shift), if any.
fn modifier_of(code: &str, key: &str) -> u8 {
    let name = if code.is_empty() { key } else { code };
    match name.trim_end_matches("Left").trim_end_matches("Right") {
        "Shift" => Modifiers::SHIFT,
        "Control" => Modifiers::CONTROL,
        "Alt" | "AltGraph" => Modifiers::ALT,
        "Meta" | "OS" => Modifiers::META,
        _ => 0,
    }
}

/// Keys and pointer buttons the app was told are down and not yet told are up.
#[derive(Debug, Default, Clone)]
pub struct HeldInputs {
    /// Held keys in the order they went down.
    keys: Vec<KeyInput>,
    /// Pointers with at least one button held: their last event (position, buttons).
    pointers: Vec<PointerInput>,
}

impl HeldInputs {
    /// An event was sent to the app: update what is held.
    pub fn observe(&mut self, event: &InputEvent) {
        match event {
            InputEvent::KeyDown(k) if !self.keys.iter().any(|h| same_key(h, k)) => {
                self.keys.push(k.clone());
            }
            InputEvent::KeyUp(k) => self.keys.retain(|h| !same_key(h, k)),
            // Only a press starts holding; moves and ups update or end it.
            InputEvent::PointerMove(p) | InputEvent::PointerUp(p)
                if !self.holds_pointer(p.pointer_id) => {}
            InputEvent::PointerDown(p) | InputEvent::PointerMove(p) | InputEvent::PointerUp(p) => {
                let slot = self
                    .pointers
                    .iter()
                    .position(|h| h.pointer_id == p.pointer_id);
                match (slot, p.buttons.0 != 0) {
                    (Some(i), true) => self.pointers[i] = p.clone(),
                    (Some(i), false) => {
                        self.pointers.remove(i);
                    }
                    (None, true) => self.pointers.push(p.clone()),
                    (None, false) => {}
                }
            }
            _ => {}
        }
    }

    /// `event` as the app should get it: `None` for a `pointer_up` of a pointer with
    /// nothing held (it was released already, or pressed outside the view), and a move's
    /// buttons limited to those the app was told are down (a button released for the app
    /// but still physically held does not reappear on moves).
    pub fn filter(&self, event: InputEvent) -> Option<InputEvent> {
        match event {
            InputEvent::PointerUp(p) if !self.holds_pointer(p.pointer_id) => None,
            InputEvent::PointerMove(mut p) => {
                let held = self
                    .pointers
                    .iter()
                    .find(|h| h.pointer_id == p.pointer_id)
                    .map_or(0, |h| h.buttons.0);
                p.buttons = Buttons(p.buttons.0 & held);
                Some(InputEvent::PointerMove(p))
            }
            other => Some(other),
        }
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.pointers.is_empty()
    }

    /// True when a button of `pointer_id` is held.
    pub fn holds_pointer(&self, pointer_id: i32) -> bool {
        self.pointers.iter().any(|p| p.pointer_id == pointer_id)
    }

    /// The view lost the input: the events that release everything held (buttons first,
    /// then keys newest first), stamped `timestamp` seconds. Afterwards nothing is held.
    pub fn release_all(&mut self, timestamp: f64) -> Vec<InputEvent> {
        let mut out = Vec::new();
        for pointer in std::mem::take(&mut self.pointers) {
            out.extend(release_pointer(pointer, timestamp));
        }
        out.extend(self.release_keys(timestamp));
        out
    }

    /// Releases only the buttons of `pointer_id` (its capture was lost or it was
    /// cancelled); keys stay held.
    pub fn release_pointer(&mut self, pointer_id: i32, timestamp: f64) -> Vec<InputEvent> {
        match self
            .pointers
            .iter()
            .position(|p| p.pointer_id == pointer_id)
        {
            Some(i) => release_pointer(self.pointers.remove(i), timestamp),
            None => Vec::new(),
        }
    }

    fn release_keys(&mut self, timestamp: f64) -> Vec<InputEvent> {
        let keys = std::mem::take(&mut self.keys);
        let mut modifiers = keys
            .iter()
            .fold(0u8, |bits, k| bits | modifier_of(&k.code, &k.key));
        keys.into_iter()
            .rev()
            .map(|k| {
                modifiers &= !modifier_of(&k.code, &k.key);
                InputEvent::KeyUp(KeyInput {
                    modifiers: Modifiers(modifiers),
                    repeat: false,
                    timestamp,
                    ..k
                })
            })
            .collect()
    }
}

fn same_key(a: &KeyInput, b: &KeyInput) -> bool {
    if a.code.is_empty() || b.code.is_empty() {
        a.key == b.key
    } else {
        a.code == b.code
    }
}

/// One `pointer_up` per held button of `pointer`, lowest button first.
fn release_pointer(pointer: PointerInput, timestamp: f64) -> Vec<InputEvent> {
    let mut held = pointer.buttons.0;
    pointer
        .buttons
        .list()
        .into_iter()
        .map(|button| {
            held &= !(1 << (button - 1));
            InputEvent::PointerUp(PointerInput {
                button,
                buttons: Buttons(held),
                timestamp,
                pressure: 0.0,
                ..pointer.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::input::PointerKind;

    fn key(down: bool, key: &str, code: &str, modifiers: u8) -> InputEvent {
        let k = KeyInput {
            key: key.into(),
            code: code.into(),
            modifiers: Modifiers(modifiers),
            repeat: false,
            timestamp: 1.0,
        };
        if down {
            InputEvent::KeyDown(k)
        } else {
            InputEvent::KeyUp(k)
        }
    }

    fn pointer(kind: fn(PointerInput) -> InputEvent, id: i32, x: f32, buttons: u8) -> InputEvent {
        kind(PointerInput {
            x,
            y: 10.0,
            inside: true,
            pixel_ratio: 1.0,
            button: 1,
            buttons: Buttons(buttons),
            modifiers: Modifiers::default(),
            pointer_type: PointerKind::Mouse,
            pointer_id: id,
            timestamp: 1.0,
            pressure: 0.5,
            tilt_x: 0.0,
            tilt_y: 0.0,
            twist: 0.0,
        })
    }

    fn summary(events: &[InputEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                InputEvent::KeyUp(k) => format!("key_up {} mods {}", k.code, k.modifiers.0),
                InputEvent::PointerUp(p) => format!(
                    "pointer_up id {} button {} buttons {} at {}",
                    p.pointer_id, p.button, p.buttons.0, p.x
                ),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_held_shift_is_released_with_no_modifier_left() {
        let mut held = HeldInputs::default();
        held.observe(&key(true, "Shift", "ShiftLeft", Modifiers::SHIFT));
        held.observe(&key(true, "A", "KeyA", Modifiers::SHIFT));
        let out = held.release_all(2.0);
        assert_eq!(
            summary(&out),
            ["key_up KeyA mods 1", "key_up ShiftLeft mods 0"]
        );
        assert!(held.is_empty());
        assert!(held.release_all(3.0).is_empty(), "released once only");
        match &out[1] {
            InputEvent::KeyUp(k) => assert_eq!((k.timestamp, k.repeat), (2.0, false)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn released_keys_are_forgotten_and_repeats_counted_once() {
        let mut held = HeldInputs::default();
        held.observe(&key(true, "a", "KeyA", 0));
        held.observe(&key(true, "a", "KeyA", 0)); // auto-repeat
        held.observe(&key(true, "Tab", "Tab", 0));
        held.observe(&key(false, "a", "KeyA", 0));
        assert_eq!(summary(&held.release_all(2.0)), ["key_up Tab mods 0"]);
    }

    #[test]
    fn every_held_button_gets_an_up_at_the_last_position() {
        let mut held = HeldInputs::default();
        held.observe(&pointer(InputEvent::PointerDown, 1, 5.0, 0b001));
        held.observe(&pointer(InputEvent::PointerMove, 1, 40.0, 0b011)); // right added
        held.observe(&pointer(InputEvent::PointerDown, 7, 9.0, 0b001)); // a touch
        held.observe(&pointer(InputEvent::PointerUp, 7, 9.0, 0)); // lifted
        assert!(held.holds_pointer(1) && !held.holds_pointer(7));
        assert_eq!(
            summary(&held.release_all(2.0)),
            [
                "pointer_up id 1 button 1 buttons 2 at 40",
                "pointer_up id 1 button 2 buttons 0 at 40",
            ]
        );
    }

    #[test]
    fn a_lost_pointer_releases_only_its_buttons() {
        let mut held = HeldInputs::default();
        held.observe(&pointer(InputEvent::PointerDown, 1, 5.0, 0b001));
        held.observe(&pointer(InputEvent::PointerDown, 2, 6.0, 0b001));
        held.observe(&key(true, "Control", "ControlLeft", Modifiers::CONTROL));
        assert_eq!(
            summary(&held.release_pointer(2, 2.0)),
            ["pointer_up id 2 button 1 buttons 0 at 6"]
        );
        assert!(held.release_pointer(2, 2.0).is_empty());
        assert_eq!(
            summary(&held.release_all(2.0)),
            [
                "pointer_up id 1 button 1 buttons 0 at 5",
                "key_up ControlLeft mods 0"
            ]
        );
    }

    #[test]
    fn after_a_release_moves_and_the_real_up_do_not_revive_the_button() {
        let mut held = HeldInputs::default();
        held.observe(&pointer(InputEvent::PointerDown, 1, 5.0, 0b010));
        assert_eq!(held.release_pointer(1, 2.0).len(), 1);
        // The button is still physically down: the browser's moves carry it.
        let moved = held
            .filter(pointer(InputEvent::PointerMove, 1, 8.0, 0b010))
            .unwrap();
        match &moved {
            InputEvent::PointerMove(p) => assert_eq!(p.buttons.0, 0),
            other => panic!("{other:?}"),
        }
        held.observe(&moved);
        assert!(held.is_empty());
        assert_eq!(held.filter(pointer(InputEvent::PointerUp, 1, 9.0, 0)), None);
        // A new press is a press again.
        let down = pointer(InputEvent::PointerDown, 1, 9.0, 0b001);
        assert_eq!(held.filter(down.clone()), Some(down));
    }

    #[test]
    fn hover_moves_hold_nothing() {
        let mut held = HeldInputs::default();
        held.observe(&pointer(InputEvent::PointerMove, 1, 5.0, 0));
        assert!(held.is_empty());
    }
}
