//! Per-viewer flow control: the in-flight window, latest-frame-wins dropping and when the
//! next frame must be a keyframe. A plain state machine (no sockets, no clock of its own),
//! so every rule is unit-tested here and the session is thin glue around it.
//!
//! Rules:
//! - at most `max_inflight` frames are sent and not yet acknowledged; ACKs are cumulative;
//! - while the viewer is congested (it fell behind in the last second, or round trips
//!   show frames queueing on its link, see [`super::link`]), what is in flight also stays
//!   within 250 ms of what the link delivers (a lone frame always may go), so a slow link
//!   never accumulates a long queue; on a healthy link the window alone governs;
//! - while the window is full the viewer is "behind": newer frames replace the waiting one
//!   before anything is encoded (dropped before encoding); when frames were dropped this
//!   way, the next frame sent is a keyframe (with `keyframe_after_drop`, the default), so
//!   the stream resyncs cleanly, but only when the keyframe fits the budget or the link
//!   is healthy: on a congested link a large keyframe would queue for longer than the
//!   budget, so deltas (decodable, since dropped frames were never encoded) keep the view
//!   current until the link recovers, and the resync keyframe follows then. A frame that merely waited for the window and
//!   was not superseded is sent as a normal delta;
//! - a dropped frame is never lost for good: once the window opens, the latest published
//!   frame is sent even if nothing new was published since;
//! - the first frame, a keyframe request and a decoder reset force a keyframe, re-sending
//!   the current frame if nothing newer exists;
//! - nothing is sent while nothing new is published.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::link::LinkEstimate;

/// A frame sent and not yet acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    /// Session sequence number.
    pub seq: u64,
    /// The display's publish counter of the frame.
    pub frame_seq: u64,
    /// When it was handed to the socket.
    pub sent_at: Instant,
    /// When the app published it.
    pub published_at: Instant,
    /// Payload bytes.
    pub bytes: usize,
}

/// What to encode next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendPlan {
    /// The publish counter of the frame to encode (the latest one).
    pub frame_seq: u64,
    /// Encode it as a keyframe.
    pub keyframe: bool,
}

/// The flow-control state of one viewer.
#[derive(Debug)]
pub struct FlowControl {
    max_inflight: usize,
    keyframe_after_drop: bool,
    inflight: VecDeque<InFlight>,
    next_seq: u64,
    last_sent_frame_seq: u64,
    keyframe_needed: bool,
    behind: bool,
    resync_pending: bool,
    frames_dropped: u64,
    expected_bytes: usize,
    last_keyframe_bytes: usize,
    congested_until: Option<Instant>,
    link: LinkEstimate,
}

/// How long a viewer counts as congested after it last fell behind.
const CONGESTION_MEMORY: Duration = Duration::from_secs(1);

impl FlowControl {
    /// A fresh viewer: nothing sent, the first frame will be a keyframe.
    pub fn new(max_inflight: u8, keyframe_after_drop: bool) -> FlowControl {
        FlowControl {
            max_inflight: usize::from(max_inflight.max(1)),
            keyframe_after_drop,
            inflight: VecDeque::new(),
            next_seq: 1,
            last_sent_frame_seq: 0,
            keyframe_needed: true,
            behind: false,
            resync_pending: false,
            frames_dropped: 0,
            expected_bytes: 0,
            last_keyframe_bytes: 0,
            congested_until: None,
            link: LinkEstimate::default(),
        }
    }

    /// The session sequence number of the last frame sent (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The in-flight ceiling.
    pub fn max_inflight(&self) -> u8 {
        self.max_inflight.min(255) as u8
    }

    /// Changes the in-flight ceiling (the adaptive controller's third lever).
    pub fn set_max_inflight(&mut self, max: u8) {
        self.max_inflight = usize::from(max.max(1));
    }

    /// Frames in flight now.
    pub fn inflight(&self) -> usize {
        self.inflight.len()
    }

    /// The oldest frame still in flight.
    pub fn oldest_inflight(&self) -> Option<&InFlight> {
        self.inflight.front()
    }

    /// Published frames this viewer never received.
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped
    }

    /// The publish counter of the last frame sent (0 before the first).
    pub fn last_sent_frame_seq(&self) -> u64 {
        self.last_sent_frame_seq
    }

    /// The link estimate built from the ACKs.
    pub fn link(&self) -> &LinkEstimate {
        &self.link
    }

    /// An ACK for `seq` at `now`: clears it and everything older. Returns the acknowledged
    /// frames, oldest first (their `sent_at` gives the round trip). ACKs for unknown or
    /// already acknowledged seqs are ignored.
    pub fn on_ack(&mut self, seq: u64, now: Instant) -> Vec<InFlight> {
        let mut acked = Vec::new();
        while let Some(front) = self.inflight.front() {
            if front.seq > seq {
                break;
            }
            acked.extend(self.inflight.pop_front());
        }
        for frame in &acked {
            self.link.on_delivered(
                now,
                frame.bytes,
                now.saturating_duration_since(frame.sent_at),
            );
        }
        acked
    }

    /// True while the viewer fell behind recently or its link shows queueing.
    pub fn is_congested(&self, now: Instant) -> bool {
        !self.link.is_healthy() || self.congested_until.is_some_and(|t| now < t)
    }

    /// True when a payload of `bytes` may be sent now: the window has a slot and, while
    /// congested, what would be in flight stays within the link's budget (a lone frame
    /// always may go).
    pub fn has_room(&self, bytes: usize, now: Instant) -> bool {
        if self.inflight.is_empty() {
            return true;
        }
        if self.inflight.len() >= self.max_inflight {
            return false;
        }
        if !self.is_congested(now) {
            return true;
        }
        match self.link.budget(now) {
            None => true,
            Some(budget) => {
                let queued: usize = self.inflight.iter().map(|f| f.bytes).sum();
                queued + bytes <= budget
            }
        }
    }

    /// The viewer asked for a keyframe.
    pub fn request_keyframe(&mut self) {
        self.keyframe_needed = true;
    }

    /// The viewer rebuilt its decoder, or the server gave up waiting for ACKs: forget what
    /// is in flight and restart from a keyframe of the latest frame.
    pub fn reset(&mut self) -> usize {
        let cleared = self.inflight.len();
        self.inflight.clear();
        self.request_keyframe();
        cleared
    }

    /// True when a frame the size of the last one sent may go now.
    pub fn can_send(&self, now: Instant) -> bool {
        self.has_room(self.expected_bytes, now)
    }

    /// True when a keyframe (as large as the last one) may go now: the viewer is not
    /// congested, or the keyframe fits the link's budget anyway.
    fn keyframe_fits(&self, now: Instant) -> bool {
        if !self.is_congested(now) {
            return true;
        }
        match self.link.budget(now) {
            Some(budget) => self.last_keyframe_bytes <= budget,
            // No delivered rate yet: trust the round trips alone.
            None => self.link.is_healthy(),
        }
    }

    /// Decides whether to encode now, given the latest published frame (`0` = none yet).
    pub fn poll(&mut self, latest_frame_seq: u64, now: Instant) -> Option<SendPlan> {
        if latest_frame_seq == 0 {
            return None;
        }
        let has_new = latest_frame_seq > self.last_sent_frame_seq;
        // A pending keyframe re-sends the current frame when nothing newer exists.
        if !has_new && !self.keyframe_needed {
            return None;
        }
        let dropped_while_behind = self.behind && latest_frame_seq > self.last_sent_frame_seq + 1;
        let resync = self.resync_pending || (dropped_while_behind && self.keyframe_after_drop);
        let keyframe = self.keyframe_needed || (resync && self.keyframe_fits(now));
        // Room for what will actually be sent: a keyframe is as large as the last one.
        let size = if keyframe {
            self.last_keyframe_bytes.max(self.expected_bytes)
        } else {
            self.expected_bytes
        };
        if !self.has_room(size, now) {
            if has_new {
                self.behind = true;
                self.congested_until = Some(now + CONGESTION_MEMORY);
            }
            return None;
        }
        self.resync_pending = resync;
        Some(SendPlan {
            frame_seq: latest_frame_seq,
            keyframe,
        })
    }

    /// Records that frame `frame_seq` (published at `published_at`) was encoded (as a
    /// keyframe or not) into `bytes` and sent at `now`; returns its session sequence number.
    pub fn on_sent(
        &mut self,
        frame_seq: u64,
        keyframe: bool,
        bytes: usize,
        now: Instant,
        published_at: Instant,
    ) -> u64 {
        if self.last_sent_frame_seq > 0 && frame_seq > self.last_sent_frame_seq + 1 {
            self.frames_dropped += frame_seq - self.last_sent_frame_seq - 1;
        }
        self.last_sent_frame_seq = self.last_sent_frame_seq.max(frame_seq);
        if keyframe {
            self.keyframe_needed = false;
            self.resync_pending = false;
            self.last_keyframe_bytes = bytes;
        }
        self.behind = false;
        self.expected_bytes = bytes;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.inflight.push_back(InFlight {
            seq,
            frame_seq,
            sent_at: now,
            published_at,
            bytes,
        });
        seq
    }

    /// Records that the encoder produced nothing for `frame_seq` (it skipped the frame), so
    /// the same frame is not encoded again.
    pub fn on_skipped(&mut self, frame_seq: u64) {
        self.last_sent_frame_seq = self.last_sent_frame_seq.max(frame_seq);
    }

    /// True when the oldest frame in flight has waited longer than `timeout`.
    pub fn is_stalled(&self, now: Instant, timeout: Duration) -> bool {
        self.inflight
            .front()
            .is_some_and(|f| now.saturating_duration_since(f.sent_at) > timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(flow: &mut FlowControl, latest: u64) -> Option<(u64, bool)> {
        let plan = flow.poll(latest, Instant::now())?;
        let seq = flow.on_sent(
            plan.frame_seq,
            plan.keyframe,
            1000,
            Instant::now(),
            Instant::now(),
        );
        Some((seq, plan.keyframe))
    }

    #[test]
    fn nothing_is_sent_before_a_frame_or_twice() {
        let mut flow = FlowControl::new(2, true);
        assert_eq!(flow.poll(0, Instant::now()), None);
        assert_eq!(
            send(&mut flow, 1),
            Some((1, true)),
            "first frame is a keyframe"
        );
        assert_eq!(
            flow.poll(1, Instant::now()),
            None,
            "the same frame is not sent again"
        );
        assert_eq!(send(&mut flow, 2), Some((2, false)));
    }

    #[test]
    fn a_full_window_drops_and_resyncs_with_a_keyframe() {
        let mut flow = FlowControl::new(2, true);
        send(&mut flow, 1);
        send(&mut flow, 2);
        assert_eq!(flow.poll(3, Instant::now()), None, "window full");
        assert_eq!(flow.poll(4, Instant::now()), None);
        assert_eq!(flow.on_ack(1, Instant::now()).len(), 1);
        // Frame 3 was skipped; 4 goes out as a keyframe.
        assert_eq!(
            flow.poll(4, Instant::now()),
            Some(SendPlan {
                frame_seq: 4,
                keyframe: true
            })
        );
        assert_eq!(
            flow.on_sent(4, true, 1000, Instant::now(), Instant::now()),
            3
        );
        assert_eq!(flow.frames_dropped(), 1);
        assert_eq!(
            send(&mut flow, 5),
            None,
            "window full again (2 and 3 in flight)"
        );
    }

    #[test]
    fn a_frame_that_only_waited_for_the_window_is_a_delta() {
        let mut flow = FlowControl::new(1, true);
        send(&mut flow, 1);
        assert_eq!(
            flow.poll(2, Instant::now()),
            None,
            "window full: frame 2 waits"
        );
        flow.on_ack(1, Instant::now());
        assert_eq!(
            flow.poll(2, Instant::now()),
            Some(SendPlan {
                frame_seq: 2,
                keyframe: false
            })
        );
    }

    #[test]
    fn frames_skipped_while_encoding_are_not_backpressure_drops() {
        let mut flow = FlowControl::new(2, true);
        send(&mut flow, 1);
        // Frames 2..4 were published while frame 1 encoded; the window was never full.
        assert_eq!(
            flow.poll(5, Instant::now()),
            Some(SendPlan {
                frame_seq: 5,
                keyframe: false
            })
        );
        flow.on_sent(5, false, 1000, Instant::now(), Instant::now());
        assert_eq!(flow.frames_dropped(), 3);
    }

    #[test]
    fn drops_without_resync_when_configured() {
        let mut flow = FlowControl::new(1, false);
        send(&mut flow, 1);
        assert_eq!(flow.poll(2, Instant::now()), None);
        flow.on_ack(1, Instant::now());
        assert_eq!(
            flow.poll(3, Instant::now()),
            Some(SendPlan {
                frame_seq: 3,
                keyframe: false
            })
        );
    }

    #[test]
    fn the_latest_frame_is_delivered_once_the_viewer_catches_up() {
        let mut flow = FlowControl::new(1, true);
        send(&mut flow, 1);
        assert_eq!(flow.poll(2, Instant::now()), None, "behind");
        // Nothing new is published after 2; the ack alone must release it (a delta: the
        // viewer has every frame it references).
        flow.on_ack(1, Instant::now());
        assert_eq!(send(&mut flow, 2), Some((2, false)));
    }

    #[test]
    fn acks_are_cumulative_and_stale_acks_are_ignored() {
        let mut flow = FlowControl::new(3, true);
        for f in 1..=3 {
            send(&mut flow, f);
        }
        let acked = flow.on_ack(2, Instant::now());
        assert_eq!(acked.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert!(flow.on_ack(2, Instant::now()).is_empty());
        assert!(flow.on_ack(0, Instant::now()).is_empty());
        assert_eq!(flow.inflight(), 1);
        assert_eq!(flow.on_ack(99, Instant::now()).len(), 1);
    }

    #[test]
    fn keyframe_requests_resend_the_current_frame() {
        let mut flow = FlowControl::new(2, true);
        send(&mut flow, 7);
        flow.on_ack(1, Instant::now());
        assert_eq!(flow.poll(7, Instant::now()), None);
        flow.request_keyframe();
        assert_eq!(
            flow.poll(7, Instant::now()),
            Some(SendPlan {
                frame_seq: 7,
                keyframe: true
            })
        );
        flow.on_sent(7, true, 1000, Instant::now(), Instant::now());
        assert_eq!(flow.frames_dropped(), 0);
        assert_eq!(flow.poll(7, Instant::now()), None);
    }

    #[test]
    fn a_delta_sent_while_a_keyframe_is_pending_does_not_cancel_it() {
        let mut flow = FlowControl::new(2, true);
        send(&mut flow, 1);
        flow.on_ack(1, Instant::now());
        // The viewer resets while frame 2 is being encoded as a delta.
        let plan = flow.poll(2, Instant::now()).expect("sends");
        assert!(!plan.keyframe);
        flow.reset();
        flow.on_sent(2, false, 1000, Instant::now(), Instant::now());
        assert_eq!(
            flow.poll(2, Instant::now()),
            Some(SendPlan {
                frame_seq: 2,
                keyframe: true
            })
        );
    }

    #[test]
    fn reset_clears_the_window_and_forces_a_keyframe() {
        let mut flow = FlowControl::new(2, true);
        send(&mut flow, 1);
        send(&mut flow, 2);
        assert_eq!(flow.reset(), 2);
        assert_eq!(flow.inflight(), 0);
        assert_eq!(
            flow.poll(2, Instant::now()),
            Some(SendPlan {
                frame_seq: 2,
                keyframe: true
            })
        );
    }

    #[test]
    fn stall_detection_uses_the_oldest_frame() {
        let mut flow = FlowControl::new(2, true);
        let t0 = Instant::now();
        assert!(!flow.is_stalled(t0, Duration::from_secs(2)));
        let plan = flow.poll(1, Instant::now()).expect("sends");
        flow.on_sent(plan.frame_seq, plan.keyframe, 1000, t0, t0);
        assert!(!flow.is_stalled(t0 + Duration::from_secs(1), Duration::from_secs(2)));
        assert!(flow.is_stalled(t0 + Duration::from_secs(3), Duration::from_secs(2)));
    }

    /// A 10 kB/s link with 10 ms of delay, fed 1 kB frames at 30 fps (3x what it carries),
    /// simulated in 1 ms steps for `seconds`; each displayed frame is ACKed. Returns the
    /// latest frame published, the time, and the most bytes ever in flight over the last
    /// second of the run.
    fn run_link(
        flow: &mut FlowControl,
        t0: Instant,
        seconds: u64,
        frame_bytes: usize,
        keyframe_bytes: usize,
    ) -> (u64, Instant, usize, u32) {
        let ms = Duration::from_millis(1);
        let rate_per_ms = 10.0; // bytes per millisecond
        let mut wire: VecDeque<(u64, f64)> = VecDeque::new(); // (seq, ms when delivered)
        let mut link_free_at = 0.0f64;
        let mut latest = 0;
        let mut peak = 0;
        let mut late_keyframes = 0;
        for step in 0..seconds * 1000 {
            let t = t0 + ms * step as u32;
            if step % 33 == 0 {
                latest += 1;
            }
            if let Some(plan) = flow.poll(latest, t) {
                if plan.keyframe && step >= 1000 {
                    late_keyframes += 1;
                }
                let bytes = if plan.keyframe {
                    keyframe_bytes
                } else {
                    frame_bytes
                };
                let seq = flow.on_sent(plan.frame_seq, plan.keyframe, bytes, t, t);
                let start = link_free_at.max(step as f64);
                link_free_at = start + bytes as f64 / rate_per_ms;
                wire.push_back((seq, link_free_at + 10.0));
            }
            while wire.front().is_some_and(|(_, at)| *at <= step as f64) {
                if let Some((seq, _)) = wire.pop_front() {
                    flow.on_ack(seq, t);
                }
            }
            if step >= (seconds - 1) * 1000 {
                peak = peak.max(flow.inflight.iter().map(|f| f.bytes).sum());
            }
        }
        (
            latest,
            t0 + ms * (seconds * 1000) as u32,
            peak,
            late_keyframes,
        )
    }

    #[test]
    fn a_congested_link_keeps_in_flight_bytes_within_the_budget() {
        let mut flow = FlowControl::new(8, true);
        let (_, t, peak, _) = run_link(&mut flow, Instant::now(), 5, 1_000, 2_000);
        assert!(
            flow.is_congested(t),
            "a link at a third of the stream is congested"
        );
        // 250 ms of a 10 kB/s link is 2.5 kB; one more frame may be in flight as it drains.
        assert!(
            peak <= 3_500,
            "{peak} bytes in flight (budget {:?})",
            flow.link().budget(t)
        );
        // Without the budget, the 8-frame window would have held 8 kB (800 ms of link).
        assert!(flow.frames_dropped() > 0);
    }

    #[test]
    fn the_resync_keyframe_waits_for_a_healthy_link() {
        let mut flow = FlowControl::new(8, true);
        let t0 = Instant::now();
        let (latest, t, _, late_keyframes) = run_link(&mut flow, t0, 3, 1_000, 5_000);
        // Frames were dropped while behind, but into a congested link only deltas went.
        assert!(flow.frames_dropped() > 0);
        assert_eq!(late_keyframes, 0, "no keyframes into the congested link");
        assert!(flow.resync_pending, "a resync is owed");
        // The link recovers: what is in flight is displayed, then frames cross quickly.
        let ms = Duration::from_millis(1);
        let mut now = t;
        let mut next = latest;
        let mut resynced = false;
        for _ in 0..100 {
            let newest = flow.inflight.back().map(|f| f.seq).unwrap_or(0);
            now += 15 * ms;
            flow.on_ack(newest, now);
            next += 1;
            let plan = flow.poll(next, now).expect("room on a drained link");
            if plan.keyframe {
                let fits = flow.link().budget(now).is_some_and(|b| b >= 5_000);
                assert!(
                    !flow.is_congested(now) || fits,
                    "keyframes only when they fit"
                );
                resynced = true;
                break;
            }
            flow.on_sent(plan.frame_seq, false, 1_000, now, now);
        }
        assert!(
            resynced,
            "the resync keyframe follows once the link is healthy"
        );
    }

    #[test]
    fn small_keyframes_still_resync_a_congested_link() {
        let mut flow = FlowControl::new(8, true);
        // 1.5 kB keyframes fit the 2.5 kB budget: drops are followed by keyframes.
        let (_, _, peak, late_keyframes) = run_link(&mut flow, Instant::now(), 3, 1_000, 1_500);
        assert!(late_keyframes > 3, "{late_keyframes} keyframes");
        assert!(peak <= 3_000, "{peak}");
    }
}
