//! The video decoder's life cycle inside the core: building it for a `Config`, the
//! frames it outputs, and its failures (a throw, an error, a close, or a stall the
//! [`Watchdog`](crate::watchdog::Watchdog) notices), each answered the same way: report,
//! drop what it held, `DecoderReset`, rebuild at the next keyframe.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use rfb_protocol::{ClientMessage, BT601_LIMITED};

use super::{performance_now, Held, State};
use crate::codec::{Acceleration, Next};
use crate::policy::{Decoded, InFlight};
use crate::web::error::ViewerError;
use crate::web::events::ViewerEvent;
use crate::web::video::{supports, OwnedFrame, VideoPipe};
use crate::web::video_copy::{copy_frame, is_copyable};

impl State {
    /// Builds a decoder for the current config; on failure reports it and leaves none.
    pub(super) fn rebuild(&mut self, shared: &Rc<RefCell<State>>) {
        self.needs_rebuild = false;
        self.video = None;
        self.watchdog.reset();
        let Some(config) = self.config.as_ref() else {
            return;
        };
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let (on_frame, on_error): (Weak<RefCell<State>>, Weak<RefCell<State>>) =
            (Rc::downgrade(shared), Rc::downgrade(shared));
        let acceleration = self
            .codec
            .as_ref()
            .map_or(Acceleration::Default, |c| c.acceleration());
        let pipe = VideoPipe::new(
            config,
            acceleration,
            move |frame| {
                if let Some(state) = on_frame.upgrade() {
                    state
                        .borrow_mut()
                        .video_done(generation, frame, Rc::downgrade(&state));
                }
            },
            move |error| {
                if let Some(state) = on_error.upgrade() {
                    let mut st = state.borrow_mut();
                    if st.generation == generation && !st.closed {
                        st.decoder_failed(error);
                    }
                }
            },
        );
        match pipe {
            Ok(pipe) => {
                self.log(&format!(
                    "decoder configured for {} ({})",
                    pipe.codec(),
                    acceleration.name()
                ));
                self.video = Some(pipe);
            }
            Err(e) => {
                self.events.emit(ViewerEvent::Error(e));
                // Frames keep arriving: each one will try again after a keyframe request.
                self.needs_rebuild = true;
            }
        }
    }

    /// The decoder failed (threw, errored, closed or stalled): report it, drop what it
    /// held, tell the server (`DecoderReset`: it clears its window and sends a keyframe),
    /// and rebuild the decoder at that keyframe (not here: this may run inside the
    /// decoder's own callback). The canvas keeps the last frame drawn meanwhile.
    pub(super) fn decoder_failed(&mut self, mut error: ViewerError) {
        if self.video_refused {
            return; // video was given up: a late callback of the last decoder
        }
        if let ViewerError::Decode { seq, .. } = &mut error {
            if *seq == 0 {
                *seq = self.policy.oldest_in_flight().unwrap_or(0);
            }
        }
        self.events.emit(ViewerEvent::Error(error));
        let next = self.codec.as_mut().map(|c| c.failed(false));
        self.next_decoder(next);
    }

    /// After a failure: drop what the decoder held and rebuild it at the next keyframe,
    /// or give video up when the codec does not decode here (see `crate::codec`).
    fn next_decoder(&mut self, next: Option<Next>) {
        let (ack, reset) = self.policy.decoder_failed();
        self.send_ack(ack);
        self.watchdog.reset();
        // The decoder itself is dropped at the rebuild (this may run inside its callback).
        if next == Some(Next::GiveUp) {
            let codec = self
                .config
                .as_ref()
                .map_or("", |c| c.codec.as_str())
                .to_string();
            self.events.emit(ViewerEvent::Error(ViewerError::Configure {
                codec,
                reason: "this browser cannot decode it (also not with prefer-software); \
                         switching to images"
                    .into(),
            }));
            self.needs_rebuild = false;
            self.video_refused = true;
            self.outbox.video_unsupported();
            return;
        }
        self.decoder_resets += 1;
        if reset {
            self.send(&ClientMessage::DecoderReset);
        }
        self.needs_rebuild = true;
    }

    /// Asks the browser whether it decodes the current configuration as the next decoder
    /// will be built; a no is handled like a failure before the first frame (software
    /// next, then images), and the next rung is checked the same way.
    pub(super) fn check_support(&self, shared: &Rc<RefCell<State>>) {
        let (Some(config), Some(codec)) = (self.config.clone(), self.codec.as_ref()) else {
            return;
        };
        let acceleration = codec.acceleration();
        let connection = self.connection;
        let weak = Rc::downgrade(shared);
        wasm_bindgen_futures::spawn_local(async move {
            if supports(&config, acceleration).await {
                return;
            }
            let Some(state) = weak.upgrade() else { return };
            let mut st = state.borrow_mut();
            let current = st.codec.as_ref().map(|c| c.acceleration());
            if st.closed || st.connection != connection || current != Some(acceleration) {
                return; // another connection, configuration or rung by now
            }
            st.log(&format!(
                "{} is not supported with {}",
                config.codec,
                acceleration.name()
            ));
            let next = st.codec.as_mut().map(|c| c.failed(true));
            st.next_decoder(next);
            if matches!(next, Some(Next::Rebuild(_))) {
                st.check_support(&state);
            }
        });
    }

    /// The watchdog's periodic look at the decoder: one that closed itself unnoticed, or
    /// that holds chunks without producing frames, is failed (a stalled one is closed
    /// first, dropping its queue).
    pub(super) fn check_watchdog(&mut self) {
        if self.closed || self.needs_rebuild || self.video_refused {
            return;
        }
        let Some(pipe) = self.video.as_ref() else {
            return;
        };
        if pipe.is_closed() {
            self.decoder_failed(ViewerError::Decode {
                seq: 0,
                reason: "the decoder closed".into(),
            });
            return;
        }
        let queued = self.policy.counters().decode_queue_size;
        if let Some(stall) = self.watchdog.check(performance_now(), queued) {
            self.video = None;
            self.decoder_failed(ViewerError::Stalled {
                queued: stall.queued,
                idle_ms: stall.idle_ms.round() as u64,
            });
        }
    }

    fn video_done(&mut self, generation: u32, frame: OwnedFrame, shared: Weak<RefCell<State>>) {
        if self.closed || generation != self.generation {
            return; // dropping `frame` closes it
        }
        if let Some(codec) = self.codec.as_mut() {
            codec.decoded();
        }
        let decoded = self
            .policy
            .video_decoded(frame.timestamp_us(), performance_now());
        let queued = self.policy.counters().decode_queue_size;
        self.watchdog.output(performance_now(), queued);
        match decoded {
            Decoded::Draw(info) => {
                let format = self.config.as_ref().map_or("h264", |c| c.transport.name());
                if self.copy_video && is_copyable(frame.frame()) {
                    self.copy_then_show(frame, info, format, shared);
                } else {
                    self.show(Held::Video(frame), info, format);
                }
            }
            Decoded::Stale => self.log(&format!("stale video frame at {}us", frame.timestamp_us())),
        }
    }

    /// Converts the frame's pixels here ([`copy_frame`]) and draws the result, unless
    /// a newer frame got on screen first or the connection changed meanwhile. A failed
    /// conversion is reported once and the browser draws frames from then on.
    fn copy_then_show(
        &mut self,
        frame: OwnedFrame,
        info: InFlight,
        format: &'static str,
        shared: Weak<RefCell<State>>,
    ) {
        let encoding = self
            .config
            .as_ref()
            .and_then(|c| c.yuv)
            .unwrap_or(BT601_LIMITED);
        let connection = self.connection;
        let spare = self.spare_canvas.take();
        // A conversion already under way has the buffers: this one gets fresh ones.
        let mut scratch = self.scratch.take().unwrap_or_default();
        wasm_bindgen_futures::spawn_local(async move {
            let result = copy_frame(frame.frame(), encoding, info.color, spare, &mut scratch).await;
            drop(frame);
            let Some(state) = shared.upgrade() else {
                return;
            };
            let mut st = state.borrow_mut();
            st.scratch = Some(scratch);
            if st.closed || st.connection != connection {
                return;
            }
            match result {
                Ok(canvas) if !st.policy.is_superseded(info.seq) => {
                    st.show(Held::Copied(canvas), info, format);
                }
                Ok(canvas) => {
                    st.spare_canvas = Some(canvas);
                    let ack = st.policy.draw_failed(&info);
                    st.send_ack(ack);
                }
                Err(reason) => {
                    st.copy_video = false;
                    st.events.emit(ViewerEvent::Error(ViewerError::Draw {
                        what: "copy of a video frame (the browser draws them from now on)",
                        reason,
                    }));
                    let ack = st.policy.draw_failed(&info);
                    st.send_ack(ack);
                }
            }
        });
    }
}
