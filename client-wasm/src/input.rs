//! Input mapping and pacing with no browser types, so native unit tests cover it and the
//! DOM glue (`web/input.rs`) only reads event fields and sends what this returns.
//!
//! - A pointer position (CSS pixels relative to the canvas) becomes frame pixels through
//!   the [`ViewGeometry`] the core draws with, so a click lands on the pixel under it
//!   whatever the fit mode, device pixel ratio or backing-store cap.
//! - DOM buttons and modifiers become the renderview numbers and names
//!   ([`button_from_dom`], [`Buttons::from_dom_mask`], [`Modifiers`]).
//! - Wheel deltas in lines or pages become pixels ([`wheel_pixels`]).
//! - Pointer moves are coalesced per animation frame, latest position per pointer wins
//!   ([`MoveCoalescer`]); downs, ups, wheels and keys are sent at once, after flushing the
//!   pending moves so the order the user produced is kept.
//! - The viewport the viewer reports (`Hello`, `SetViewport`) is [`viewport`], sent again
//!   only when it changes ([`ViewportTracker`]).

use rfb_protocol::fit::{backing_size, ViewGeometry};
use rfb_protocol::input::{
    button_from_dom, Buttons, KeyInput, Modifiers, PointerInput, PointerKind, TextInput, WheelInput,
};
use rfb_protocol::limits::MAX_TEXT_BYTES;
use rfb_protocol::{InputEvent, Viewport};

/// Pixels per line for `WheelEvent.deltaMode == DOM_DELTA_LINE` (Firefox with a mouse
/// wheel): 40, the usual normalisation, so three lines per notch give about the 100-120 px
/// Chromium reports in pixel mode.
pub const WHEEL_LINE_PX: f64 = 40.0;

/// `WheelEvent.deltaMode` values.
pub const DOM_DELTA_PIXEL: u32 = 0;
/// Lines.
pub const DOM_DELTA_LINE: u32 = 1;
/// Pages.
pub const DOM_DELTA_PAGE: u32 = 2;

/// The fields of a DOM pointer (or wheel) event the mapping needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PointerSample {
    /// X in CSS pixels from the canvas's left edge.
    pub css_x: f64,
    /// Y in CSS pixels from the canvas's top edge.
    pub css_y: f64,
    /// `MouseEvent.button` (0 left, 1 middle, 2 right; -1 none).
    pub button: i16,
    /// `MouseEvent.buttons` mask (1 left, 2 right, 4 middle).
    pub buttons: u16,
    /// Held modifiers.
    pub modifiers: Modifiers,
    /// Mouse, pen or touch.
    pub pointer_type: PointerKind,
    /// `PointerEvent.pointerId`.
    pub pointer_id: i32,
    /// `Event.timeStamp`, milliseconds on the `performance.now()` clock.
    pub time_stamp_ms: f64,
    /// Pressure, tilt and twist (all zero for a mouse or a wheel).
    pub pen: Pen,
}

/// The pen and touch fields of a DOM `PointerEvent`, clamped to the ranges the protocol
/// accepts (`rfb_protocol::limits`), so an odd browser value never gets this viewer closed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pen {
    /// 0..=1.
    pub pressure: f32,
    /// Degrees, -90..=90.
    pub tilt_x: f32,
    /// Degrees, -90..=90.
    pub tilt_y: f32,
    /// Degrees, 0..=360.
    pub twist: f32,
}

impl Pen {
    /// From `PointerEvent.pressure`, `tiltX`, `tiltY` and `twist`.
    pub fn from_dom(pressure: f32, tilt_x: f64, tilt_y: f64, twist: f64) -> Pen {
        let clamp = |v: f64, lo: f64, hi: f64| {
            if v.is_finite() {
                v.clamp(lo, hi) as f32
            } else {
                0.0
            }
        };
        Pen {
            pressure: clamp(f64::from(pressure), 0.0, 1.0),
            tilt_x: clamp(tilt_x, -90.0, 90.0),
            tilt_y: clamp(tilt_y, -90.0, 90.0),
            twist: clamp(twist, 0.0, 360.0),
        }
    }
}

/// What a pointer event means for the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerPhase {
    /// `pointer_move`.
    Move,
    /// `pointer_down`.
    Down,
    /// `pointer_up`.
    Up,
}

/// The phase of a DOM pointer event. A `pointermove` with a `button` other than -1 is a
/// chord change (a second button pressed or released while another is held: the DOM sends
/// no `pointerdown`/`pointerup` for those), so it becomes a down or an up. `pointercancel`
/// (the browser took the touch over) ends the press like an up, so no button stays stuck.
pub fn pointer_phase(dom_type: &str, button: i16, buttons: u16) -> Option<PointerPhase> {
    match dom_type {
        "pointerdown" => Some(PointerPhase::Down),
        "pointerup" | "pointercancel" => Some(PointerPhase::Up),
        "pointermove" if button < 0 => Some(PointerPhase::Move),
        "pointermove" => Some(if buttons & dom_button_mask(button) != 0 {
            PointerPhase::Down
        } else {
            PointerPhase::Up
        }),
        _ => None,
    }
}

/// The `MouseEvent.buttons` bit of a `MouseEvent.button` value.
fn dom_button_mask(button: i16) -> u16 {
    match button {
        0 => 1,
        1 => 4,
        2 => 2,
        3 => 8,
        4 => 16,
        _ => 0,
    }
}

/// Seconds from a DOM `timeStamp` in milliseconds.
pub fn timestamp_s(time_stamp_ms: f64) -> f64 {
    if time_stamp_ms.is_finite() {
        time_stamp_ms / 1000.0
    } else {
        0.0
    }
}

/// Wheel deltas in pixels: pixel deltas as they are, lines times [`WHEEL_LINE_PX`], pages
/// times the element's CSS size (`page` = width, height).
pub fn wheel_pixels(dx: f64, dy: f64, delta_mode: u32, page: (f64, f64)) -> (f64, f64) {
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let (dx, dy) = (finite(dx), finite(dy));
    match delta_mode {
        DOM_DELTA_LINE => (dx * WHEEL_LINE_PX, dy * WHEEL_LINE_PX),
        DOM_DELTA_PAGE => (dx * page.0, dy * page.1),
        _ => (dx, dy),
    }
}

/// The frame input is mapped onto: the geometry the core draws it with and its render DPR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputTarget {
    /// Fit mode, frame size, CSS size and backing store, as drawn.
    pub geometry: ViewGeometry,
    /// The frame's render device pixel ratio (from its header).
    pub pixel_ratio: f32,
}

impl InputTarget {
    /// A pointer event in frame pixels. The changed `button` is reported on downs and ups
    /// only (0 on moves), in renderview numbering.
    pub fn pointer(&self, phase: PointerPhase, s: &PointerSample) -> InputEvent {
        let p = self.geometry.css_to_frame(s.css_x, s.css_y);
        let input = PointerInput {
            x: p.x as f32,
            y: p.y as f32,
            inside: p.inside,
            pixel_ratio: self.pixel_ratio,
            button: match phase {
                PointerPhase::Move => 0,
                _ => button_from_dom(s.button),
            },
            buttons: Buttons::from_dom_mask(s.buttons),
            modifiers: s.modifiers,
            pointer_type: s.pointer_type,
            pointer_id: s.pointer_id,
            timestamp: timestamp_s(s.time_stamp_ms),
            pressure: s.pen.pressure,
            tilt_x: s.pen.tilt_x,
            tilt_y: s.pen.tilt_y,
            twist: s.pen.twist,
        };
        match phase {
            PointerPhase::Move => InputEvent::PointerMove(input),
            PointerPhase::Down => InputEvent::PointerDown(input),
            PointerPhase::Up => InputEvent::PointerUp(input),
        }
    }

    /// A wheel event at the pointer, `delta` already in pixels (see [`wheel_pixels`]).
    pub fn wheel(&self, s: &PointerSample, delta: (f64, f64)) -> InputEvent {
        let p = self.geometry.css_to_frame(s.css_x, s.css_y);
        InputEvent::Wheel(WheelInput {
            x: p.x as f32,
            y: p.y as f32,
            inside: p.inside,
            pixel_ratio: self.pixel_ratio,
            dx: delta.0 as f32,
            dy: delta.1 as f32,
            buttons: Buttons::from_dom_mask(s.buttons),
            modifiers: s.modifiers,
            timestamp: timestamp_s(s.time_stamp_ms),
        })
    }
}

/// A key event (`down` for `keydown`, else `keyup`).
pub fn key_event(
    down: bool,
    key: String,
    code: String,
    modifiers: Modifiers,
    repeat: bool,
    time_stamp_ms: f64,
) -> InputEvent {
    let input = KeyInput {
        key,
        code,
        modifiers,
        repeat,
        timestamp: timestamp_s(time_stamp_ms),
    };
    if down {
        InputEvent::KeyDown(input)
    } else {
        InputEvent::KeyUp(input)
    }
}

/// `text` cut to [`MAX_TEXT_BYTES`] at a character boundary (a longer message would get the
/// viewer closed), stamped.
fn text_input(mut text: String, time_stamp_ms: f64) -> TextInput {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    TextInput {
        text,
        timestamp: timestamp_s(time_stamp_ms),
    }
}

/// A `paste` event of `text` (cut to [`MAX_TEXT_BYTES`]).
pub fn paste_event(text: String, time_stamp_ms: f64) -> InputEvent {
    InputEvent::Paste(text_input(text, time_stamp_ms))
}

/// A `text` event: what an input method committed (cut to [`MAX_TEXT_BYTES`]).
pub fn text_event(text: String, time_stamp_ms: f64) -> InputEvent {
    InputEvent::Text(text_input(text, time_stamp_ms))
}

/// Most moves of one dragging pointer kept for one animation frame (the oldest go first).
pub const MAX_TRAIL: usize = 64;

/// Pacing of pointer moves per animation frame, with no fixed rate cap (the display's
/// refresh rate is the pace): a hovering pointer's moves are latest-wins (one per frame),
/// a dragging pointer's (a button held: a stroke, a selection) are all kept, in order, up
/// to [`MAX_TRAIL`] per frame, so a drawing app gets the path the pen took (the DOM's
/// `getCoalescedEvents()` supplies the points the browser merged).
#[derive(Debug, Default)]
pub struct MoveCoalescer {
    /// The newest move of each pointer not yet sent, in the order pointers first moved.
    pending: Vec<InputEvent>,
    frame_requested: bool,
}

fn pointer_id(event: &InputEvent) -> Option<i32> {
    match event {
        InputEvent::PointerMove(p) | InputEvent::PointerDown(p) | InputEvent::PointerUp(p) => {
            Some(p.pointer_id)
        }
        _ => None,
    }
}

impl MoveCoalescer {
    /// A pointer moved. Returns true when the caller must request an animation frame (and
    /// call [`MoveCoalescer::animation_frame`] from it).
    pub fn moved(&mut self, event: InputEvent) -> bool {
        let id = pointer_id(&event);
        let dragging = |e: &InputEvent| match e {
            InputEvent::PointerMove(p) => p.buttons.0 != 0,
            _ => false,
        };
        let last = self.pending.iter().rposition(|e| pointer_id(e) == id);
        match last {
            // A hover move replaces the pointer's pending hover move.
            Some(i) if !dragging(&event) && !dragging(&self.pending[i]) => {
                self.pending[i] = event;
            }
            _ => {
                self.pending.push(event);
                let mine = self.pending.iter().filter(|e| pointer_id(e) == id).count();
                if mine > MAX_TRAIL {
                    if let Some(oldest) = self.pending.iter().position(|e| pointer_id(e) == id) {
                        self.pending.remove(oldest);
                    }
                }
            }
        }
        !std::mem::replace(&mut self.frame_requested, true)
    }

    /// The animation frame came: the moves to send now.
    pub fn animation_frame(&mut self) -> Vec<InputEvent> {
        self.frame_requested = false;
        std::mem::take(&mut self.pending)
    }

    /// Another event is about to be sent: the moves that must go before it. The animation
    /// frame stays requested and will find nothing left.
    pub fn flush(&mut self) -> Vec<InputEvent> {
        std::mem::take(&mut self.pending)
    }
}

/// Where an element sits on the page, as the browser reports it: enough to turn a pointer's
/// viewport position into a position in the element's content box under any CSS transform
/// that scales or translates it (zoomable dashboards, slide decks, Storybook's zoom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElementBox {
    /// `getBoundingClientRect()`: the transformed border box on the page.
    pub rect_left: f64,
    /// Top of the same rectangle.
    pub rect_top: f64,
    /// Its width (after transforms).
    pub rect_width: f64,
    /// Its height (after transforms).
    pub rect_height: f64,
    /// Left border plus left padding, in the element's own (untransformed) CSS pixels.
    pub inset_left: f64,
    /// Top border plus top padding.
    pub inset_top: f64,
    /// The border box's own width: content + padding + border, untransformed.
    pub border_width: f64,
    /// The border box's own height.
    pub border_height: f64,
}

impl ElementBox {
    /// The point at viewport position (`client_x`, `client_y`) in the element's content box,
    /// in its own CSS pixels: the page-to-element scale is the transformed rectangle's size
    /// over the element's own size (1 without a transform), then border and padding are
    /// subtracted. A rotation or skew is not undone: such an element maps through its
    /// bounding box.
    pub fn content_point(&self, client_x: f64, client_y: f64) -> (f64, f64) {
        let scale = |rect: f64, own: f64| {
            let s = rect / own;
            if s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        };
        let sx = scale(self.rect_width, self.border_width);
        let sy = scale(self.rect_height, self.border_height);
        (
            (client_x - self.rect_left) / sx - self.inset_left,
            (client_y - self.rect_top) / sy - self.inset_top,
        )
    }
}

/// The viewport of a canvas `css_width x css_height` CSS pixels at `dpr`: the physical
/// size is the backing store without the cap, i.e. what a full-resolution frame would be.
pub fn viewport(css_width: f64, css_height: f64, dpr: f64) -> Viewport {
    let (pwidth, pheight) = backing_size(css_width, css_height, dpr, u32::MAX);
    let dpr = if dpr.is_finite() && dpr > 0.0 {
        dpr
    } else {
        1.0
    };
    Viewport {
        width: css_width.max(0.0) as f32,
        height: css_height.max(0.0) as f32,
        pwidth,
        pheight,
        ratio: dpr as f32,
    }
}

/// Remembers the last viewport sent so an unchanged one is not sent again.
#[derive(Debug, Default)]
pub struct ViewportTracker {
    last: Option<Viewport>,
}

impl ViewportTracker {
    /// `viewport` was sent (in `Hello`).
    pub fn sent(&mut self, viewport: Viewport) {
        self.last = Some(viewport);
    }

    /// The viewport is now `viewport`: `Some` when it differs from the last one sent (and
    /// is then recorded as sent).
    pub fn changed(&mut self, viewport: Viewport) -> Option<Viewport> {
        (self.last != Some(viewport)).then(|| {
            self.last = Some(viewport);
            viewport
        })
    }
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
