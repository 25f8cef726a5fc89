//! A shared H.264 encoder ("lane"): one encode of each published frame, the same access
//! units for every member viewer. See the module docs of [`super`] for the design.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rfb_protocol::{Transport, VideoCodec, YuvEncoding};
use tokio::sync::{mpsc, watch, Notify};

use super::FrameSource;
use crate::encode::slot::EncoderSlot;
use crate::encode::{EncodedPayload, EncoderSpec};
use crate::frame::PublishedFrame;
use crate::options::StreamOptions;
use crate::sync::lock;

/// Least time between two IDRs members asked for (joins, resyncs, rejoins): every member
/// pays for an IDR in bits, so a burst of needs shares one (see [`super::fairness`]).
pub const MIN_IDR_INTERVAL: Duration = Duration::from_millis(500);

/// Chunks a member may have queued before it counts as lost (it is not keeping up).
const MEMBER_QUEUE: usize = 4;

/// What makes two H.264 viewers share a lane: the settings the adaptive controller can
/// change per viewer. Everything else (keyframe interval, YUV encoding, threads, size)
/// comes from the stream and is the same for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LaneKey {
    /// Target bitrate.
    pub bitrate_bps: u32,
    /// Most encodes per second, in millihertz (so the key is hashable).
    pub fps_millihz: u32,
}

impl LaneKey {
    /// The key for a bitrate and a frame rate.
    pub fn new(bitrate_bps: u32, fps: f32) -> LaneKey {
        LaneKey {
            bitrate_bps,
            fps_millihz: (fps.max(0.001) * 1000.0).round() as u32,
        }
    }

    /// The frame rate.
    pub fn fps(&self) -> f32 {
        self.fps_millihz as f32 / 1000.0
    }
}

/// One access unit of a lane, shared by reference between its members.
#[derive(Debug)]
pub struct LaneChunk {
    /// The frame it shows.
    pub frame: Arc<PublishedFrame>,
    /// The access unit.
    pub payload: EncodedPayload,
    /// The codec string of the SPS in force.
    pub codec: String,
    /// The YUV encoding the stream signals.
    pub yuv: Option<YuvEncoding>,
    /// How long the shared encode took.
    pub encode_time: Duration,
    /// When it ended (on an edge: when the access unit arrived from the relay).
    pub encoded_at: Instant,
    /// A high-quality still of a resting frame: a member may skip it (the lane's next
    /// access unit is an IDR) without losing sync.
    pub still: bool,
    /// The temporal layer (0 = base; the payload's [`EncodedPayload::layer`]). Nothing
    /// references an access unit above 0, so a member may skip it without losing sync.
    pub layer: u8,
    /// The lane's order of this chunk (1, 2, ...): a member fed from a relay cache skips
    /// what it already replayed (see [`super::feed`]).
    pub n: u64,
}

#[derive(Debug)]
struct MemberSlot {
    id: u64,
    tx: mpsc::Sender<Arc<LaneChunk>>,
    lost: Arc<AtomicBool>,
    /// Units above layer 0 the lane could not queue for this member (its queue was full).
    missed: Arc<AtomicU64>,
}

/// State the lane task and the members share.
#[derive(Debug, Default)]
struct Shared {
    members: Mutex<Vec<MemberSlot>>,
    idr_wanted: AtomicBool,
    wake: Notify,
    encodes: AtomicU64,
    idrs: AtomicU64,
    last_encoded_seq: AtomicU64,
    next_member: AtomicU64,
    /// The order of the last chunk broadcast.
    last_n: AtomicU64,
}

/// A running lane. Members hold it; when the last member leaves, it is dropped and its
/// task ends.
#[derive(Debug)]
pub struct Lane {
    key: LaneKey,
    shared: Arc<Shared>,
    _alive: watch::Sender<()>,
    /// Set for a lane fed by a relay instead of an encoder (see [`super::feed`]).
    fed: Option<super::feed::FedGroup>,
}

impl Lane {
    /// Starts a lane encoding the frames of `source` on the current runtime.
    pub(crate) fn start(source: FrameSource, key: LaneKey) -> Arc<Lane> {
        let (alive, stopped) = watch::channel(());
        let shared = Arc::new(Shared::default());
        tokio::spawn(run(source, key, shared.clone(), stopped));
        Arc::new(Lane {
            key,
            shared,
            _alive: alive,
            fed: None,
        })
    }

    /// A lane with no encoder: its access units come from [`Lane::feed`] (an edge's relay
    /// subscription), and it keeps the current IDR group so members can replay it.
    pub fn fed(key: LaneKey) -> Arc<Lane> {
        let (alive, _) = watch::channel(());
        Arc::new(Lane {
            key,
            shared: Arc::new(Shared::default()),
            _alive: alive,
            fed: Some(super::feed::FedGroup::default()),
        })
    }

    /// True for a relay-fed lane (members never go to a private encoder: they replay the
    /// cached group instead).
    pub fn is_fed(&self) -> bool {
        self.fed.is_some()
    }

    /// The cached IDR group of a fed lane (`None` for an encoder lane).
    pub fn fed_group(&self) -> Option<&super::feed::FedGroup> {
        self.fed.as_ref()
    }

    /// Hands a relayed access unit to every member (a fed lane; ignored otherwise) and
    /// keeps it in the cached group. Its `n` is assigned here.
    pub fn feed(&self, mut chunk: LaneChunk) {
        let Some(group) = &self.fed else { return };
        // The members lock orders feeding against replays (see `LaneMember::replay`).
        let members = lock(&self.shared.members);
        chunk.n = self.shared.last_n.fetch_add(1, Ordering::AcqRel) + 1;
        self.shared.encodes.fetch_add(1, Ordering::Relaxed);
        if chunk.payload.keyframe && !chunk.still {
            self.shared.idrs.fetch_add(1, Ordering::Relaxed);
        }
        let chunk = Arc::new(chunk);
        group.push(&chunk);
        // Unlike an encoder lane, a lost member still gets the chunk when it has room:
        // reading it is how the session learns it must resync (after a gap, its queue
        // may be empty).
        for member in members.iter() {
            offer(member, &chunk);
        }
    }

    /// On a fed lane: true (once) when a member asked for an IDR since the last call (its
    /// feeder then asks the origin, see `relay::edge::stream`).
    pub fn take_idr_wanted(&self) -> bool {
        self.fed.is_some() && self.shared.idr_wanted.swap(false, Ordering::AcqRel)
    }

    /// A gap in a fed lane's input (the relay lost access units): the cached group is
    /// unusable and every member must wait for the next IDR.
    pub fn feed_gap(&self) {
        let Some(group) = &self.fed else { return };
        let members = lock(&self.shared.members);
        group.clear();
        for member in members.iter() {
            member.lost.store(true, Ordering::Release);
        }
    }

    /// The lane's settings.
    pub fn key(&self) -> LaneKey {
        self.key
    }

    /// Encodes the lane performed.
    pub fn encodes(&self) -> u64 {
        self.shared.encodes.load(Ordering::Relaxed)
    }

    /// IDRs the lane sent (the first, periodic, requested and after stills).
    pub fn idrs(&self) -> u64 {
        self.shared.idrs.load(Ordering::Relaxed)
    }

    /// The publish counter of the last frame the lane encoded (0 before the first).
    pub fn last_encoded_seq(&self) -> u64 {
        self.shared.last_encoded_seq.load(Ordering::Acquire)
    }

    /// Members now.
    pub fn member_count(&self) -> usize {
        lock(&self.shared.members).len()
    }

    /// Adds a member. It receives every chunk from now on and decodes from the next IDR;
    /// asking for one is the caller's decision ([`LaneMember::request_idr`], rationed by
    /// the lane).
    pub fn join(self: &Arc<Lane>) -> LaneMember {
        let (tx, rx) = mpsc::channel(MEMBER_QUEUE);
        let id = self.shared.next_member.fetch_add(1, Ordering::Relaxed);
        let lost = Arc::new(AtomicBool::new(false));
        let missed = Arc::new(AtomicU64::new(0));
        lock(&self.shared.members).push(MemberSlot {
            id,
            tx,
            lost: lost.clone(),
            missed: missed.clone(),
        });
        LaneMember {
            lane: self.clone(),
            id,
            rx,
            lost,
            missed,
        }
    }
}

/// A viewer's membership in a lane; dropping it leaves the lane.
#[derive(Debug)]
pub struct LaneMember {
    lane: Arc<Lane>,
    id: u64,
    /// Chunks, in encode order.
    pub rx: mpsc::Receiver<Arc<LaneChunk>>,
    lost: Arc<AtomicBool>,
    missed: Arc<AtomicU64>,
}

impl LaneMember {
    /// Asks the lane for an IDR (at most one per [`MIN_IDR_INTERVAL`] for all members).
    pub fn request_idr(&self) {
        self.lane.shared.idr_wanted.store(true, Ordering::Release);
        self.lane.shared.wake.notify_one();
    }

    /// True when the lane had to skip this member because its queue was full: its decoder
    /// missed an access unit and it must resync.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Access units above layer 0 the lane skipped for this member because its queue was
    /// full, since the last call (harmless: nothing references them; the session counts
    /// them with the ones it skips itself).
    pub fn take_missed(&self) -> u64 {
        self.missed.swap(0, Ordering::AcqRel)
    }

    /// The lane's settings.
    pub fn key(&self) -> LaneKey {
        self.lane.key
    }

    /// The lane itself.
    pub fn lane(&self) -> &Arc<Lane> {
        &self.lane
    }

    /// On a fed lane: the cached IDR group, oldest first (empty when the lane has no IDR
    /// yet, or on an encoder lane). Clears the lost mark: a member that replays from the
    /// group's IDR is in sync again, and chunks fed from now on reach it. Chunks already
    /// queued with an `n` up to the last returned one are duplicates to skip.
    pub fn replay(&self) -> Vec<Arc<LaneChunk>> {
        let Some(group) = self.lane.fed_group() else {
            return Vec::new();
        };
        let _members = lock(&self.lane.shared.members);
        self.lost.store(false, Ordering::Release);
        group.snapshot()
    }
}

impl Drop for LaneMember {
    fn drop(&mut self) {
        lock(&self.lane.shared.members).retain(|m| m.id != self.id);
    }
}

fn spec_for(o: &StreamOptions, key: LaneKey) -> EncoderSpec {
    EncoderSpec {
        fps: key.fps(),
        bitrate_bps: key.bitrate_bps,
        keyframe_interval: o.keyframe_interval,
        threads: o.encoder_threads,
        content: o.content,
        temporal_layers: o.temporal_layers,
        ..EncoderSpec::new(Transport::Video(VideoCodec::H264AnnexB), 0, 0)
    }
}

/// The lane task: encode the newest frame whenever there is one and someone listens, the
/// lane's frame rate and, with `still_after`, a high-quality still IDR of a resting frame
/// (after which the next frame is an IDR). A requested IDR is the next newly published
/// frame's encode, at most one per [`MIN_IDR_INTERVAL`]; an already encoded frame is never
/// encoded again for a request (members that cannot wait get a private keyframe, see
/// [`super::fairness`]).
async fn run(
    source: FrameSource,
    key: LaneKey,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<()>,
) {
    let FrameSource {
        options,
        epoch,
        mut frames,
    } = source;
    let spec = spec_for(&options, key);
    let mut slot = Some(EncoderSlot::new(options.encoders.clone(), spec.clone()));
    let mut last_seq = 0u64;
    let mut last_idr: Option<Instant> = None;
    let mut last_encode: Option<Instant> = None;
    let mut still_done_for = 0u64;
    let mut idr_after_still = false;
    let min_interval = if key.fps() < options.fps {
        Duration::from_secs_f64(1.0 / f64::from(key.fps()))
    } else {
        Duration::ZERO
    };
    loop {
        let latest = frames.borrow_and_update().clone();
        let now = Instant::now();
        let idr_wanted = shared.idr_wanted.load(Ordering::Acquire);
        let mut deadline: Option<Instant> = None;
        if let Some(frame) = latest.filter(|_| !lock(&shared.members).is_empty()) {
            let has_new = frame.seq > last_seq;
            let idr_allowed = last_idr.is_none_or(|t| now >= t + MIN_IDR_INTERVAL);
            let paced = last_encode.is_none_or(|t| now >= t + min_interval);
            if paced && has_new {
                let force_idr = (idr_wanted && idr_allowed) || idr_after_still;
                if force_idr {
                    shared.idr_wanted.store(false, Ordering::Release);
                }
                let Some(mut s) = slot.take() else { return };
                // A new size or colour tag rebuilds the encoder (and so starts with an IDR).
                s.reconfigure(frame_spec(&spec, &frame));
                let Ok(output) = s.spawn(frame.clone(), force_idr).await else {
                    tracing::error!("lane encoder task failed");
                    // Members notice and continue on encoders of their own.
                    mark_all_lost(&shared);
                    return;
                };
                last_seq = frame.seq;
                last_encode = Some(Instant::now());
                shared.encodes.fetch_add(1, Ordering::Relaxed);
                shared.last_encoded_seq.store(frame.seq, Ordering::Release);
                let codec = output.slot.codec_string();
                let yuv = output.slot.yuv_encoding();
                slot = Some(output.slot);
                match output.result {
                    Ok(payloads) => {
                        for payload in payloads {
                            if payload.keyframe {
                                last_idr = last_encode;
                                idr_after_still = false;
                                shared.idrs.fetch_add(1, Ordering::Relaxed);
                                // Any IDR satisfies pending requests.
                                shared.idr_wanted.store(false, Ordering::Release);
                            }
                            let chunk = LaneChunk {
                                frame: frame.clone(),
                                layer: payload.layer,
                                payload,
                                codec: codec.clone(),
                                yuv,
                                encode_time: output.encode_time,
                                encoded_at: output.encoded_at,
                                still: false,
                                n: 0,
                            };
                            broadcast(&shared, Arc::new(chunk));
                        }
                    }
                    Err(err) => {
                        tracing::error!("lane encoder failed: {err}");
                        // Members resync from scratch with a fresh encoder.
                        slot = Some(EncoderSlot::new(options.encoders.clone(), spec.clone()));
                        mark_all_lost(&shared);
                    }
                }
                continue;
            }
            if !paced && has_new {
                deadline = last_encode.map(|t| t + min_interval);
            }
            if let Some(after) = options.still_after {
                let resting = !has_new && frame.seq == last_seq && still_done_for != frame.seq;
                let due = epoch + Duration::from_micros(frame.timestamp_us) + after;
                if resting && now >= due {
                    still_done_for = frame.seq;
                    if let Some(chunk) =
                        encode_still(&options, &frame_spec(&spec, &frame), &frame).await
                    {
                        idr_after_still = true;
                        broadcast(&shared, Arc::new(chunk));
                    }
                    continue;
                }
                if resting {
                    deadline = Some(deadline.map_or(due, |d| d.min(due)));
                }
            }
        }
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = frames.changed() => if changed.is_err() { return },
            _ = shared.wake.notified() => {}
            _ = sleep => {}
            _ = stopped.changed() => return,
        }
    }
}

/// The lane's spec for one frame's size and colour tag.
/// The spec a lane with `key` on a stream with `options` encodes `frame` with: exactly what
/// [`Lane`]'s task reconfigures its encoder to before each frame. Public so that tools
/// which record a stream's access units outside a server (`rfb dump-au`) encode with the
/// lane's settings instead of a copy of them.
pub fn spec_for_frame(
    options: &StreamOptions,
    key: LaneKey,
    frame: &PublishedFrame,
) -> EncoderSpec {
    frame_spec(&spec_for(options, key), frame)
}

fn frame_spec(spec: &EncoderSpec, frame: &PublishedFrame) -> EncoderSpec {
    let (width, height) = frame.frame.size();
    EncoderSpec {
        width,
        height,
        color: frame.color,
        ..spec.clone()
    }
}

/// A high-quality IDR of a resting frame from a fresh encoder (see [`super::still_spec`]).
async fn encode_still(
    options: &StreamOptions,
    spec: &EncoderSpec,
    frame: &Arc<PublishedFrame>,
) -> Option<LaneChunk> {
    let slot = EncoderSlot::new(options.encoders.clone(), super::still_spec(spec));
    let output = slot.spawn(frame.clone(), true).await.ok()?;
    let codec = output.slot.codec_string();
    let yuv = output.slot.yuv_encoding();
    let payload = match output.result {
        Ok(payloads) => payloads.into_iter().find(|p| p.keyframe)?,
        Err(err) => {
            tracing::warn!("still encode failed: {err}");
            return None;
        }
    };
    Some(LaneChunk {
        frame: frame.clone(),
        payload,
        codec,
        yuv,
        encode_time: output.encode_time,
        encoded_at: output.encoded_at,
        still: true,
        layer: 0,
        n: 0,
    })
}

fn broadcast(shared: &Shared, chunk: Arc<LaneChunk>) {
    let members = lock(&shared.members);
    let mut chunk = chunk;
    if let Some(c) = Arc::get_mut(&mut chunk) {
        c.n = shared.last_n.fetch_add(1, Ordering::AcqRel) + 1;
    }
    send_to(&members, &chunk);
}

fn send_to(members: &[MemberSlot], chunk: &Arc<LaneChunk>) {
    for member in members.iter() {
        if member.lost.load(Ordering::Acquire) {
            continue;
        }
        offer(member, chunk);
    }
}

/// Queues a chunk for a member. A member whose queue is full misses it: only a unit
/// something references (layer 0) makes it lost; one above layer 0 it simply never sees.
fn offer(member: &MemberSlot, chunk: &Arc<LaneChunk>) {
    if let Err(mpsc::error::TrySendError::Full(_)) = member.tx.try_send(chunk.clone()) {
        if chunk.layer == 0 {
            member.lost.store(true, Ordering::Release);
        } else {
            member.missed.fetch_add(1, Ordering::AcqRel);
        }
    }
}

fn mark_all_lost(shared: &Shared) {
    for member in lock(&shared.members).iter() {
        member.lost.store(true, Ordering::Release);
    }
}

/// A chunk of a 2x2 frame carrying `payload`, for the fan-out modules' unit tests.
#[cfg(test)]
pub(super) fn test_chunk(payload: EncodedPayload, still: bool) -> Arc<LaneChunk> {
    let frame = PublishedFrame {
        frame: crate::frame::Frame::rgb(2, 2, vec![0u8; 12]).expect("valid"),
        seq: 1,
        timestamp_us: 0,
        pixel_ratio: 1.0,
        color: rfb_protocol::SRGB,
        answers: Default::default(),
    };
    Arc::new(LaneChunk {
        frame: Arc::new(frame),
        layer: payload.layer,
        payload,
        codec: "avc1.42e01f".into(),
        yuv: None,
        encode_time: Duration::ZERO,
        encoded_at: Instant::now(),
        still,
        n: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(layer: u8) -> Arc<LaneChunk> {
        test_chunk(
            EncodedPayload {
                data: vec![0u8; 4].into(),
                keyframe: false,
                layer,
            },
            false,
        )
    }

    #[test]
    fn a_full_queue_loses_a_member_only_on_the_base_layer() {
        let (tx, mut rx) = mpsc::channel(1);
        let member = MemberSlot {
            id: 0,
            tx,
            lost: Arc::new(AtomicBool::new(false)),
            missed: Arc::new(AtomicU64::new(0)),
        };
        offer(&member, &chunk(0));
        assert!(!member.lost.load(Ordering::Acquire), "it had room");
        offer(&member, &chunk(1));
        assert!(
            !member.lost.load(Ordering::Acquire),
            "a missed layer-1 unit breaks nothing"
        );
        assert_eq!(
            member.missed.load(Ordering::Acquire),
            1,
            "but it is counted as missed"
        );
        offer(&member, &chunk(0));
        assert!(
            member.lost.load(Ordering::Acquire),
            "a missed base-layer unit breaks the decoder"
        );
        assert_eq!(rx.try_recv().map(|c| c.layer).ok(), Some(0));
        assert!(rx.try_recv().is_err(), "only the first chunk was queued");
    }

    #[test]
    fn a_lane_spec_carries_the_stream_content_and_layers() {
        let options = StreamOptions {
            content: crate::encode::Content::Screen,
            temporal_layers: 2,
            ..StreamOptions::default()
        };
        let spec = spec_for(&options, LaneKey::new(2_000_000, 30.0));
        assert_eq!(spec.content, crate::encode::Content::Screen);
        assert_eq!(spec.temporal_layers, 2);
        assert_eq!(spec.bitrate_bps, 2_000_000);
        let off = spec_for(
            &StreamOptions {
                temporal_layers: 1,
                ..StreamOptions::default()
            },
            LaneKey::new(2_000_000, 30.0),
        );
        assert_eq!(off.temporal_layers, 1);
        // A still is one IDR from a throwaway encoder: never layered.
        assert_eq!(super::super::still_spec(&spec).temporal_layers, 1);
    }
}
