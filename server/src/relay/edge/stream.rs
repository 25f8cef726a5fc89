//! One relayed stream on an edge: the task that keeps it fed.
//!
//! - **Demand**: while the stream has viewers on this edge, and for [`LINGER`] after the
//!   last one left (so the next joiner finds a warm cache), the edge subscribes to
//!   `P.s.NAME.au` and sends a `Demand` every second.
//! - **Feeding**: each access unit goes to the stream's fed lane. A gap in the relay's
//!   numbering (NATS dropped messages, a reconnect) or a new origin instance (the origin
//!   restarted) makes the cached group unusable: the lane drops it and its members wait
//!   for the next IDR. Publish times arrive on the Unix clock and become the edge
//!   display's clock, so `/metrics` latency covers the relay hop.
//! - **Asking for an IDR** (`P.s.NAME.idr`, 1 s timeout): only when the lane has members
//!   and no usable group (nothing received yet, a gap, a group too long to keep or to
//!   replay), at most every [`IDR_ASK_EVERY`]. Joins with a short group cached never ask:
//!   they replay it. Once the origin granted one, the edge waits for that IDR (up to
//!   [`IDR_GRANT_WAIT`]) instead of asking again: on a loaded machine the IDR can take
//!   longer than [`IDR_ASK_EVERY`] to arrive, and a second request would cost every
//!   viewer of the stream a second IDR. A fresh subscription counts as granted: an origin
//!   that starts publishing a stream starts with an IDR; only when the first item is a
//!   delta (the origin was already publishing for other edges) does the edge ask at once.
//! - **Images**: while an image viewer is connected, a decoder thread decodes the access
//!   units (starting from the cached group) and publishes the pictures into the edge's
//!   display for the image cache; it restarts at the next IDR if it falls behind.
//! - **Clipboard**: the origin app's clipboard offers arrive numbered with the access
//!   units and go to every viewer of the stream on this edge.
//! - **Parts**: items arrive in parts no larger than the NATS `max_payload`
//!   ([`crate::relay::chunks`]); a lost part is a lost item, so a gap like any other.
//! - **Input**: the edge display's events go to `P.s.NAME.input`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;

use super::EdgeShared;
use crate::display::{Display, FrameMeta};
use crate::encode::EncodedPayload;
use crate::events::DisplayEvent;
use crate::fanout::lane::{Lane, LaneChunk, LaneKey};
use crate::frame::{Frame, PublishedFrame};
use crate::relay::chunks::{ChunkError, Reassembler};
use crate::relay::wire::{
    self, AccessUnit, Demand, IdrReply, IdrRequest, Part, RelayInput, StreamInfo, StreamItem,
    WireError,
};
use crate::relay::{subjects, unix_us};

/// How long an edge keeps receiving a stream after its last viewer left.
pub const LINGER: Duration = Duration::from_secs(30);

/// Least time between two IDR requests of one stream from one edge.
pub const IDR_ASK_EVERY: Duration = Duration::from_millis(500);

/// How long a granted IDR may take to reach the edge before it asks again.
pub const IDR_GRANT_WAIT: Duration = Duration::from_secs(2);

/// Where the edge's IDR request stands (the value of `Feeder::asking`).
const ASK_IDLE: u64 = 0;
/// A request is out, no answer yet.
const ASK_OUT: u64 = 1;
/// The origin granted an IDR that has not arrived yet.
const ASK_GRANTED: u64 = 2;

/// Whether to ask the origin for an IDR now: members `waiting` for one, the request
/// `state`, and the time since the last request (`None`: never asked, or a gap since).
fn should_ask_idr(waiting: bool, state: u64, since_last: Option<Duration>) -> bool {
    if !waiting || state == ASK_OUT {
        return false;
    }
    match since_last {
        None => true,
        Some(t) if state == ASK_GRANTED => t >= IDR_GRANT_WAIT,
        Some(t) => t >= IDR_ASK_EVERY,
    }
}

/// Access units waiting for the image decoder before it gives up and restarts.
const DECODE_QUEUE: usize = 16;

/// Why a message on `P.s.NAME.au` was dropped.
#[derive(Debug, thiserror::Error)]
enum RelayItemError {
    /// The part or the item does not decode.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The part does not fit the item being reassembled.
    #[error(transparent)]
    Chunk(#[from] ChunkError),
}

/// A relayed stream's handle in the edge.
#[derive(Debug)]
pub(crate) struct EdgeStream {
    origin: String,
    instance: u64,
    last_seen: Instant,
    conflict_logged: bool,
    task: tokio::task::JoinHandle<()>,
}

impl EdgeStream {
    /// Starts feeding `display` from the relay with what origin `origin` (process
    /// `instance`) publishes.
    pub fn start(
        shared: Arc<EdgeShared>,
        display: Display,
        origin: &str,
        instance: u64,
        info: &StreamInfo,
    ) -> EdgeStream {
        let lane = Lane::fed(LaneKey::new(info.bitrate_bps, info.fps));
        display.state.fanout.set_fed(lane.clone());
        let feeder = Feeder {
            subject_au: subjects::access_units(&shared.options.prefix, &info.name),
            subject_demand: subjects::demand(&shared.options.prefix, &info.name),
            subject_idr: subjects::keyframes(&shared.options.prefix, &info.name),
            subject_input: subjects::input(&shared.options.prefix, &info.name),
            shared,
            epoch_unix_us: unix_us()
                .saturating_sub(display.state.epoch.elapsed().as_micros() as u64),
            display,
            lane,
            instance,
            expected_n: None,
            parts: Reassembler::default(),
            last_ts: 0,
            last_ask: None,
            asking: Arc::new(AtomicU64::new(ASK_IDLE)),
            awaiting_first_item: false,
            decoder: None,
            black: None,
        };
        EdgeStream {
            origin: origin.to_string(),
            instance,
            last_seen: Instant::now(),
            conflict_logged: false,
            task: tokio::spawn(feeder.run()),
        }
    }

    /// The origin's relay name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The origin process this stream is fed from.
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// A catalogue of its origin named the stream again.
    pub fn seen(&mut self, now: Instant) {
        self.last_seen = now;
    }

    /// Another origin announces a stream of the same name (logged once).
    pub fn note_conflict(&mut self, other: &str) {
        if !self.conflict_logged {
            self.conflict_logged = true;
            tracing::warn!(
                origin = %self.origin,
                other = %other,
                "relay: two origins announce one stream name; serving the first"
            );
        }
    }

    /// When a catalogue last named the stream.
    pub fn last_seen(&self) -> Instant {
        self.last_seen
    }

    /// Stops feeding.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// A picture to decode for the image viewers.
struct ToDecode {
    payload: Bytes,
    keyframe: bool,
    yuv: rfb_protocol::YuvEncoding,
    meta: FrameMeta,
    /// The origin's publish counter and the edge display's timestamp of the frame.
    seq: u64,
    timestamp_us: u64,
}

struct Feeder {
    shared: Arc<EdgeShared>,
    display: Display,
    lane: Arc<Lane>,
    subject_au: String,
    subject_demand: String,
    subject_idr: String,
    subject_input: String,
    /// The edge display's epoch on the Unix clock.
    epoch_unix_us: u64,
    instance: u64,
    expected_n: Option<u64>,
    /// The item being reassembled from its parts.
    parts: Reassembler,
    last_ts: u64,
    last_ask: Option<Instant>,
    /// Where the IDR request stands: `ASK_IDLE`, `ASK_OUT` or `ASK_GRANTED`.
    asking: Arc<AtomicU64>,
    /// Subscribed, nothing received yet (see the module rules on asking).
    awaiting_first_item: bool,
    decoder: Option<std_mpsc::SyncSender<ToDecode>>,
    /// A black frame of the current size: lane chunks carry a frame for its size and
    /// metadata; on an edge its pixels are never encoded (members replay, never go
    /// private), and one shared buffer costs one allocation per size.
    black: Option<Frame>,
}

impl Feeder {
    async fn run(mut self) {
        let mut subscription: Option<async_nats::Subscriber> = None;
        let mut last_viewer = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut last_demand: Option<Instant> = None;
        let mut bad = 0u64;
        loop {
            let viewers = self.display.client_count();
            if viewers > 0 {
                last_viewer = Instant::now();
            }
            let wanted = viewers > 0 || last_viewer.elapsed() < LINGER;
            if wanted && subscription.is_none() {
                match self.shared.client.subscribe(self.subject_au.clone()).await {
                    Ok(sub) => {
                        subscription = Some(sub);
                        self.awaiting_first_item = true;
                        self.asking.store(ASK_GRANTED, Ordering::Release);
                        self.last_ask = Some(Instant::now());
                        self.parts.clear();
                        self.expected_n = None;
                        last_demand = None;
                    }
                    Err(err) => tracing::debug!("relay: subscribe failed: {err}"),
                }
            } else if !wanted && subscription.is_some() {
                subscription = None;
                self.parts.clear();
                self.lane.feed_gap();
                self.expected_n = None;
            }
            if wanted && last_demand.is_none_or(|t| t.elapsed() >= crate::relay::DEMAND_EVERY) {
                last_demand = Some(Instant::now());
                let demand = wire::encode(&Demand {
                    edge: self.shared.options.name.clone(),
                });
                if let Err(err) = self
                    .shared
                    .client
                    .publish(self.subject_demand.clone(), demand.into())
                    .await
                {
                    tracing::debug!("relay: demand not sent: {err}");
                }
            }
            let next_unit = async {
                match subscription.as_mut() {
                    Some(sub) => sub.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = next_unit => match msg {
                    Some(msg) => {
                        if let Err(err) = self.on_part(&msg.payload) {
                            if bad.is_multiple_of(1000) {
                                tracing::warn!(stream = %self.display.name(), "relay: dropped a relayed item ({} so far): {err}", bad + 1);
                            }
                            bad += 1;
                        }
                    }
                    None => subscription = None,
                },
                event = self.display.next_event() => match event {
                    Some(DisplayEvent::Input(input)) => self.forward_input(input).await,
                    Some(DisplayEvent::DownscaleHint(_)) => {}
                    None => return,
                },
                _ = tick.tick() => {
                    self.ask_idr_if_needed();
                    self.manage_decoder();
                }
            }
        }
    }

    /// A message on `P.s.NAME.au`: a part of an item; the item once whole.
    fn on_part(&mut self, payload: &[u8]) -> Result<(), RelayItemError> {
        let part = wire::decode::<Part>(payload)?;
        if part.instance != self.instance {
            // Another process of the origin (it restarted): the catalogue starts the
            // stream over; until then its items are not ours.
            return Ok(());
        }
        let Some(whole) = self.parts.push(part)? else {
            return Ok(());
        };
        if self.expected_n.is_some_and(|n| n != whole.n) {
            tracing::debug!(stream = %self.display.name(), "relay: items lost; resyncing at the next IDR");
            self.lane.feed_gap();
            self.decoder = None;
            self.last_ask = None;
        }
        self.expected_n = Some(whole.n + 1);
        match wire::decode::<StreamItem>(&whole.bytes)? {
            StreamItem::AccessUnit(unit) => self.on_unit(unit),
            StreamItem::Clipboard(text) => self.display.set_clipboard(&text),
        }
        Ok(())
    }

    fn on_unit(&mut self, unit: AccessUnit) {
        if unit.width == 0 || unit.height == 0 || unit.width > 8192 || unit.height > 8192 {
            return;
        }
        let Some(frame) = self.black_frame(unit.width, unit.height) else {
            return;
        };
        let ts = unit
            .published_unix_us
            .saturating_sub(self.epoch_unix_us)
            .max(self.last_ts + 1);
        self.last_ts = ts;
        let pixel_ratio = if unit.pixel_ratio.is_finite() && unit.pixel_ratio > 0.0 {
            unit.pixel_ratio
        } else {
            1.0
        };
        if unit.keyframe && !unit.still {
            // The IDR a grant promised (or any IDR): members can start, nothing is owed.
            self.asking.store(ASK_IDLE, Ordering::Release);
        } else if std::mem::take(&mut self.awaiting_first_item) && !unit.keyframe {
            // A delta first: the origin was already publishing, no IDR comes by itself.
            self.asking.store(ASK_IDLE, Ordering::Release);
            self.last_ask = None;
        }
        self.awaiting_first_item = false;
        let payload = Bytes::from(unit.data);
        let mut answers = crate::answers::Answers::none();
        let me = &self.shared.options.name;
        for answer in unit.answers.iter().filter(|a| &a.edge == me) {
            answers.insert(answer.client_id, answer.input_id);
        }
        // Stills are skipped: they repeat a frame already decoded (the edge's image
        // viewers get their own stills), and the lane's next access unit is an IDR.
        if let (Some(tx), Some(yuv), false) = (&self.decoder, unit.yuv, unit.still) {
            let job = ToDecode {
                payload: payload.clone(),
                keyframe: unit.keyframe,
                yuv,
                meta: FrameMeta {
                    pixel_ratio,
                    color: unit.color,
                    answers: answers.clone(),
                },
                seq: unit.frame_seq,
                timestamp_us: ts,
            };
            match tx.try_send(job) {
                Ok(()) => {}
                // Behind on a unit nothing references: skipping it keeps the decoder in
                // sync.
                Err(std_mpsc::TrySendError::Full(_)) if unit.layer > 0 => {}
                // Behind or gone: restart from the cached group on the next tick.
                Err(_) => self.decoder = None,
            }
        }
        self.lane.feed(LaneChunk {
            frame: Arc::new(PublishedFrame {
                frame,
                seq: unit.frame_seq,
                timestamp_us: ts,
                pixel_ratio,
                color: unit.color,
                answers,
            }),
            payload: EncodedPayload {
                data: payload,
                keyframe: unit.keyframe,
                layer: unit.layer,
            },
            codec: unit.codec,
            yuv: unit.yuv,
            encode_time: Duration::from_micros(u64::from(unit.encode_us)),
            encoded_at: Instant::now(),
            still: unit.still,
            layer: unit.layer,
            n: 0,
        });
    }

    fn black_frame(&mut self, width: u32, height: u32) -> Option<Frame> {
        if let Some(f) = self.black.as_ref().filter(|f| f.size() == (width, height)) {
            return Some(f.clone());
        }
        let pixels = Bytes::from(vec![0u8; width as usize * height as usize * 3]);
        let frame = Frame::rgb(width, height, pixels).ok()?;
        self.black = Some(frame.clone());
        Some(frame)
    }

    /// Asks the origin for an IDR when members wait for one (see the module rules).
    fn ask_idr_if_needed(&mut self) {
        let Some(group) = self.lane.fed_group() else {
            return;
        };
        // Members wait for an IDR when nothing decodable is cached, or one asked (its
        // group was too long to replay).
        let asked = self.lane.take_idr_wanted();
        let waiting =
            self.lane.member_count() > 0 && (group.is_empty() || group.overflowed() || asked);
        let state = self.asking.load(Ordering::Acquire);
        if !should_ask_idr(waiting, state, self.last_ask.map(|t| t.elapsed()))
            || self
                .asking
                .compare_exchange(state, ASK_OUT, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return;
        }
        self.last_ask = Some(Instant::now());
        let client = self.shared.client.clone();
        let subject = self.subject_idr.clone();
        let request = wire::encode(&IdrRequest {
            edge: self.shared.options.name.clone(),
        });
        let asking = self.asking.clone();
        let stream = self.display.name().to_string();
        tokio::spawn(async move {
            let answer = tokio::time::timeout(
                Duration::from_secs(1),
                client.request(subject, request.into()),
            )
            .await;
            let mut next = ASK_IDLE;
            match answer {
                Ok(Ok(msg)) => match wire::decode::<IdrReply>(&msg.payload) {
                    Ok(reply) => {
                        tracing::debug!(%stream, ?reply, "relay: keyframe request answered");
                        if reply == IdrReply::Granted {
                            next = ASK_GRANTED;
                        }
                    }
                    Err(err) => tracing::debug!(%stream, "relay: bad keyframe reply: {err}"),
                },
                Ok(Err(err)) => tracing::debug!(%stream, "relay: keyframe request failed: {err}"),
                Err(_) => tracing::debug!(%stream, "relay: keyframe request timed out"),
            }
            // Unless an IDR already arrived and reset it (see `on_unit`).
            let _ = asking.compare_exchange(ASK_OUT, next, Ordering::AcqRel, Ordering::Acquire);
        });
    }

    /// Runs the image decoder while the stream has image viewers.
    fn manage_decoder(&mut self) {
        let images = self.display.viewers().iter().any(|v| v.transport != "h264");
        if !images {
            self.decoder = None;
            return;
        }
        if self.decoder.is_some() {
            return;
        }
        let (tx, rx) = std_mpsc::sync_channel::<ToDecode>(
            DECODE_QUEUE + crate::fanout::feed::MAX_GROUP_FRAMES,
        );
        for chunk in self
            .lane
            .fed_group()
            .map(|g| g.snapshot())
            .unwrap_or_default()
        {
            let Some(yuv) = chunk.yuv else { continue };
            let job = ToDecode {
                payload: chunk.payload.data.clone(),
                keyframe: chunk.payload.keyframe,
                yuv,
                meta: FrameMeta {
                    pixel_ratio: chunk.frame.pixel_ratio,
                    color: chunk.frame.color,
                    answers: chunk.frame.answers.clone(),
                },
                seq: chunk.frame.seq,
                timestamp_us: chunk.frame.timestamp_us,
            };
            if tx.try_send(job).is_err() {
                return;
            }
        }
        let display = self.display.clone();
        let spawned = std::thread::Builder::new()
            .name("rfb-edge-decode".into())
            .spawn(move || decode_loop(rx, display));
        if spawned.is_ok() {
            self.decoder = Some(tx);
        }
    }

    async fn forward_input(&self, input: crate::events::InputEvent) {
        let Some(viewer) = self
            .display
            .viewers()
            .into_iter()
            .find(|v| v.client_id == input.client_id)
        else {
            return;
        };
        let principal = input.principal.as_ref().and_then(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        });
        let message = RelayInput {
            edge: self.shared.options.name.clone(),
            client_id: input.client_id,
            principal,
            role: viewer.role,
            event: input.event,
            input_id: input.input_id,
        };
        if let Err(err) = self
            .shared
            .client
            .publish(self.subject_input.clone(), wire::encode(&message).into())
            .await
        {
            tracing::debug!("relay: input not forwarded: {err}");
        }
    }
}

/// Decodes access units into the edge display (for its image viewers), skipping to the
/// next IDR after an error.
fn decode_loop(rx: std_mpsc::Receiver<ToDecode>, display: Display) {
    let mut decoder = match crate::decode::H264Decoder::new() {
        Ok(d) => d,
        Err(err) => {
            tracing::warn!("relay: no H.264 decoder for image viewers: {err}");
            return;
        }
    };
    let mut synced = false;
    let mut last_seq = 0u64;
    while let Ok(job) = rx.recv() {
        if !synced && !job.keyframe {
            continue;
        }
        synced = true;
        match decoder.decode(&job.payload, job.yuv) {
            Ok(Some(picture)) => {
                let Ok(frame) = Frame::rgb(picture.width, picture.height, picture.rgb) else {
                    continue;
                };
                if job.seq <= last_seq {
                    continue;
                }
                last_seq = job.seq;
                if display
                    .state
                    .publish_relayed(frame, job.meta, job.seq, job.timestamp_us)
                    .is_err()
                {
                    return;
                }
            }
            Ok(None) => {}
            Err(err) => {
                tracing::debug!("relay: edge decode failed, waiting for an IDR: {err}");
                synced = false;
                if let Ok(fresh) = crate::decode::H264Decoder::new() {
                    decoder = fresh;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn an_edge_asks_only_when_members_wait_and_no_request_is_out() {
        assert!(!should_ask_idr(false, ASK_IDLE, None), "nobody waits");
        assert!(should_ask_idr(true, ASK_IDLE, None), "first request");
        assert!(!should_ask_idr(true, ASK_OUT, None), "one is out");
        assert!(!should_ask_idr(true, ASK_OUT, Some(MS(5_000))), "still out");
        assert!(!should_ask_idr(true, ASK_IDLE, Some(MS(100))), "rationed");
        assert!(should_ask_idr(true, ASK_IDLE, Some(IDR_ASK_EVERY)));
    }

    #[test]
    fn a_granted_idr_is_awaited_before_asking_again() {
        // The grant's IDR is slow to arrive (a loaded machine): asking again after
        // IDR_ASK_EVERY would make the origin send a second IDR to everyone.
        assert!(!should_ask_idr(true, ASK_GRANTED, Some(IDR_ASK_EVERY)));
        assert!(!should_ask_idr(
            true,
            ASK_GRANTED,
            Some(IDR_GRANT_WAIT - MS(1))
        ));
        assert!(
            should_ask_idr(true, ASK_GRANTED, Some(IDR_GRANT_WAIT)),
            "it got lost"
        );
        assert!(
            should_ask_idr(true, ASK_GRANTED, None),
            "a gap since: ask at once"
        );
    }
}
