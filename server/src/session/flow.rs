//! Per-viewer flow control: the in-flight window, latest-frame-wins dropping and when the
//! next frame must be a keyframe. A plain state machine (no sockets, no clock of its own),
//! so every rule is unit-tested here and the session is thin glue around it.
//!
//! Rules:
//! - at most `max_inflight` frames are sent and not yet acknowledged; ACKs are cumulative;
//! - while the window is full the viewer is "behind": newer frames replace the waiting one
//!   before anything is encoded (dropped before encoding); when frames were dropped this
//!   way, the next frame sent is a keyframe (with `keyframe_after_drop`, the default), so
//!   the stream resyncs cleanly. A frame that merely waited for the window and was not
//!   superseded is sent as a normal delta;
//! - a dropped frame is never lost for good: once the window opens, the latest published
//!   frame is sent even if nothing new was published since;
//! - the first frame, a keyframe request and a decoder reset force a keyframe, re-sending
//!   the current frame if nothing newer exists;
//! - nothing is sent while nothing new is published.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A frame sent and not yet acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    /// Session sequence number.
    pub seq: u64,
    /// The display's publish counter of the frame.
    pub frame_seq: u64,
    /// When it was handed to the socket.
    pub sent_at: Instant,
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
    frames_dropped: u64,
}

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
            frames_dropped: 0,
        }
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

    /// An ACK for `seq`: clears it and everything older. Returns the acknowledged frames,
    /// oldest first (their `sent_at` gives the round trip). ACKs for unknown or already
    /// acknowledged seqs are ignored.
    pub fn on_ack(&mut self, seq: u64) -> Vec<InFlight> {
        let mut acked = Vec::new();
        while let Some(front) = self.inflight.front() {
            if front.seq > seq {
                break;
            }
            acked.extend(self.inflight.pop_front());
        }
        acked
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

    /// Decides whether to encode now, given the latest published frame (`0` = none yet).
    pub fn poll(&mut self, latest_frame_seq: u64) -> Option<SendPlan> {
        if latest_frame_seq == 0 {
            return None;
        }
        let has_new = latest_frame_seq > self.last_sent_frame_seq;
        // A pending keyframe re-sends the current frame when nothing newer exists.
        if !has_new && !self.keyframe_needed {
            return None;
        }
        if self.inflight.len() >= self.max_inflight {
            if has_new {
                self.behind = true;
            }
            return None;
        }
        let dropped_while_behind = self.behind && latest_frame_seq > self.last_sent_frame_seq + 1;
        Some(SendPlan {
            frame_seq: latest_frame_seq,
            keyframe: self.keyframe_needed || (self.keyframe_after_drop && dropped_while_behind),
        })
    }

    /// Records that frame `frame_seq` was encoded (as a keyframe or not) and sent at
    /// `now`; returns its session sequence number.
    pub fn on_sent(&mut self, frame_seq: u64, keyframe: bool, now: Instant) -> u64 {
        if self.last_sent_frame_seq > 0 && frame_seq > self.last_sent_frame_seq + 1 {
            self.frames_dropped += frame_seq - self.last_sent_frame_seq - 1;
        }
        self.last_sent_frame_seq = self.last_sent_frame_seq.max(frame_seq);
        if keyframe {
            self.keyframe_needed = false;
        }
        self.behind = false;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.inflight.push_back(InFlight {
            seq,
            frame_seq,
            sent_at: now,
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
        let plan = flow.poll(latest)?;
        let seq = flow.on_sent(plan.frame_seq, plan.keyframe, Instant::now());
        Some((seq, plan.keyframe))
    }

    #[test]
    fn nothing_is_sent_before_a_frame_or_twice() {
        let mut flow = FlowControl::new(2, true);
        assert_eq!(flow.poll(0), None);
        assert_eq!(
            send(&mut flow, 1),
            Some((1, true)),
            "first frame is a keyframe"
        );
        assert_eq!(flow.poll(1), None, "the same frame is not sent again");
        assert_eq!(send(&mut flow, 2), Some((2, false)));
    }

    #[test]
    fn a_full_window_drops_and_resyncs_with_a_keyframe() {
        let mut flow = FlowControl::new(2, true);
        send(&mut flow, 1);
        send(&mut flow, 2);
        assert_eq!(flow.poll(3), None, "window full");
        assert_eq!(flow.poll(4), None);
        assert_eq!(flow.on_ack(1).len(), 1);
        // Frame 3 was skipped; 4 goes out as a keyframe.
        assert_eq!(
            flow.poll(4),
            Some(SendPlan {
                frame_seq: 4,
                keyframe: true
            })
        );
        assert_eq!(flow.on_sent(4, true, Instant::now()), 3);
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
        assert_eq!(flow.poll(2), None, "window full: frame 2 waits");
        flow.on_ack(1);
        assert_eq!(
            flow.poll(2),
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
            flow.poll(5),
            Some(SendPlan {
                frame_seq: 5,
                keyframe: false
            })
        );
        flow.on_sent(5, false, Instant::now());
        assert_eq!(flow.frames_dropped(), 3);
    }

    #[test]
    fn drops_without_resync_when_configured() {
        let mut flow = FlowControl::new(1, false);
        send(&mut flow, 1);
        assert_eq!(flow.poll(2), None);
        flow.on_ack(1);
        assert_eq!(
            flow.poll(3),
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
        assert_eq!(flow.poll(2), None, "behind");
        // Nothing new is published after 2; the ack alone must release it (a delta: the
        // viewer has every frame it references).
        flow.on_ack(1);
        assert_eq!(send(&mut flow, 2), Some((2, false)));
    }

    #[test]
    fn acks_are_cumulative_and_stale_acks_are_ignored() {
        let mut flow = FlowControl::new(3, true);
        for f in 1..=3 {
            send(&mut flow, f);
        }
        let acked = flow.on_ack(2);
        assert_eq!(acked.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert!(flow.on_ack(2).is_empty());
        assert!(flow.on_ack(0).is_empty());
        assert_eq!(flow.inflight(), 1);
        assert_eq!(flow.on_ack(99).len(), 1);
    }

    #[test]
    fn keyframe_requests_resend_the_current_frame() {
        let mut flow = FlowControl::new(2, true);
        send(&mut flow, 7);
        flow.on_ack(1);
        assert_eq!(flow.poll(7), None);
        flow.request_keyframe();
        assert_eq!(
            flow.poll(7),
            Some(SendPlan {
                frame_seq: 7,
                keyframe: true
            })
        );
        flow.on_sent(7, true, Instant::now());
        assert_eq!(flow.frames_dropped(), 0);
        assert_eq!(flow.poll(7), None);
    }

    #[test]
    fn a_delta_sent_while_a_keyframe_is_pending_does_not_cancel_it() {
        let mut flow = FlowControl::new(2, true);
        send(&mut flow, 1);
        flow.on_ack(1);
        // The viewer resets while frame 2 is being encoded as a delta.
        let plan = flow.poll(2).expect("sends");
        assert!(!plan.keyframe);
        flow.reset();
        flow.on_sent(2, false, Instant::now());
        assert_eq!(
            flow.poll(2),
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
            flow.poll(2),
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
        let plan = flow.poll(1).expect("sends");
        flow.on_sent(plan.frame_seq, plan.keyframe, t0);
        assert!(!flow.is_stalled(t0 + Duration::from_secs(1), Duration::from_secs(2)));
        assert!(flow.is_stalled(t0 + Duration::from_secs(3), Duration::from_secs(2)));
    }
}
