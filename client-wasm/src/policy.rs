//! Which frames the viewer decodes, draws, drops and acknowledges: a small state machine
//! with no browser types, so native unit tests cover it and the web glue only executes its
//! decisions.
//!
//! The rules:
//! - Frames are drawn in order. A frame that finishes decoding after a newer one is already
//!   on screen is dropped (images decode concurrently and can finish out of order).
//! - A delta that arrives while the decoder has no keyframe (just created or rebuilt) is
//!   dropped and a keyframe is requested; the request is repeated every
//!   [`KEYFRAME_REREQUEST_AFTER`] further deltas in case the first one was lost.
//! - An `Ack` is sent once a frame is displayed, with the viewer's durations for it
//!   (`FrameTimings`) when the ack names exactly that frame. Acks are cumulative on the server (it
//!   clears every in-flight seq up to the acked one), so a frame skipped because a newer one
//!   was drawn needs none. A frame that will never be displayed because it was discarded
//!   (no keyframe yet, decoder lost, image undecodable) is acknowledged when discarded, or
//!   the server's in-flight window would fill with frames nobody will ever ack and the
//!   stream would freeze.

use std::collections::VecDeque;

use rfb_protocol::{Ack, ColorSpace, FrameHeader, FrameTimings};

/// Deltas dropped while waiting for a keyframe before the request is sent again.
pub const KEYFRAME_REREQUEST_AFTER: u32 = 30;

/// A frame handed to a decoder and not yet displayed or dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InFlight {
    /// Session sequence number (acknowledged).
    pub seq: u64,
    /// The display's publish counter.
    pub frame_seq: u64,
    /// Publish time, microseconds (the video decoder echoes it on its output).
    pub timestamp_us: u64,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// The frame's render device pixel ratio (echoed on input events).
    pub pixel_ratio: f32,
    /// The colour space its pixels are in (the canvas is created to match).
    pub color: ColorSpace,
    /// When the viewer received it, in milliseconds on the caller's clock.
    pub received_ms: f64,
    /// When the decoder output it, on the same clock (`received_ms` until then).
    pub decoded_ms: f64,
    /// The newest input of this viewer the frame answers (`FrameHeader::input_id`).
    pub input_id: Option<u64>,
}

impl InFlight {
    /// The in-flight record of a frame received at `received_ms`.
    pub fn new(h: &FrameHeader, received_ms: f64) -> Self {
        InFlight {
            seq: h.seq,
            frame_seq: h.frame_seq,
            timestamp_us: h.timestamp_us,
            width: h.width,
            height: h.height,
            pixel_ratio: h.pixel_ratio,
            color: h.color,
            received_ms,
            decoded_ms: received_ms,
            input_id: h.input_id,
        }
    }

    /// The frame's durations, drawn at `drawn_ms` and acknowledged at `acked_ms`.
    pub fn timings(&self, drawn_ms: f64, acked_ms: f64) -> FrameTimings {
        FrameTimings::from_ms(self.received_ms, self.decoded_ms, drawn_ms, acked_ms)
    }
}

/// What to do with a frame that just arrived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Hand it to the decoder.
    Decode,
    /// Drop it without decoding.
    Discard {
        /// Send `RequestKeyframe`.
        request_keyframe: bool,
        /// Send this `Ack` so the server's in-flight window does not fill up.
        ack: Option<Ack>,
    },
}

/// What to do with a frame the decoder produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decoded {
    /// Draw it, then report [`FramePolicy::displayed`].
    Draw(InFlight),
    /// Older than the frame on screen, or unknown: close it without drawing.
    Stale,
}

/// The viewer's counters, as `stats()` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames drawn on the canvas.
    pub frames_displayed: u64,
    /// Frames received but never drawn (stale, no keyframe, decoder lost or failed).
    pub frames_dropped: u64,
    /// Session seq of the frame on screen.
    pub last_displayed_seq: Option<u64>,
    /// Publish counter of the frame on screen.
    pub last_frame_seq: Option<u64>,
    /// Frames handed to a decoder and not yet displayed or dropped.
    pub decode_queue_size: u32,
}

/// The frame policy of one connection.
#[derive(Debug, Default)]
pub struct FramePolicy {
    /// The decoder has seen a keyframe since it was (re)built.
    has_keyframe: bool,
    /// A keyframe request is outstanding.
    keyframe_requested: bool,
    /// Deltas dropped since the last keyframe request.
    deltas_since_request: u32,
    /// Frames given to the decoder, in decode order.
    in_flight: VecDeque<InFlight>,
    /// Highest seq acknowledged to the server.
    acked: u64,
    /// Newest discarded frame not yet covered by an ack.
    unacked_discard: Option<u64>,
    /// Seq of the newest frame displayed on this connection (what a later decode must beat;
    /// the counters keep reporting the frame on screen across a reconnect).
    shown_seq: Option<u64>,
    counters: Counters,
}

impl FramePolicy {
    /// A policy for a fresh connection: no decoder, nothing in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// The connection ended and the viewer opens another, whose seqs start over: what was
    /// in flight is lost (counted as dropped; there is no one to acknowledge it to) and
    /// the new connection starts from a keyframe. The counters, and the frame on screen
    /// they describe, carry over.
    pub fn new_connection(&mut self) {
        self.counters.frames_dropped += self.in_flight.len() as u64;
        *self = FramePolicy {
            counters: self.counters,
            ..FramePolicy::default()
        };
    }

    /// The counters, with the current decode queue size.
    pub fn counters(&self) -> Counters {
        Counters {
            decode_queue_size: self.queue_size(),
            ..self.counters
        }
    }

    /// The oldest frame handed to the decoder and not yet out of it.
    pub fn oldest_in_flight(&self) -> Option<u64> {
        self.in_flight.front().map(|f| f.seq)
    }

    fn queue_size(&self) -> u32 {
        u32::try_from(self.in_flight.len()).unwrap_or(u32::MAX)
    }

    /// The decoder was (re)built, for a new `Config` or after an error: every frame in
    /// flight is lost (dropped and, if needed, acknowledged) and a keyframe is needed again.
    pub fn decoder_reset(&mut self) -> Option<Ack> {
        self.has_keyframe = false;
        self.keyframe_requested = false;
        self.deltas_since_request = 0;
        self.counters.frames_dropped += self.in_flight.len() as u64;
        let lost = self.in_flight.drain(..).map(|f| f.seq).max();
        lost.and_then(|seq| self.discarded(seq))
    }

    /// The decoder failed (or stalled): like [`FramePolicy::decoder_reset`], and the
    /// server must be told right away (returned as `true`; the viewer sends
    /// `DecoderReset`, which also clears the server's in-flight window and brings a
    /// keyframe).
    pub fn decoder_failed(&mut self) -> (Option<Ack>, bool) {
        let ack = self.decoder_reset();
        self.keyframe_requested = true;
        (ack, true)
    }

    /// A frame arrived at `now_ms`. `video` is true on the video transport, where deltas
    /// depend on the decoder having seen a keyframe.
    pub fn arrived(&mut self, header: &FrameHeader, video: bool, now_ms: f64) -> Arrival {
        if video && !header.keyframe && !self.has_keyframe {
            self.counters.frames_dropped += 1;
            self.deltas_since_request += 1;
            let request_keyframe =
                !self.keyframe_requested || self.deltas_since_request >= KEYFRAME_REREQUEST_AFTER;
            if request_keyframe {
                self.keyframe_requested = true;
                self.deltas_since_request = 0;
            }
            return Arrival::Discard {
                request_keyframe,
                ack: self.discarded(header.seq),
            };
        }
        if header.keyframe {
            self.has_keyframe = true;
            self.keyframe_requested = false;
            self.deltas_since_request = 0;
        }
        self.in_flight.push_back(InFlight::new(header, now_ms));
        Arrival::Decode
    }

    /// The video decoder output the frame with this timestamp at `now_ms`. Decoders output
    /// in decode order, so frames queued before it that never came out were dropped by the
    /// decoder.
    pub fn video_decoded(&mut self, timestamp_us: u64, now_ms: f64) -> Decoded {
        let Some(pos) = self
            .in_flight
            .iter()
            .position(|f| f.timestamp_us == timestamp_us)
        else {
            return Decoded::Stale;
        };
        let skipped = self.in_flight.drain(..pos).count();
        self.counters.frames_dropped += skipped as u64;
        match self.in_flight.pop_front() {
            Some(frame) => self.fresh_or_stale(InFlight {
                decoded_ms: now_ms,
                ..frame
            }),
            None => Decoded::Stale,
        }
    }

    /// The image with this seq finished decoding at `now_ms` (images finish in any order).
    pub fn image_decoded(&mut self, seq: u64, now_ms: f64) -> Decoded {
        match self.take(seq) {
            Some(frame) => self.fresh_or_stale(InFlight {
                decoded_ms: now_ms,
                ..frame
            }),
            None => Decoded::Stale,
        }
    }

    /// The frame with this seq could not be decoded (an undecodable image, or no decoder to
    /// give it to): it is dropped (and acknowledged).
    pub fn decode_failed(&mut self, seq: u64) -> Option<Ack> {
        self.take(seq)?;
        self.counters.frames_dropped += 1;
        self.discarded(seq)
    }

    fn take(&mut self, seq: u64) -> Option<InFlight> {
        let pos = self.in_flight.iter().position(|f| f.seq == seq)?;
        self.in_flight.remove(pos)
    }

    fn fresh_or_stale(&mut self, frame: InFlight) -> Decoded {
        match self.shown_seq {
            Some(shown) if frame.seq <= shown => {
                self.counters.frames_dropped += 1;
                Decoded::Stale
            }
            _ => Decoded::Draw(frame),
        }
    }

    /// True when a frame newer than `seq` is already on screen (so `seq`, decoded but
    /// converted late, must not be drawn).
    pub fn is_superseded(&self, seq: u64) -> bool {
        self.shown_seq.is_some_and(|shown| shown >= seq)
    }

    /// The frame is on the canvas: count it and acknowledge it. `timings` (its
    /// durations) go with the ack when the ack names this frame (not when it also covers
    /// a newer discarded one: the server would file them under that frame).
    pub fn displayed(&mut self, frame: &InFlight, timings: Option<FrameTimings>) -> Option<Ack> {
        self.counters.frames_displayed += 1;
        self.counters.last_displayed_seq = Some(frame.seq);
        self.shown_seq = Some(frame.seq);
        self.counters.last_frame_seq = Some(frame.frame_seq);
        self.settle(frame.seq).map(|ack| Ack {
            timings: timings.filter(|_| ack.seq == frame.seq),
            ..ack
        })
    }

    /// Drawing a decoded frame failed: it counts as dropped and is acknowledged.
    pub fn draw_failed(&mut self, frame: &InFlight) -> Option<Ack> {
        self.counters.frames_dropped += 1;
        self.discarded(frame.seq)
    }

    /// Records a frame that will never be displayed and acknowledges it when that is safe.
    fn discarded(&mut self, seq: u64) -> Option<Ack> {
        self.unacked_discard = self.unacked_discard.max(Some(seq));
        self.settle(0)
    }

    /// Acknowledges `displayed` and the newest discarded frame, unless an older frame is
    /// still being decoded: the cumulative ack would claim that one too early (its own
    /// display, or a later one, covers the discarded frame then).
    fn settle(&mut self, displayed: u64) -> Option<Ack> {
        let mut target = displayed;
        if let Some(discard) = self.unacked_discard {
            if discard <= displayed || !self.in_flight.iter().any(|f| f.seq < discard) {
                target = target.max(discard);
                self.unacked_discard = None;
            }
        }
        self.ack(target)
    }

    fn ack(&mut self, seq: u64) -> Option<Ack> {
        if seq <= self.acked {
            return None;
        }
        self.acked = seq;
        Some(Ack {
            seq,
            decode_queue_size: self.queue_size(),
            timings: None,
        })
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
