//! Match-client sizing: turning the viewers' `SetViewport` messages into the render size an
//! app can follow (`resize_policy = MatchClient`). Debounced (a drag-resize settles before
//! the app re-renders), clamped to `max_render_dimension`, even (4:2:0 video), and the
//! last viewer to resize wins.

use std::time::{Duration, Instant};

use rfb_protocol::Viewport;

/// Who owns the framebuffer size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResizePolicy {
    /// The publisher decides; viewer resizes are informational `resize` events (default).
    #[default]
    Publisher,
    /// The latest viewer viewport becomes `Display::target_size()`.
    MatchClient,
}

/// How long a viewport must stay unchanged before it becomes the target.
pub const RESIZE_DEBOUNCE: Duration = Duration::from_millis(150);

/// A render size suggested by the viewers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetSize {
    /// Width in physical pixels (even).
    pub width: u32,
    /// Height in physical pixels (even).
    pub height: u32,
    /// The viewer's device pixel ratio (publish frames tagged with it).
    pub ratio: f32,
}

/// The render size for a viewport: its physical size, scaled down (keeping the aspect)
/// so neither side exceeds `max_dimension`, rounded down to even, at least 2x2.
pub fn render_size(viewport: &Viewport, max_dimension: u32) -> TargetSize {
    let (mut w, mut h) = (
        f64::from(viewport.pwidth.max(1)),
        f64::from(viewport.pheight.max(1)),
    );
    let max = f64::from(max_dimension.max(2));
    let largest = w.max(h);
    if largest > max {
        w *= max / largest;
        h *= max / largest;
    }
    let even = |v: f64| ((v as u32) & !1).max(2);
    let ratio = if viewport.ratio.is_finite() && viewport.ratio > 0.0 {
        viewport.ratio
    } else {
        1.0
    };
    TargetSize {
        width: even(w),
        height: even(h),
        ratio,
    }
}

/// The debounced target: the newest offer becomes current once it is [`RESIZE_DEBOUNCE`]
/// old.
#[derive(Debug, Default)]
pub struct TargetTracker {
    current: Option<TargetSize>,
    pending: Option<(TargetSize, Instant)>,
}

impl TargetTracker {
    /// A viewer reported a new viewport at `now`.
    pub fn offer(&mut self, target: TargetSize, now: Instant) {
        self.pending = Some((target, now));
    }

    /// The target in force at `now`.
    pub fn current(&mut self, now: Instant) -> Option<TargetSize> {
        if let Some((target, at)) = self.pending {
            if now.saturating_duration_since(at) >= RESIZE_DEBOUNCE {
                self.current = Some(target);
                self.pending = None;
            }
        }
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewport(pw: u32, ph: u32, ratio: f32) -> Viewport {
        Viewport {
            width: pw as f32 / ratio,
            height: ph as f32 / ratio,
            pwidth: pw,
            pheight: ph,
            ratio,
        }
    }

    #[test]
    fn sizes_are_even_and_clamped() {
        let t = render_size(&viewport(1001, 601, 1.0), 4096);
        assert_eq!((t.width, t.height), (1000, 600));
        let t = render_size(&viewport(5120, 2880, 2.0), 2560);
        assert_eq!((t.width, t.height, t.ratio), (2560, 1440, 2.0));
        let t = render_size(&viewport(0, 0, f32::NAN), 2560);
        assert_eq!((t.width, t.height, t.ratio), (2, 2, 1.0));
    }

    #[test]
    fn offers_settle_before_they_count_and_the_last_wins() {
        let mut tracker = TargetTracker::default();
        let t0 = Instant::now();
        let a = render_size(&viewport(800, 600, 1.0), 4096);
        let b = render_size(&viewport(640, 480, 1.0), 4096);
        tracker.offer(a, t0);
        assert_eq!(tracker.current(t0 + Duration::from_millis(10)), None);
        tracker.offer(b, t0 + Duration::from_millis(20));
        assert_eq!(
            tracker.current(t0 + Duration::from_millis(100)),
            None,
            "b is still settling"
        );
        assert_eq!(tracker.current(t0 + Duration::from_millis(200)), Some(b));
    }
}
