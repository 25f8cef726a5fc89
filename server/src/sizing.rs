//! Match-client sizing: turning the viewers' `SetViewport` messages into the render size an
//! app can follow (`resize_policy = MatchClient`).
//!
//! Rules:
//! - **Fits the encoder.** A viewport's physical size is scaled down, aspect kept, until
//!   neither side exceeds `max_render_dimension` and, when the stream may use H.264, the
//!   long side is at most 3840 and the short side at most 2160; then rounded down to even
//!   and at least 2x2, and with H.264 at least [`H264_MIN_SIDE`] per side (openh264 refuses
//!   smaller pictures; a sliver of a viewport such as 65536x2 gets 3840x16, its aspect
//!   given up). So any window on any screen gives a size `publish` and the encoder accept
//!   (a 2560x1600 window at DPR 2 asks for 5120x3200 and gets 3456x2160).
//! - **Debounced per viewer.** Each viewer's size counts once it has stayed the same for
//!   [`RESIZE_DEBOUNCE`]; sending the same size again does not restart the wait, so a
//!   viewer that repeats its size every 100 ms still settles.
//! - **Whose size wins.** The viewer whose size settled most recently, among viewers that
//!   may control the app (a view-only viewer never resizes the stream). When that viewer
//!   leaves, the next most recently settled one wins; with none left the target stays
//!   where it was.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rfb_protocol::Viewport;

/// Who owns the framebuffer size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResizePolicy {
    /// The publisher decides; viewer resizes are informational `resize` events (default).
    #[default]
    Publisher,
    /// The viewers' viewport becomes `Display::target_size()` (see the module rules).
    MatchClient,
}

/// How long a viewer's viewport must stay unchanged before it counts.
pub const RESIZE_DEBOUNCE: Duration = Duration::from_millis(150);

/// Largest sides the H.264 encoder accepts, long and short.
pub const H264_MAX_SIDES: (u32, u32) = (3840, 2160);

/// The smallest side openh264 encodes: below 16 pixels it fails every frame
/// (`cmUnsupportedData`), measured with `rfb bench --sizes 16x14,14x16,3840x8`.
pub const H264_MIN_SIDE: u32 = 16;

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

/// The render size for a viewport (see the module rules); `video` adds the H.264 limits.
pub fn render_size(viewport: &Viewport, max_dimension: u32, video: bool) -> TargetSize {
    let (w, h) = (
        f64::from(viewport.pwidth.max(1)),
        f64::from(viewport.pheight.max(1)),
    );
    let max = f64::from(max_dimension.max(2));
    let (long, short) = (w.max(h), w.min(h));
    let mut scale = (max / long).min(1.0);
    if video {
        let (max_long, max_short) = (f64::from(H264_MAX_SIDES.0), f64::from(H264_MAX_SIDES.1));
        scale = scale.min(max_long / long).min(max_short / short);
    }
    let even = |v: f64| ((v.floor() as u32) & !1).max(2);
    let ratio = if viewport.ratio.is_finite() && viewport.ratio > 0.0 {
        viewport.ratio
    } else {
        1.0
    };
    let min = if video { H264_MIN_SIDE } else { 2 };
    TargetSize {
        width: even(w * scale).max(min),
        height: even(h * scale).max(min),
        ratio,
    }
}

/// One viewer's offers.
#[derive(Debug, Clone, Copy)]
struct ViewerSize {
    /// The newest size and when it was first offered (unchanged since).
    offered: TargetSize,
    since: Instant,
    /// Whether this viewer may resize the stream.
    steers: bool,
}

impl ViewerSize {
    /// When this viewer's size counts, if it may count at all.
    fn settled_at(&self) -> Option<Instant> {
        self.steers.then_some(self.since + RESIZE_DEBOUNCE)
    }
}

/// The target size from every viewer's offers (see the module rules).
#[derive(Debug, Default)]
pub struct TargetTracker {
    viewers: BTreeMap<u64, ViewerSize>,
    last: Option<TargetSize>,
}

impl TargetTracker {
    /// Viewer `client_id` reported `target` at `now`; `steers` is false for view-only
    /// viewers, whose sizes never win.
    pub fn offer(&mut self, client_id: u64, target: TargetSize, steers: bool, now: Instant) {
        match self.viewers.get_mut(&client_id) {
            Some(v) if v.offered == target => v.steers = steers,
            _ => {
                self.viewers.insert(
                    client_id,
                    ViewerSize {
                        offered: target,
                        since: now,
                        steers,
                    },
                );
            }
        }
    }

    /// Viewer `client_id` may (or may no longer) resize the stream.
    pub fn set_steers(&mut self, client_id: u64, steers: bool) {
        if let Some(v) = self.viewers.get_mut(&client_id) {
            v.steers = steers;
        }
    }

    /// Viewer `client_id` left.
    pub fn remove(&mut self, client_id: u64) {
        self.viewers.remove(&client_id);
    }

    /// The target in force at `now`.
    pub fn current(&mut self, now: Instant) -> Option<TargetSize> {
        let winner = self
            .viewers
            .values()
            .filter_map(|v| {
                v.settled_at()
                    .filter(|at| *at <= now)
                    .map(|at| (at, v.offered))
            })
            .max_by_key(|(at, _)| *at);
        if let Some((_, target)) = winner {
            self.last = Some(target);
        }
        self.last
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

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn sizes_are_even_and_clamped() {
        let t = render_size(&viewport(1001, 601, 1.0), 4096, false);
        assert_eq!((t.width, t.height), (1000, 600));
        let t = render_size(&viewport(5120, 2880, 2.0), 2560, false);
        assert_eq!((t.width, t.height, t.ratio), (2560, 1440, 2.0));
        let t = render_size(&viewport(0, 0, f32::NAN), 2560, false);
        assert_eq!((t.width, t.height, t.ratio), (2, 2, 1.0));
    }

    #[test]
    fn every_viewport_fits_the_h264_encoder() {
        // The laptop that used to stop `rfb serve --match-client`: 2560x1600 CSS px at DPR 2.
        let t = render_size(&viewport(5120, 3200, 2.0), 3840, true);
        assert_eq!((t.width, t.height), (3456, 2160));
        let portrait = render_size(&viewport(3200, 5120, 2.0), 3840, true);
        assert_eq!((portrait.width, portrait.height), (2160, 3456));
        for (w, h) in [
            (65536, 2),
            (2, 65536),
            (7680, 4320),
            (4000, 4000),
            (3841, 2161),
        ] {
            let t = render_size(&viewport(w, h, 1.0), 3840, true);
            assert!(
                t.width.max(t.height) <= 3840 && t.width.min(t.height) <= 2160,
                "{w}x{h} -> {}x{}",
                t.width,
                t.height
            );
            assert!(t.width.is_multiple_of(2) && t.height.is_multiple_of(2));
            assert!(t.width.min(t.height) >= H264_MIN_SIDE, "{w}x{h} -> {t:?}");
        }
        // The sliver that made openh264 fail every frame (3840x2).
        let sliver = render_size(&viewport(65536, 2, 1.0), 3840, true);
        assert_eq!((sliver.width, sliver.height), (3840, 16));
        let empty = render_size(&viewport(0, 0, 1.0), 3840, true);
        assert_eq!((empty.width, empty.height), (16, 16));
    }

    #[test]
    fn offers_settle_per_viewer_and_repeats_do_not_restart_the_wait() {
        let t0 = Instant::now();
        let mut tracker = TargetTracker::default();
        let a = render_size(&viewport(800, 600, 1.0), 4096, true);
        for n in 0..10 {
            tracker.offer(1, a, true, ms(t0, n * 100));
            if n * 100 >= 150 {
                assert_eq!(
                    tracker.current(ms(t0, n * 100)),
                    Some(a),
                    "at {} ms",
                    n * 100
                );
            }
        }
        assert_eq!(tracker.current(ms(t0, 100)), Some(a));
    }

    #[test]
    fn the_most_recently_settled_controller_wins_and_viewers_never_steer() {
        let t0 = Instant::now();
        let mut tracker = TargetTracker::default();
        let a = render_size(&viewport(800, 600, 1.0), 4096, true);
        let b = render_size(&viewport(640, 480, 1.0), 4096, true);
        let watcher = render_size(&viewport(320, 240, 1.0), 4096, true);
        tracker.offer(1, a, true, t0);
        tracker.offer(3, watcher, false, ms(t0, 10));
        assert_eq!(tracker.current(ms(t0, 100)), None, "a is still settling");
        assert_eq!(tracker.current(ms(t0, 200)), Some(a));
        tracker.offer(2, b, true, ms(t0, 300));
        assert_eq!(tracker.current(ms(t0, 400)), Some(a));
        assert_eq!(tracker.current(ms(t0, 460)), Some(b));
        tracker.remove(2);
        assert_eq!(
            tracker.current(ms(t0, 500)),
            Some(a),
            "back to the remaining controller"
        );
        tracker.remove(1);
        assert_eq!(
            tracker.current(ms(t0, 600)),
            Some(a),
            "kept with nobody left"
        );
        tracker.set_steers(3, true);
        assert_eq!(
            tracker.current(ms(t0, 700)),
            Some(watcher),
            "handed control"
        );
    }

    #[test]
    fn a_viewer_flipping_sizes_faster_than_the_debounce_never_wins() {
        let t0 = Instant::now();
        let mut tracker = TargetTracker::default();
        let a = render_size(&viewport(800, 600, 1.0), 4096, true);
        let b = render_size(&viewport(640, 480, 1.0), 4096, true);
        let c = render_size(&viewport(1024, 768, 1.0), 4096, true);
        tracker.offer(1, c, true, t0);
        assert_eq!(tracker.current(ms(t0, 200)), Some(c));
        for n in 0..20 {
            tracker.offer(
                2,
                if n % 2 == 0 { a } else { b },
                true,
                ms(t0, 200 + n * 100),
            );
            assert_eq!(tracker.current(ms(t0, 250 + n * 100)), Some(c));
        }
    }
}
