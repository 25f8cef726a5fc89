//! What the server told the viewer about itself: its last `Stats` and the quality target
//! (`SetQuality` from the adaptive controller, or the targets `Stats` reports), folded into
//! one record the viewer's `stats()` and `onStats` read. No browser types.

use rfb_protocol::{QualityTarget, Role, ServerStats};

/// The quality the server targets for this viewer, as far as the viewer knows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Target {
    /// Encoder bitrate, bits per second.
    pub bitrate_bps: u64,
    /// Frames per second the server sends at most.
    pub fps: f32,
    /// In-flight ceiling (only `SetQuality` says).
    pub max_inflight: Option<u8>,
    /// JPEG quality (only `SetQuality` says).
    pub jpeg_quality: Option<u8>,
}

/// The server's reports, newest first: a later message overrides what an earlier one said.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerReport {
    /// The last `Stats`, if any arrived.
    pub stats: Option<ServerStats>,
    /// The current target, once `Stats` or `SetQuality` said it.
    pub target: Option<Target>,
    /// `SetQuality` messages received.
    pub quality_changes: u32,
    /// What this viewer may do, once the server said (`Role`).
    pub role: Option<Role>,
}

impl ServerReport {
    /// A `Stats` message arrived: it also carries the current bitrate and fps targets.
    pub fn on_stats(&mut self, stats: ServerStats) {
        self.stats = Some(stats);
        let previous = self.target.unwrap_or_default();
        self.target = Some(Target {
            bitrate_bps: stats.target_bitrate_bps,
            fps: stats.target_fps,
            ..previous
        });
    }

    /// A `Role` message arrived.
    pub fn on_role(&mut self, role: Role) {
        self.role = Some(role);
    }

    /// True unless the server said this viewer only watches: its input would be dropped.
    pub fn may_control(&self) -> bool {
        self.role.is_none_or(Role::may_control)
    }

    /// A `SetQuality` message arrived.
    pub fn on_quality(&mut self, q: QualityTarget) {
        self.quality_changes = self.quality_changes.saturating_add(1);
        self.target = Some(Target {
            bitrate_bps: q.bitrate_bps,
            fps: q.fps,
            max_inflight: Some(q.max_inflight),
            jpeg_quality: Some(q.jpeg_quality),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_decides_whether_input_is_sent() {
        let mut r = ServerReport::default();
        assert!(r.may_control(), "before the server says, assume control");
        r.on_role(Role::View);
        assert!(!r.may_control());
        r.on_role(Role::Control);
        assert!(r.may_control());
    }

    fn stats(bitrate: u64, fps: f32) -> ServerStats {
        ServerStats {
            rtt_ms: 4.5,
            fps_sent: 30.0,
            target_bitrate_bps: bitrate,
            target_fps: fps,
            ..ServerStats::default()
        }
    }

    #[test]
    fn nothing_known_before_the_first_report() {
        let r = ServerReport::default();
        assert_eq!(r.stats, None);
        assert_eq!(r.target, None);
    }

    #[test]
    fn stats_carry_the_targets() {
        let mut r = ServerReport::default();
        r.on_stats(stats(8_000_000, 30.0));
        assert_eq!(r.stats.map(|s| s.rtt_ms), Some(4.5));
        assert_eq!(
            r.target,
            Some(Target {
                bitrate_bps: 8_000_000,
                fps: 30.0,
                max_inflight: None,
                jpeg_quality: None
            })
        );
    }

    #[test]
    fn set_quality_overrides_and_later_stats_keep_its_other_levers() {
        let mut r = ServerReport::default();
        r.on_stats(stats(8_000_000, 30.0));
        r.on_quality(QualityTarget {
            bitrate_bps: 4_000_000,
            fps: 30.0,
            max_inflight: 2,
            jpeg_quality: 70,
        });
        assert_eq!(r.quality_changes, 1);
        assert_eq!(r.target.map(|t| t.bitrate_bps), Some(4_000_000));
        r.on_stats(stats(4_000_000, 20.0));
        assert_eq!(
            r.target,
            Some(Target {
                bitrate_bps: 4_000_000,
                fps: 20.0,
                max_inflight: Some(2),
                jpeg_quality: Some(70)
            })
        );
    }
}
