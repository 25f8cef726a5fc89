//! The decode/draw core: takes decoded server messages (`Config` and frames), runs them
//! through the decoders, draws the results on a [`Surface`] in order, and hands the
//! resulting `Ack`s and keyframe requests to an [`Outbox`]. It touches no `window` or
//! `document`, so it can run in a worker unchanged; the socket lives in `session`.
//!
//! The decisions (what to drop, when to ack, when to ask for a keyframe) are the pure
//! [`FramePolicy`], and when a decoder counts as stalled the pure [`Watchdog`]; this file
//! only executes them.
//!
//! Recovery: a decoder that throws, reports an error, closes itself or stalls (holds
//! chunks without output for the watchdog's allowance, checked every
//! [`WATCHDOG_CHECK_MS`]) is reported, dropped with what it held (acknowledged, so the
//! server's window does not fill), and the server is sent `DecoderReset`: it clears its
//! in-flight window and sends a keyframe, on which a fresh decoder is built. Meanwhile the
//! canvas keeps the last good frame, so a failure never shows black.

use std::cell::RefCell;
use std::rc::Rc;

use rfb_protocol::{
    Ack, ClientMessage, ImageFormat, ImageFrame, InputMessage, StreamConfig, Transport, VideoChunk,
};
use wasm_bindgen::prelude::*;

use super::error::ViewerError;
use super::events::{EventSink, ViewerEvent};
use super::image::{decode_image, OwnedBitmap};
use super::input::InputGeometry;
use super::surface::{draw_frame, CanvasCapture, Layout, Picture, Surface};
use super::timer::Interval;
use super::video::{OwnedFrame, VideoPipe};
use crate::codec::CodecSupport;
use crate::input::InputTarget;
use crate::policy::{Arrival, Counters, Decoded, FramePolicy, InFlight};
use crate::timing::{PhotonMeter, StageSummary, StageTimes, Summary};
use crate::watchdog::Watchdog;

mod decoder;

/// How often the decoder watchdog looks for a stall (milliseconds).
pub const WATCHDOG_CHECK_MS: i32 = 200;

#[wasm_bindgen]
extern "C" {
    /// The global `performance.now()` (windows and workers), in milliseconds.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub(crate) fn performance_now() -> f64;
}

/// `performance.timeOrigin`: the instant this realm's `performance.now()` counts from, in
/// milliseconds since the Unix epoch (0 where the browser has none). Adding it puts a
/// page's event times and a worker's draw times on one clock.
pub(crate) fn time_origin() -> f64 {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"performance".into())
        .and_then(|p| js_sys::Reflect::get(&p, &"timeOrigin".into()))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

/// Where the core sends its messages to the server.
pub trait Outbox {
    /// Sends one message (dropped quietly when the connection is already gone: the close
    /// itself is reported by the session).
    fn send(&self, msg: &ClientMessage) -> Result<(), ViewerError>;

    /// The browser cannot decode the stream's video (see `crate::codec`): the connection
    /// should start over without advertising H.264.
    fn video_unsupported(&self) {}

    /// Sends an input message whose DOM event happened at `event_at_ms` (milliseconds since
    /// the Unix epoch, see [`time_origin`]): where the core can hear it, it waits for the
    /// frame answering the input to measure input -> photon.
    fn send_input(
        &self,
        input: InputMessage,
        _event_at_ms: Option<f64>,
    ) -> Result<(), ViewerError> {
        self.send(&ClientMessage::Input(input))
    }
}

/// The picture on screen, kept so a layout change can redraw it; closed when replaced.
enum Held {
    Video(OwnedFrame),
    Bitmap(OwnedBitmap),
    /// A video frame the viewer converted (`video_copy.rs`).
    Copied(web_sys::OffscreenCanvas),
}

impl Held {
    fn picture(&self) -> Picture<'_> {
        match self {
            Held::Video(f) => Picture::Video(f.frame()),
            Held::Bitmap(b) => Picture::Bitmap(b.bitmap()),
            Held::Copied(c) => Picture::Canvas(c),
        }
    }
}

struct Shown {
    held: Held,
    frame: InFlight,
    /// How it was encoded: `h264`, `jpeg`, `png` or `webp`.
    format: &'static str,
}

/// What [`ViewerCore::stats`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CoreStats {
    /// The frame policy's counters.
    pub counters: Counters,
    /// The negotiated transport's name (`None` before `Config`).
    pub transport: Option<&'static str>,
    /// Decoders rebuilt after an error or a stall (each sent a `DecoderReset`).
    pub decoder_resets: u64,
    /// Image frames drawn in another format than the stream's (the server's stills).
    pub stills: u64,
    /// The encoding of the frame on screen (`h264`, `jpeg`, `png`, `webp`).
    pub shown_format: Option<&'static str>,
    /// This viewer's stages (decode, draw, receive -> ACK) over the last 5 s.
    pub stages: StageSummary,
    /// Input -> photon over the last 5 s (`None` without answered input).
    pub photon: Option<Summary>,
}

struct State {
    policy: FramePolicy,
    config: Option<StreamConfig>,
    video: Option<VideoPipe>,
    /// Bumped for every decoder built, so callbacks of a replaced one are ignored.
    generation: u32,
    /// The decoder failed or closed itself: rebuild it before the next chunk.
    needs_rebuild: bool,
    surface: Box<dyn Surface>,
    layout: Layout,
    shown: Option<Shown>,
    outbox: Rc<dyn Outbox>,
    events: Rc<dyn EventSink>,
    debug: bool,
    closed: bool,
    /// Receive-to-display times since the last [`ViewerCore::take_latency`]: (sum, count).
    latency: (f64, u32),
    /// Stall detection for the current decoder.
    watchdog: Watchdog,
    /// Runs the watchdog; taken out (and cleared) by `close`.
    watchdog_timer: Option<Interval>,
    /// Decoders rebuilt after an error or a stall.
    decoder_resets: u64,
    /// Image frames drawn in another format than the stream's.
    stills: u64,
    /// Bumped when a connection ends, so an image still decoding from it is ignored.
    connection: u32,
    /// Convert I420 video frames here instead of letting the browser draw them (worker
    /// mode; see `video_copy.rs`).
    copy_video: bool,
    /// The canvas of the converted frame last replaced on screen, reused for the next one.
    spare_canvas: Option<web_sys::OffscreenCanvas>,
    /// The conversion buffers, kept between frames (`None` while a conversion has them).
    scratch: Option<super::video_copy::Scratch>,
    /// Whether and how the stream's codec decodes here (video streams only).
    codec: Option<CodecSupport>,
    /// The browser cannot decode this stream's video: chunks are acknowledged and ignored
    /// until the session reconnects without H.264.
    video_refused: bool,
    /// The stages of the frames drawn.
    stages: StageTimes,
    /// Input -> photon.
    photon: PhotonMeter,
    /// [`time_origin`] of this realm.
    time_origin: f64,
}

/// The decode/draw core of one connection.
#[derive(Clone)]
pub struct ViewerCore {
    state: Rc<RefCell<State>>,
}

impl ViewerCore {
    /// A core drawing on `surface` with `layout`, sending through `outbox` and reporting
    /// to `events`; its decoder watchdog fires after `stall_after_ms` without progress.
    pub fn new(
        surface: Box<dyn Surface>,
        layout: Layout,
        outbox: Rc<dyn Outbox>,
        events: Rc<dyn EventSink>,
        debug: bool,
        stall_after_ms: f64,
    ) -> ViewerCore {
        let state = State {
            policy: FramePolicy::new(),
            config: None,
            video: None,
            generation: 0,
            needs_rebuild: false,
            surface,
            layout,
            shown: None,
            outbox,
            events,
            debug,
            closed: false,
            latency: (0.0, 0),
            watchdog: Watchdog::new(stall_after_ms),
            watchdog_timer: None,
            decoder_resets: 0,
            stills: 0,
            connection: 0,
            copy_video: false,
            spare_canvas: None,
            scratch: None,
            codec: None,
            video_refused: false,
            stages: StageTimes::default(),
            photon: PhotonMeter::default(),
            time_origin: time_origin(),
        };
        let core = ViewerCore {
            state: Rc::new(RefCell::new(state)),
        };
        let weak = Rc::downgrade(&core.state);
        let timer = Interval::new(WATCHDOG_CHECK_MS, move || {
            if let Some(state) = weak.upgrade() {
                let mut st = state.borrow_mut();
                st.report_photon();
                st.check_watchdog();
            }
        });
        let mut st = core.state.borrow_mut();
        match timer {
            Ok(timer) => st.watchdog_timer = Some(timer),
            Err(e) => st.events.emit(ViewerEvent::Error(e)),
        }
        drop(st);
        core
    }

    /// Converts software-decoded (I420) video frames to pixels in the viewer instead of
    /// handing them to the browser's `drawImage` (worker mode: see `video_copy.rs`).
    pub fn copy_video_frames(&self, on: bool) {
        self.state.borrow_mut().copy_video = on;
    }

    /// A new stream configuration: the decoder is rebuilt for it.
    pub fn config(&self, config: StreamConfig) {
        let mut st = self.state.borrow_mut();
        if st.closed {
            return;
        }
        st.log(&format!("config {config:?}"));
        let ack = st.policy.decoder_reset();
        st.send_ack(ack);
        st.video = None;
        st.watchdog.reset();
        st.needs_rebuild = config.transport.is_video();
        st.codec = config
            .transport
            .is_video()
            .then(|| CodecSupport::configured(st.codec.take(), &config.codec));
        st.config = Some(config);
        if st.needs_rebuild {
            st.rebuild(&self.state);
            st.check_support(&self.state);
        }
    }

    /// A video access unit.
    pub fn video_chunk(&self, chunk: &VideoChunk<'_>) {
        let mut st = self.state.borrow_mut();
        if st.closed {
            return;
        }
        let is_video = st.config.as_ref().is_some_and(|c| c.transport.is_video());
        if !is_video {
            st.unexpected_frame(chunk.header.seq, "a video chunk on a non-video stream");
            return;
        }
        if st.video_refused {
            // Switching to images: acknowledge so the server's window does not fill.
            let ack = st.policy.decode_failed(chunk.header.seq);
            st.send_ack(ack);
            return;
        }
        let broken = st.video.as_ref().is_none_or(VideoPipe::is_closed);
        if broken && !st.needs_rebuild {
            // It closed without calling the error callback: treat it as a failure.
            st.decoder_failed(ViewerError::Decode {
                seq: chunk.header.seq,
                reason: "the decoder closed".into(),
            });
        }
        // A rebuilt decoder needs a keyframe first, so only a keyframe is worth the attempt
        // (deltas are dropped by the policy meanwhile, and a keyframe requested).
        if st.needs_rebuild && chunk.header.keyframe {
            st.rebuild(&self.state);
        }
        let now = performance_now();
        let queued_before = st.policy.counters().decode_queue_size;
        match st.policy.arrived(&chunk.header, true, now) {
            Arrival::Discard {
                request_keyframe,
                ack,
            } => {
                st.log(&format!(
                    "seq {}: delta without keyframe, dropped",
                    chunk.header.seq
                ));
                st.send_ack(ack);
                if request_keyframe {
                    st.send(&ClientMessage::RequestKeyframe);
                }
            }
            Arrival::Decode => {
                let result = match st.video.as_ref().filter(|_| !st.needs_rebuild) {
                    Some(pipe) => pipe.decode(chunk),
                    None => {
                        // `rebuild` failed and reported why: the frame cannot be decoded.
                        let ack = st.policy.decode_failed(chunk.header.seq);
                        st.send_ack(ack);
                        return;
                    }
                };
                match result {
                    Ok(()) => st.watchdog.fed(now, queued_before),
                    Err(e) => st.decoder_failed(e),
                }
            }
        }
    }

    /// An image frame: decoded concurrently, drawn when it finishes unless a newer frame
    /// is on screen by then.
    pub fn image_frame(&self, frame: &ImageFrame<'_>) {
        let mut st = self.state.borrow_mut();
        if st.closed {
            return;
        }
        let seq = frame.header.seq;
        // Each image is decoded as the format it says it is: a lossless still arrives as
        // PNG on a JPEG stream.
        let format = frame.format;
        st.policy.arrived(&frame.header, false, performance_now());
        match decode_image(frame.payload, format.mime()) {
            Err(reason) => st.image_failed(seq, reason),
            Ok(pending) => {
                let weak = Rc::downgrade(&self.state);
                let connection = st.connection;
                wasm_bindgen_futures::spawn_local(async move {
                    let result = pending.await;
                    if let Some(state) = weak.upgrade() {
                        let mut st = state.borrow_mut();
                        if st.connection == connection {
                            st.image_done(seq, format, result);
                        }
                    }
                });
            }
        }
    }

    /// Changes the layout (fit, background, size, DPR) and redraws the frame on screen.
    /// The server's heartbeat: answer it, so the server knows this viewer is alive.
    pub fn heartbeat(&self) {
        self.state.borrow().send(&ClientMessage::Heartbeat);
    }

    pub fn set_layout(&self, layout: Layout) {
        let mut st = self.state.borrow_mut();
        if st.layout == layout {
            return;
        }
        st.layout = layout;
        if let Some(shown) = st.shown.as_ref() {
            let frame = shown.frame;
            let result = draw_frame(
                st.surface.as_ref(),
                &st.layout,
                shown.held.picture(),
                (frame.width, frame.height),
                frame.color,
            );
            if let Err(e) = result {
                st.events.emit(ViewerEvent::Error(e));
            }
        }
    }

    /// The current layout.
    pub fn layout(&self) -> Layout {
        self.state.borrow().layout.clone()
    }

    /// The frame input maps onto: `(width, height, render DPR)` of the frame on screen
    /// (or, before the first frame, of the `Config`). `None` before any `Config`.
    pub fn input_frame(&self) -> Option<(u32, u32, f32)> {
        let st = self.state.borrow();
        match (&st.shown, &st.config) {
            (Some(shown), _) => Some((
                shown.frame.width,
                shown.frame.height,
                shown.frame.pixel_ratio,
            )),
            (None, Some(config)) => Some((config.width, config.height, config.pixel_ratio)),
            (None, None) => None,
        }
    }

    /// The frame on screen (size, render DPR, colour space), if any.
    pub fn shown_frame(&self) -> Option<InFlight> {
        self.state.borrow().shown.as_ref().map(|s| s.frame)
    }

    /// The counters, the negotiated transport, the recovery and still counts and the
    /// timing summaries.
    pub fn stats(&self) -> CoreStats {
        let mut st = self.state.borrow_mut();
        let now = performance_now();
        let epoch_now = st.time_origin + now;
        CoreStats {
            counters: st.policy.counters(),
            transport: st.config.as_ref().map(|c| c.transport.name()),
            decoder_resets: st.decoder_resets,
            stills: st.stills,
            shown_format: st.shown.as_ref().map(|s| s.format),
            stages: st.stages.summary(now),
            photon: st.photon.summary(epoch_now),
        }
    }

    /// Input `id` went to the server; its DOM event happened at `event_at_ms` (ms since
    /// the Unix epoch): the first frame drawn that answers it gives its input -> photon.
    pub fn input_sent(&self, id: u64, event_at_ms: f64) {
        self.state.borrow_mut().photon.input_sent(id, event_at_ms);
    }

    /// The mean time from receiving a frame to drawing it, over the frames drawn since the
    /// last call (`None` if none was).
    pub fn take_latency(&self) -> Option<f64> {
        let (sum, count) = std::mem::take(&mut self.state.borrow_mut().latency);
        (count > 0).then(|| sum / f64::from(count))
    }

    /// The canvas pixels.
    pub fn capture(&self) -> Result<CanvasCapture, ViewerError> {
        self.state.borrow().surface.capture()
    }

    /// The connection ended and another may follow: the decoder is closed and later
    /// messages are ignored until [`ViewerCore::resume`], but the frame on screen is kept
    /// (and redrawn on layout changes), so a reconnect never shows black.
    pub fn suspend(&self) {
        let mut st = self.state.borrow_mut();
        st.closed = true;
        st.video = None;
        st.needs_rebuild = false;
        st.watchdog.reset();
        st.policy.new_connection();
        st.photon.new_connection();
        st.connection = st.connection.wrapping_add(1);
    }

    /// A new connection starts: its seqs start over and it begins with a `Config`.
    pub fn resume(&self) {
        let mut st = self.state.borrow_mut();
        if st.watchdog_timer.is_none() {
            // Closed for good (disposed): nothing resumes.
            return;
        }
        st.config = None;
        st.closed = false;
        st.video_refused = false;
    }

    /// Closes the decoder and releases the held frame; later messages are ignored. The
    /// canvas keeps showing the last frame.
    pub fn close(&self) {
        let mut st = self.state.borrow_mut();
        st.closed = true;
        st.video = None;
        st.shown = None;
        let timer = st.watchdog_timer.take();
        drop(st);
        drop(timer);
    }
}

impl State {
    fn log(&self, what: &str) {
        if self.debug {
            web_sys::console::debug_1(&JsValue::from_str(&format!("rfb-viewer: {what}")));
        }
    }

    fn send(&self, msg: &ClientMessage) {
        if let Err(e) = self.outbox.send(msg) {
            self.events.emit(ViewerEvent::Error(e));
        }
    }

    fn send_ack(&self, ack: Option<Ack>) {
        if let Some(ack) = ack {
            self.send(&ClientMessage::Ack(ack));
        }
    }

    fn image_done(&mut self, seq: u64, format: ImageFormat, result: Result<OwnedBitmap, String>) {
        if self.closed {
            return;
        }
        match result {
            Ok(bitmap) => match self.policy.image_decoded(seq, performance_now()) {
                Decoded::Draw(info) => {
                    let transport = Transport::Image(format);
                    let still = self
                        .config
                        .as_ref()
                        .is_some_and(|c| c.transport != transport);
                    if self.show(Held::Bitmap(bitmap), info, transport.name()) && still {
                        self.stills += 1;
                    }
                }
                Decoded::Stale => {
                    self.log(&format!("seq {seq}: decoded after a newer frame, dropped"))
                }
            },
            Err(reason) => self.image_failed(seq, reason),
        }
    }

    fn image_failed(&mut self, seq: u64, reason: String) {
        self.events
            .emit(ViewerEvent::Error(ViewerError::Image { seq, reason }));
        let ack = self.policy.decode_failed(seq);
        self.send_ack(ack);
    }

    /// Draws a decoded frame; true when it is on the canvas.
    fn show(&mut self, held: Held, frame: InFlight, format: &'static str) -> bool {
        let drawn = draw_frame(
            self.surface.as_ref(),
            &self.layout,
            held.picture(),
            (frame.width, frame.height),
            frame.color,
        );
        match drawn {
            Ok(()) => {
                let drawn = performance_now();
                self.latency.0 += (drawn - frame.received_ms).max(0.0);
                self.latency.1 += 1;
                if let Some(input_id) = frame.input_id {
                    self.photon.drawn(input_id, self.time_origin + drawn);
                }
                // The ACK goes out now: its time is the draw's, give or take microseconds.
                let timings = frame.timings(drawn, performance_now());
                self.stages.record(drawn, &timings);
                let ack = self.policy.displayed(&frame, Some(timings));
                self.send_ack(ack);
                let replaced = self.shown.replace(Shown {
                    held,
                    frame,
                    format,
                });
                if let Some(Shown {
                    held: Held::Copied(canvas),
                    ..
                }) = replaced
                {
                    self.spare_canvas = Some(canvas);
                }
                true
            }
            Err(e) => {
                self.events.emit(ViewerEvent::Error(e));
                let ack = self.policy.draw_failed(&frame);
                self.send_ack(ack);
                false
            }
        }
    }

    /// Sends the server the input -> photon report when one is due (about once a second
    /// while input is answered), and forgets inputs nothing answered.
    fn report_photon(&mut self) {
        if self.closed {
            return;
        }
        let now = self.time_origin + performance_now();
        self.photon.expire(now);
        if let Some(report) = self.photon.report_due(now) {
            self.send(&ClientMessage::PhotonReport(report));
        }
    }

    fn unexpected_frame(&mut self, seq: u64, what: &str) {
        self.events.emit(ViewerEvent::Error(ViewerError::Protocol {
            len: 0,
            reason: format!("seq {seq}: {what} (no matching Config)"),
        }));
        // Acknowledge it anyway so the server's in-flight window does not fill up.
        self.send(&ClientMessage::Ack(Ack {
            seq,
            decode_queue_size: self.policy.counters().decode_queue_size,
            timings: None,
        }));
    }
}

impl InputGeometry for ViewerCore {
    /// Where input lands: the geometry the frame [`ViewerCore::input_frame`] names is
    /// drawn with, on the current layout.
    fn input_target(&self) -> Option<InputTarget> {
        let (width, height, pixel_ratio) = self.input_frame()?;
        Some(InputTarget {
            geometry: self.state.borrow().layout.geometry(width, height),
            pixel_ratio,
        })
    }
}
