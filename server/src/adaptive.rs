//! The adaptive quality controller: a pure state machine (no sockets, no clock of its own)
//! that watches one viewer's decode-queue depth and ACK round trip and moves its quality
//! target one step at a time.
//!
//! Levers, applied in this order when the viewer is congested and undone in reverse order
//! when it has been healthy for a while:
//! 1. bitrate (video) or JPEG quality (images) down by a factor / step, to a floor;
//! 2. frame rate down by a step, to a floor (the session really paces its sends);
//! 3. the in-flight window down by one, to a floor (latest-frame-wins drops sooner);
//! 4. a resolution suggestion: the scale goes down by a factor, to a floor. The publisher
//!    owns the frame size, so this only becomes a `DownscaleHint` for the app.
//!
//! A cooldown separates changes (each costs a keyframe), and recovery waits until the
//! viewer has been healthy for `recover_after`, so the controller does not thrash.

use std::time::{Duration, Instant};

/// Thresholds, factors and timings (the controller's constructor arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveConfig {
    /// A decode queue at least this deep means congested.
    pub congested_queue: u32,
    /// A smoothed round trip at least this long (ms) means congested.
    pub congested_rtt_ms: f64,
    /// Healthy needs a decode queue at most this deep...
    pub healthy_queue: u32,
    /// ...and a smoothed round trip at most this long (ms).
    pub healthy_rtt_ms: f64,
    /// Bitrate multiplier per step down (0..1); recovery divides by it.
    pub bitrate_factor: f64,
    /// Lowest bitrate.
    pub min_bitrate_bps: u32,
    /// JPEG quality points per step.
    pub jpeg_quality_step: u8,
    /// Lowest JPEG quality.
    pub min_jpeg_quality: u8,
    /// Frames per second per step.
    pub fps_step: f32,
    /// Lowest frame rate.
    pub min_fps: f32,
    /// Smallest in-flight window.
    pub min_inflight: u8,
    /// Scale multiplier per step down (0..1).
    pub scale_factor: f32,
    /// Smallest scale suggested.
    pub min_scale: f32,
    /// Least time between two changes.
    pub cooldown: Duration,
    /// Healthy this long before a step up.
    pub recover_after: Duration,
    /// Weight of a new round-trip sample in the moving average (0..1).
    pub rtt_smoothing: f64,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        AdaptiveConfig {
            congested_queue: 3,
            congested_rtt_ms: 250.0,
            healthy_queue: 1,
            healthy_rtt_ms: 100.0,
            bitrate_factor: 0.7,
            min_bitrate_bps: 400_000,
            jpeg_quality_step: 10,
            min_jpeg_quality: 40,
            fps_step: 5.0,
            min_fps: 10.0,
            min_inflight: 1,
            scale_factor: 0.75,
            min_scale: 0.5,
            cooldown: Duration::from_secs(1),
            recover_after: Duration::from_secs(3),
            rtt_smoothing: 0.3,
        }
    }
}

/// What the session targets for one viewer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Encoder bitrate (video).
    pub bitrate_bps: u32,
    /// JPEG quality (images).
    pub jpeg_quality: u8,
    /// Most frames sent per second.
    pub fps: f32,
    /// In-flight window.
    pub max_inflight: u8,
    /// Suggested render scale, in (0, 1].
    pub scale: f32,
}

/// Which lever a change moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lever {
    /// Bitrate (video).
    Bitrate,
    /// JPEG quality (images).
    JpegQuality,
    /// Frame rate.
    Fps,
    /// In-flight window.
    Inflight,
    /// Resolution suggestion.
    Scale,
}

/// How the viewer is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Queue or round trip over the congestion thresholds.
    Congested,
    /// Both under the healthy thresholds.
    Healthy,
    /// In between: hold.
    Steady,
}

/// The controller of one viewer.
#[derive(Debug, Clone)]
pub struct AdaptiveController {
    config: AdaptiveConfig,
    video: bool,
    ceiling: Quality,
    current: Quality,
    rtt_ms: Option<f64>,
    queue: u32,
    last_change: Option<Instant>,
    healthy_since: Option<Instant>,
}

impl AdaptiveController {
    /// A controller starting at (and never exceeding) `ceiling`; `video` picks the first
    /// lever (bitrate vs JPEG quality).
    pub fn new(config: AdaptiveConfig, ceiling: Quality, video: bool) -> AdaptiveController {
        AdaptiveController {
            config,
            video,
            ceiling,
            current: ceiling,
            rtt_ms: None,
            queue: 0,
            last_change: None,
            healthy_since: None,
        }
    }

    /// The current target.
    pub fn quality(&self) -> Quality {
        self.current
    }

    /// The smoothed round trip, ms.
    pub fn rtt_ms(&self) -> Option<f64> {
        self.rtt_ms
    }

    /// Feeds one measurement: the viewer's decode-queue depth and a round trip (an ACK's,
    /// or the age of the oldest unacknowledged frame when ACKs stop).
    pub fn observe(&mut self, decode_queue: u32, rtt_ms: f64) {
        self.queue = decode_queue;
        let a = self.config.rtt_smoothing.clamp(0.0, 1.0);
        self.rtt_ms = Some(match self.rtt_ms {
            Some(avg) => avg + a * (rtt_ms - avg),
            None => rtt_ms,
        });
    }

    /// How the viewer is doing now.
    pub fn health(&self) -> Health {
        let rtt = self.rtt_ms.unwrap_or(0.0);
        let c = &self.config;
        if self.queue >= c.congested_queue || rtt >= c.congested_rtt_ms {
            Health::Congested
        } else if self.queue <= c.healthy_queue && rtt <= c.healthy_rtt_ms {
            Health::Healthy
        } else {
            Health::Steady
        }
    }

    /// Decides at `now`: at most one lever moves per cooldown. Returns the lever and the
    /// new target when something changed.
    pub fn evaluate(&mut self, now: Instant) -> Option<(Lever, Quality)> {
        let health = self.health();
        if health == Health::Healthy {
            self.healthy_since.get_or_insert(now);
        } else {
            self.healthy_since = None;
        }
        if self
            .last_change
            .is_some_and(|t| now.saturating_duration_since(t) < self.config.cooldown)
        {
            return None;
        }
        let change = match health {
            Health::Congested => self.step_down(),
            Health::Healthy => {
                let settled = self
                    .healthy_since
                    .is_some_and(|t| now.saturating_duration_since(t) >= self.config.recover_after);
                if settled {
                    self.step_up()
                } else {
                    None
                }
            }
            Health::Steady => None,
        };
        if let Some((lever, quality)) = change {
            self.current = quality;
            self.last_change = Some(now);
            if health == Health::Healthy {
                // Each step up must earn its own healthy period.
                self.healthy_since = Some(now);
            }
            return Some((lever, quality));
        }
        None
    }

    fn step_down(&self) -> Option<(Lever, Quality)> {
        let c = &self.config;
        let mut q = self.current;
        if self.video && q.bitrate_bps > c.min_bitrate_bps {
            q.bitrate_bps =
                ((f64::from(q.bitrate_bps) * c.bitrate_factor) as u32).max(c.min_bitrate_bps);
            return Some((Lever::Bitrate, q));
        }
        if !self.video && q.jpeg_quality > c.min_jpeg_quality {
            q.jpeg_quality = q
                .jpeg_quality
                .saturating_sub(c.jpeg_quality_step)
                .max(c.min_jpeg_quality);
            return Some((Lever::JpegQuality, q));
        }
        if q.fps > c.min_fps {
            q.fps = (q.fps - c.fps_step).max(c.min_fps);
            return Some((Lever::Fps, q));
        }
        if q.max_inflight > c.min_inflight {
            q.max_inflight -= 1;
            return Some((Lever::Inflight, q));
        }
        if q.scale > c.min_scale {
            q.scale = (q.scale * c.scale_factor).max(c.min_scale);
            return Some((Lever::Scale, q));
        }
        None
    }

    fn step_up(&self) -> Option<(Lever, Quality)> {
        let c = &self.config;
        let top = self.ceiling;
        let mut q = self.current;
        if q.scale < top.scale {
            q.scale = (q.scale / c.scale_factor).min(top.scale);
            return Some((Lever::Scale, q));
        }
        if q.max_inflight < top.max_inflight {
            q.max_inflight += 1;
            return Some((Lever::Inflight, q));
        }
        if q.fps < top.fps {
            q.fps = (q.fps + c.fps_step).min(top.fps);
            return Some((Lever::Fps, q));
        }
        if self.video && q.bitrate_bps < top.bitrate_bps {
            q.bitrate_bps =
                ((f64::from(q.bitrate_bps) / c.bitrate_factor) as u32).min(top.bitrate_bps);
            return Some((Lever::Bitrate, q));
        }
        if !self.video && q.jpeg_quality < top.jpeg_quality {
            q.jpeg_quality = q
                .jpeg_quality
                .saturating_add(c.jpeg_quality_step)
                .min(top.jpeg_quality);
            return Some((Lever::JpegQuality, q));
        }
        None
    }
}

/// The frame size to suggest for `scale` of `width x height`: even sides, at least 2.
pub fn scaled_size(width: u32, height: u32, scale: f32) -> (u32, u32) {
    let s = f64::from(scale.clamp(0.0, 1.0));
    let even = |v: u32| (((f64::from(v) * s).round() as u32) & !1).max(2);
    (even(width), even(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: Quality = Quality {
        bitrate_bps: 8_000_000,
        jpeg_quality: 80,
        fps: 30.0,
        max_inflight: 2,
        scale: 1.0,
    };

    fn config() -> AdaptiveConfig {
        AdaptiveConfig {
            bitrate_factor: 0.5,
            min_bitrate_bps: 2_000_000,
            fps_step: 10.0,
            min_fps: 10.0,
            scale_factor: 0.5,
            min_scale: 0.5,
            cooldown: Duration::from_secs(1),
            recover_after: Duration::from_secs(2),
            rtt_smoothing: 1.0,
            ..AdaptiveConfig::default()
        }
    }

    /// Runs the controller once a second for `seconds` with constant health; returns the
    /// levers it moved.
    fn run(
        c: &mut AdaptiveController,
        t: &mut Instant,
        seconds: u32,
        queue: u32,
        rtt: f64,
    ) -> Vec<Lever> {
        let mut levers = Vec::new();
        for _ in 0..seconds {
            *t += Duration::from_secs(1);
            c.observe(queue, rtt);
            if let Some((lever, _)) = c.evaluate(*t) {
                levers.push(lever);
            }
        }
        levers
    }

    #[test]
    fn congestion_steps_down_in_order_then_recovery_climbs_back_in_reverse() {
        let mut c = AdaptiveController::new(config(), TOP, true);
        let mut t = Instant::now();
        let down = run(&mut c, &mut t, 10, 5, 50.0);
        use Lever::*;
        assert_eq!(down, vec![Bitrate, Bitrate, Fps, Fps, Inflight, Scale]);
        let floor = c.quality();
        assert_eq!(
            (
                floor.bitrate_bps,
                floor.fps,
                floor.max_inflight,
                floor.scale
            ),
            (2_000_000, 10.0, 1, 0.5)
        );
        let up = run(&mut c, &mut t, 20, 0, 20.0);
        assert_eq!(up, vec![Scale, Inflight, Fps, Fps, Bitrate, Bitrate]);
        assert_eq!(c.quality(), TOP);
    }

    #[test]
    fn images_use_jpeg_quality_first() {
        let mut c = AdaptiveController::new(config(), TOP, false);
        let mut t = Instant::now();
        let down = run(&mut c, &mut t, 5, 0, 400.0);
        assert_eq!(down[..4], [Lever::JpegQuality; 4]);
        assert_eq!(c.quality().jpeg_quality, 40);
        assert_eq!(c.quality().bitrate_bps, TOP.bitrate_bps);
    }

    #[test]
    fn cooldown_and_steady_band_hold_still() {
        let mut c = AdaptiveController::new(config(), TOP, true);
        let t0 = Instant::now();
        c.observe(9, 0.0);
        assert!(c.evaluate(t0).is_some());
        c.observe(9, 0.0);
        assert!(
            c.evaluate(t0 + Duration::from_millis(500)).is_none(),
            "cooldown"
        );
        // Between the healthy and congested thresholds nothing moves.
        c.observe(2, 150.0);
        assert_eq!(c.health(), Health::Steady);
        assert!(c.evaluate(t0 + Duration::from_secs(10)).is_none());
    }

    #[test]
    fn recovery_needs_a_sustained_healthy_period() {
        let mut c = AdaptiveController::new(config(), TOP, true);
        let mut t = Instant::now();
        run(&mut c, &mut t, 1, 9, 0.0);
        assert_eq!(c.quality().bitrate_bps, 4_000_000);
        // Healthy, but only for one second: not yet.
        assert!(run(&mut c, &mut t, 1, 0, 10.0).is_empty());
        assert_eq!(run(&mut c, &mut t, 2, 0, 10.0), vec![Lever::Bitrate]);
    }

    #[test]
    fn rtt_is_smoothed() {
        let mut c = AdaptiveController::new(
            AdaptiveConfig {
                rtt_smoothing: 0.5,
                ..config()
            },
            TOP,
            true,
        );
        c.observe(0, 100.0);
        c.observe(0, 300.0);
        assert_eq!(c.rtt_ms(), Some(200.0));
    }

    #[test]
    fn scaled_sizes_are_even() {
        assert_eq!(scaled_size(1280, 720, 0.75), (960, 540));
        assert_eq!(scaled_size(1366, 768, 0.5), (682, 384));
        assert_eq!(scaled_size(4, 4, 0.01), (2, 2));
    }
}
