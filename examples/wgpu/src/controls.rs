//! What the viewers' input does to the camera: a left-button drag orbits it around the
//! scene, the wheel moves it nearer or farther, `r` puts it back.
//!
//! Plain state fed [`InputEvent`]s, no GPU and no sockets, so every rule is unit-tested.
//! Coordinates arrive in frame pixels (the viewer maps its fit and DPR); a drag is divided
//! by the event's `pixel_ratio`, so the same hand movement turns the scene as far on a
//! HiDPI screen as on a plain one.

use rfb_protocol::InputEvent;

/// Radians of orbit per CSS pixel dragged.
pub const RADIANS_PER_PIXEL: f32 = 0.01;
/// The camera never goes over the poles (radians above or below the horizon).
pub const MAX_PITCH: f32 = 1.4;
/// The wheel scales the distance by `exp(dy * ZOOM_PER_PIXEL)` (dy in CSS pixels).
pub const ZOOM_PER_PIXEL: f32 = 0.002;
/// The nearest the camera gets to the centre.
pub const MIN_DISTANCE: f32 = 2.0;
/// The farthest the camera gets from the centre.
pub const MAX_DISTANCE: f32 = 12.0;

/// Where the camera is: angles around the scene's centre and the distance from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orbit {
    /// Angle around the vertical axis, radians.
    pub yaw: f32,
    /// Angle above the horizon, radians, within ±[`MAX_PITCH`].
    pub pitch: f32,
    /// Distance from the centre, within [`MIN_DISTANCE`]..=[`MAX_DISTANCE`].
    pub distance: f32,
}

impl Default for Orbit {
    fn default() -> Orbit {
        Orbit {
            yaw: 0.0,
            pitch: 0.35,
            distance: 4.2,
        }
    }
}

impl Orbit {
    /// The camera position in world space (y up, looking at the origin).
    pub fn eye(&self) -> glam::Vec3 {
        let (sin_yaw, cos_yaw) = self.yaw.sin_cos();
        let (sin_pitch, cos_pitch) = self.pitch.sin_cos();
        glam::Vec3::new(
            self.distance * cos_pitch * sin_yaw,
            self.distance * sin_pitch,
            self.distance * cos_pitch * cos_yaw,
        )
    }
}

/// Turns input events into an [`Orbit`].
#[derive(Debug, Clone, Default)]
pub struct OrbitControls {
    orbit: Orbit,
    /// The pointer holding the left button and where it was last seen (frame pixels).
    drag: Option<(i32, f32, f32)>,
}

impl OrbitControls {
    /// The camera now.
    pub fn orbit(&self) -> Orbit {
        self.orbit
    }

    /// Applies one event; true when the camera moved.
    pub fn apply(&mut self, event: &InputEvent) -> bool {
        let before = self.orbit;
        match event {
            InputEvent::PointerDown(p) if p.button == 1 && p.inside => {
                self.drag = Some((p.pointer_id, p.x, p.y));
            }
            InputEvent::PointerMove(p) => {
                if let Some((id, last_x, last_y)) = self.drag {
                    if id == p.pointer_id {
                        let scale = RADIANS_PER_PIXEL / p.pixel_ratio.max(0.1);
                        self.orbit.yaw -= (p.x - last_x) * scale;
                        self.orbit.pitch = (self.orbit.pitch + (p.y - last_y) * scale)
                            .clamp(-MAX_PITCH, MAX_PITCH);
                        self.drag = Some((id, p.x, p.y));
                    }
                }
            }
            InputEvent::PointerUp(p) if p.button == 1 => self.drag = None,
            InputEvent::Wheel(w) if w.inside => {
                let factor = (w.dy / w.pixel_ratio.max(0.1) * ZOOM_PER_PIXEL).exp();
                self.orbit.distance =
                    (self.orbit.distance * factor).clamp(MIN_DISTANCE, MAX_DISTANCE);
            }
            InputEvent::KeyDown(k) if k.key.eq_ignore_ascii_case("r") => {
                self.orbit = Orbit::default();
                self.drag = None;
            }
            _ => {}
        }
        self.orbit != before
    }
}

#[cfg(test)]
mod tests {
    use rfb_protocol::input::{
        Buttons, KeyInput, Modifiers, PointerInput, PointerKind, WheelInput,
    };

    use super::*;

    fn pointer(x: f32, y: f32, button: u8, held: u8, ratio: f32) -> PointerInput {
        PointerInput {
            x,
            y,
            inside: true,
            pixel_ratio: ratio,
            button,
            buttons: Buttons(held),
            modifiers: Modifiers(0),
            pointer_type: PointerKind::Mouse,
            pointer_id: 1,
            timestamp: 0.0,
            pressure: 0.5,
            tilt_x: 0.0,
            tilt_y: 0.0,
            twist: 0.0,
        }
    }

    fn wheel(dy: f32) -> InputEvent {
        InputEvent::Wheel(WheelInput {
            x: 10.0,
            y: 10.0,
            inside: true,
            pixel_ratio: 1.0,
            dx: 0.0,
            dy,
            buttons: Buttons(0),
            modifiers: Modifiers(0),
            timestamp: 0.0,
        })
    }

    fn drag(controls: &mut OrbitControls, from: (f32, f32), to: (f32, f32), ratio: f32) {
        controls.apply(&InputEvent::PointerDown(pointer(
            from.0, from.1, 1, 1, ratio,
        )));
        controls.apply(&InputEvent::PointerMove(pointer(to.0, to.1, 0, 1, ratio)));
        controls.apply(&InputEvent::PointerUp(pointer(to.0, to.1, 1, 0, ratio)));
    }

    #[test]
    fn a_horizontal_drag_turns_the_yaw_by_the_distance_dragged() {
        let mut controls = OrbitControls::default();
        drag(&mut controls, (100.0, 50.0), (150.0, 50.0), 1.0);
        let orbit = controls.orbit();
        assert!((orbit.yaw - (-0.5)).abs() < 1e-6, "yaw {}", orbit.yaw);
        assert_eq!(orbit.pitch, Orbit::default().pitch);
        assert_eq!(orbit.distance, Orbit::default().distance);
    }

    #[test]
    fn a_drag_on_a_hidpi_screen_turns_as_far_per_css_pixel() {
        let mut plain = OrbitControls::default();
        drag(&mut plain, (0.0, 0.0), (40.0, 0.0), 1.0);
        let mut hidpi = OrbitControls::default();
        drag(&mut hidpi, (0.0, 0.0), (80.0, 0.0), 2.0);
        assert!((plain.orbit().yaw - hidpi.orbit().yaw).abs() < 1e-6);
    }

    #[test]
    fn pitch_stops_short_of_the_poles() {
        let mut controls = OrbitControls::default();
        drag(&mut controls, (0.0, 0.0), (0.0, 10_000.0), 1.0);
        assert_eq!(controls.orbit().pitch, MAX_PITCH);
        drag(&mut controls, (0.0, 10_000.0), (0.0, -10_000.0), 1.0);
        assert_eq!(controls.orbit().pitch, -MAX_PITCH);
    }

    #[test]
    fn moves_without_a_pressed_left_button_do_nothing() {
        let mut controls = OrbitControls::default();
        assert!(!controls.apply(&InputEvent::PointerMove(pointer(9.0, 9.0, 0, 0, 1.0))));
        // A right-button press does not start a drag either.
        controls.apply(&InputEvent::PointerDown(pointer(0.0, 0.0, 2, 2, 1.0)));
        assert!(!controls.apply(&InputEvent::PointerMove(pointer(50.0, 0.0, 0, 2, 1.0))));
        // After the left button is released, moving stops turning.
        drag(&mut controls, (0.0, 0.0), (10.0, 0.0), 1.0);
        assert!(!controls.apply(&InputEvent::PointerMove(pointer(90.0, 0.0, 0, 0, 1.0))));
    }

    #[test]
    fn wheel_down_moves_away_wheel_up_moves_closer_within_limits() {
        let mut controls = OrbitControls::default();
        let start = controls.orbit().distance;
        assert!(controls.apply(&wheel(100.0)));
        assert!(controls.orbit().distance > start);
        assert!(controls.apply(&wheel(-200.0)));
        assert!(controls.orbit().distance < start);
        controls.apply(&wheel(-1.0e6));
        assert_eq!(controls.orbit().distance, MIN_DISTANCE);
        controls.apply(&wheel(1.0e6));
        assert_eq!(controls.orbit().distance, MAX_DISTANCE);
    }

    #[test]
    fn r_resets_the_camera() {
        let mut controls = OrbitControls::default();
        drag(&mut controls, (0.0, 0.0), (30.0, 20.0), 1.0);
        assert_ne!(controls.orbit(), Orbit::default());
        let key = KeyInput {
            key: "r".to_string(),
            code: "KeyR".to_string(),
            modifiers: Modifiers(0),
            repeat: false,
            timestamp: 0.0,
        };
        assert!(controls.apply(&InputEvent::KeyDown(key)));
        assert_eq!(controls.orbit(), Orbit::default());
    }

    #[test]
    fn the_eye_is_at_the_orbit_distance() {
        let orbit = Orbit {
            yaw: 1.0,
            pitch: -0.4,
            distance: 5.0,
        };
        assert!((orbit.eye().length() - 5.0).abs() < 1e-5);
        let front = Orbit {
            yaw: 0.0,
            pitch: 0.0,
            distance: 3.0,
        };
        assert!((front.eye() - glam::Vec3::new(0.0, 0.0, 3.0)).length() < 1e-6);
    }
}
