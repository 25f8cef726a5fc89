//! The origin side of the relay: runs next to a server with `ServeOptions::relay` set.
//!
//! - **Catalogue**: every [`super::CATALOGUE_EVERY`] the server's streams and their
//!   settings go to `P.catalog` (edges list them and use the message as the origin's
//!   liveness signal).
//! - **Publishing on demand**: while an edge sent a `Demand` for a stream within
//!   [`super::DEMAND_TIMEOUT`], a publisher is a member of that stream's lane at the
//!   stream's own settings (like a local viewer at full quality: so local viewers and the
//!   relay share one encode) and publishes each access unit to `P.s.NAME.au`, numbered
//!   consecutively. It asks for an IDR when it starts; if it ever falls behind the lane
//!   (its queue overflowed), it rejoins, skips a number (edges see the gap and resync)
//!   and asks for an IDR again. The app's clipboard offers (`Display::set_clipboard`) go
//!   the same way, numbered with the access units. Every item travels in parts of at most
//!   the NATS server's `max_payload` ([`super::chunks`]).
//! - **Keyframe requests** (`P.s.NAME.idr`, request-reply) follow the rules local viewers
//!   follow ([`crate::fanout::fairness`]): each edge's needs are counted like one member's;
//!   a request on a resting stream, or from an edge that asked more than 3 times in 10 s,
//!   is `Refused` (the edge serves its cached group); otherwise the lane's next newly
//!   published frame is an IDR, at most one per 500 ms for all members together.
//! - **Input** (`P.s.NAME.input`): edge viewers' events enter the stream's event queue and
//!   the event tap like local input. Each (edge, edge client id) pair gets a client id of
//!   this server; the principal is a [`RelayViewer`] naming the edge, its client id, the
//!   edge's principal (when a string) and role. `View` input is dropped (the edge already
//!   drops it; the origin does not trust that).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rfb_protocol::Role;
use tokio::sync::Notify;

use super::wire::{
    self, AccessUnit, Catalogue, IdrReply, IdrRequest, RelayAnswer, RelayInput, StreamInfo,
    StreamItem, MAX_RELAYED_ANSWERS,
};
use super::{chunks, subjects, RelayError, RelayOptions};
use crate::events::{DisplayEvent, InputEvent};
use crate::fanout::fairness::{KeyframeNeeds, NeedAction};
use crate::fanout::lane::{LaneChunk, LaneKey};
use crate::hub::ServerShared;
use crate::stream::StreamState;
use crate::sync::lock;

/// Most (edge, client) pairs the origin remembers client ids for; past it the map starts
/// over (ids of viewers still connected then change once).
const MAX_REMOTE_VIEWERS: usize = 65_536;

/// Most edges whose keyframe needs are tracked; past it the record starts over.
const MAX_EDGES: usize = 4096;

/// The principal of input that came from an edge viewer (downcast `InputEvent::principal`
/// to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayViewer {
    /// The edge's relay name.
    pub edge: String,
    /// The viewer's id on the edge.
    pub client_id: u64,
    /// The edge's authentication principal, when it was a string (`token`, `view-token`).
    pub principal: Option<String>,
    /// The viewer's role on the edge.
    pub role: Role,
}

/// A random number per process (the catalogue's instance).
pub(crate) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(super::unix_us());
    h.write_u32(std::process::id());
    h.finish()
}

/// One stream being published: the demand clock and the keyframe-request doorbell.
struct Publisher {
    last_demand: Arc<Mutex<Instant>>,
    idr: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// The origin relay of one server.
struct Origin {
    server: Weak<ServerShared>,
    client: async_nats::Client,
    options: RelayOptions,
    instance: u64,
    publishers: Mutex<HashMap<String, Publisher>>,
    needs: Mutex<HashMap<String, KeyframeNeeds>>,
    remote_ids: Mutex<RemoteIds>,
    input_refused: AtomicU64,
}

/// The client ids the origin gave edge viewers, both ways: (edge, edge client id) -> id
/// for their input, id -> (edge, edge client id) for the answers relayed with frames.
#[derive(Default)]
struct RemoteIds {
    by_viewer: HashMap<(String, u64), u64>,
    by_id: HashMap<u64, (String, u64)>,
}

impl RemoteIds {
    /// The origin's id for an edge viewer, given on first sight.
    fn id(&mut self, edge: &str, client_id: u64, next: impl FnOnce() -> u64) -> u64 {
        if self.by_viewer.len() >= MAX_REMOTE_VIEWERS {
            self.by_viewer.clear();
            self.by_id.clear();
        }
        let key = (edge.to_string(), client_id);
        if let Some(id) = self.by_viewer.get(&key) {
            return *id;
        }
        let id = next();
        self.by_id.insert(id, key.clone());
        self.by_viewer.insert(key, id);
        id
    }

    /// The edge viewers among a frame's answers, by their edge's ids, at most
    /// [`MAX_RELAYED_ANSWERS`] (local viewers are left out).
    fn relayed(&self, answers: &crate::answers::Answers) -> Vec<RelayAnswer> {
        answers
            .iter()
            .filter_map(|(id, input_id)| {
                let (edge, client_id) = self.by_id.get(&id)?;
                Some(RelayAnswer {
                    edge: edge.clone(),
                    client_id: *client_id,
                    input_id,
                })
            })
            .take(MAX_RELAYED_ANSWERS)
            .collect()
    }
}

/// Connects to NATS and starts the origin relay of `server`; it stops when the server is
/// gone.
pub(crate) async fn start(
    server: &Arc<ServerShared>,
    options: RelayOptions,
) -> Result<(), RelayError> {
    let client = super::connect(&options).await?;
    let p = options.prefix.clone();
    let subscribe = |subject: String| {
        let client = client.clone();
        async move {
            client
                .subscribe(subject)
                .await
                .map_err(|e| RelayError::Nats(e.to_string()))
        }
    };
    let demand = subscribe(format!("{p}.s.*.demand")).await?;
    let idr = subscribe(format!("{p}.s.*.idr")).await?;
    let input = subscribe(format!("{p}.s.*.input")).await?;
    let origin = Arc::new(Origin {
        server: Arc::downgrade(server),
        client,
        options,
        instance: random_u64(),
        publishers: Mutex::new(HashMap::new()),
        needs: Mutex::new(HashMap::new()),
        remote_ids: Mutex::new(RemoteIds::default()),
        input_refused: AtomicU64::new(0),
    });
    tracing::info!(
        urls = ?origin.options.urls.iter().map(|u| super::redact_url(u)).collect::<Vec<_>>(),
        prefix = %origin.options.prefix,
        "relay: publishing this server's streams"
    );
    tokio::spawn(catalogue_loop(origin.clone()));
    tokio::spawn(requests_loop(origin, demand, idr, input));
    Ok(())
}

impl Origin {
    fn stream(&self, name: &str) -> Option<Arc<StreamState>> {
        self.server.upgrade()?.stream(name)
    }

    fn catalogue(&self, server: &ServerShared) -> Catalogue {
        let streams = server
            .all_streams()
            .into_iter()
            .map(|state| {
                let o = &state.options;
                let (width, height) = state.size();
                StreamInfo {
                    name: state.name.clone(),
                    width,
                    height,
                    fps: o.fps,
                    bitrate_bps: o.bitrate_bps,
                    keyframe_interval: o.keyframe_interval,
                    max_inflight: o.max_inflight,
                    video: o.video_enabled() && o.share_encoders,
                    image_formats: o.image_formats.clone(),
                    jpeg_quality: o.jpeg_quality,
                    still_after_ms: o
                        .still_after
                        .map_or(0, |d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
                    frames_published: state.frames_published(),
                }
            })
            .collect();
        Catalogue {
            origin: self.options.name.clone(),
            instance: self.instance,
            streams,
        }
    }

    /// An edge wants `name`: start its publisher, or note the demand.
    fn on_demand(self: &Arc<Self>, name: &str) {
        let Some(stream) = self.stream(name) else {
            return;
        };
        if !(stream.options.video_enabled() && stream.options.share_encoders) {
            return;
        }
        let mut publishers = lock(&self.publishers);
        publishers.retain(|_, p| !p.task.is_finished());
        if let Some(p) = publishers.get(name) {
            *lock(&p.last_demand) = Instant::now();
            return;
        }
        let last_demand = Arc::new(Mutex::new(Instant::now()));
        let idr = Arc::new(Notify::new());
        let task = tokio::spawn(publish_stream(
            self.clone(),
            stream,
            last_demand.clone(),
            idr.clone(),
        ));
        publishers.insert(
            name.to_string(),
            Publisher {
                last_demand,
                idr,
                task,
            },
        );
    }

    /// An edge asks for an IDR of `name`.
    fn on_idr_request(&self, name: &str, edge: &str) -> IdrReply {
        let Some(stream) = self.stream(name) else {
            return IdrReply::NotPublishing;
        };
        let publishers = lock(&self.publishers);
        let Some(publisher) = publishers.get(name).filter(|p| !p.task.is_finished()) else {
            return IdrReply::NotPublishing;
        };
        let now = Instant::now();
        let resting = is_resting(&stream, now);
        let mut needs = lock(&self.needs);
        let key = format!("{name}/{edge}");
        if needs.len() >= MAX_EDGES && !needs.contains_key(&key) {
            needs.clear();
        }
        let action = needs.entry(key).or_default().on_need(now, resting);
        match action {
            NeedAction::GoPrivate => IdrReply::Refused,
            NeedAction::AskLane => {
                publisher.idr.notify_one();
                IdrReply::Granted
            }
        }
    }

    /// Publishes item `n` of a stream on `subject`, in parts no larger than the NATS
    /// server's `max_payload` (a failed publish is a gap the edges resync from).
    async fn publish_item(&self, subject: &str, n: u64, item: &StreamItem) {
        let bytes = wire::encode(item);
        // Known from the server's INFO once connected; NATS' default before that.
        let max_payload = match self.client.max_payload() {
            0 => 1 << 20,
            max => max,
        };
        for part in chunks::split(self.instance, n, &bytes, max_payload) {
            let message = wire::encode(&part);
            if let Err(err) = self
                .client
                .publish(subject.to_string(), message.into())
                .await
            {
                tracing::debug!("relay: part of item {n} not published: {err}");
                return;
            }
        }
    }

    /// Input from an edge viewer.
    fn on_input(&self, name: &str, input: RelayInput) {
        let Some(server) = self.server.upgrade() else {
            return;
        };
        let Some(stream) = server.stream(name) else {
            return;
        };
        if !input.role.may_control() {
            self.input_refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let client_id = lock(&self.remote_ids).id(&input.edge, input.client_id, || {
            server.next_client_id.fetch_add(1, Ordering::Relaxed)
        });
        if let rfb_protocol::InputEvent::Resize(viewport) = &input.event {
            stream.offer_viewport(client_id, viewport, true);
        }
        let event = InputEvent {
            client_id,
            principal: Some(Arc::new(RelayViewer {
                edge: input.edge,
                client_id: input.client_id,
                principal: input.principal,
                role: input.role,
            })),
            event: input.event,
            received_us: stream.epoch.elapsed().as_micros() as u64,
            input_id: input.input_id,
        };
        server.tap.tap(&stream.name, &event);
        stream.events.push(DisplayEvent::Input(event));
    }
}

/// True when the lane has nothing new to encode (the rule of `session/sharing.rs`).
fn is_resting(stream: &StreamState, now: Instant) -> bool {
    let Some(latest) = stream.latest() else {
        return true;
    };
    let interval = Duration::from_secs_f64(2.0 / f64::from(stream.options.fps.max(0.1)));
    let published = stream.epoch + Duration::from_micros(latest.timestamp_us);
    now.saturating_duration_since(published) >= interval.max(Duration::from_millis(100))
}

async fn catalogue_loop(origin: Arc<Origin>) {
    let subject = subjects::catalogue(&origin.options.prefix);
    let mut tick = tokio::time::interval(super::CATALOGUE_EVERY);
    loop {
        tick.tick().await;
        let Some(server) = origin.server.upgrade() else {
            return;
        };
        let catalogue = origin.catalogue(&server);
        drop(server);
        if let Err(err) = origin
            .client
            .publish(subject.clone(), wire::encode(&catalogue).into())
            .await
        {
            tracing::debug!("relay: catalogue not published: {err}");
        }
    }
}

async fn requests_loop(
    origin: Arc<Origin>,
    mut demand: async_nats::Subscriber,
    mut idr: async_nats::Subscriber,
    mut input: async_nats::Subscriber,
) {
    let prefix = origin.options.prefix.clone();
    let mut gone = tokio::time::interval(Duration::from_secs(1));
    let mut bad_messages = 0u64;
    loop {
        tokio::select! {
            Some(msg) = demand.next() => {
                let Some(name) = subjects::stream_of(&prefix, &msg.subject) else { continue };
                match wire::decode::<wire::Demand>(&msg.payload) {
                    Ok(_) => origin.on_demand(name),
                    Err(err) => note_bad(&mut bad_messages, &err),
                }
            }
            Some(msg) = idr.next() => {
                let Some(name) = subjects::stream_of(&prefix, &msg.subject) else { continue };
                let reply = match wire::decode::<IdrRequest>(&msg.payload) {
                    Ok(request) => origin.on_idr_request(name, &request.edge),
                    Err(err) => {
                        note_bad(&mut bad_messages, &err);
                        continue;
                    }
                };
                if let Some(to) = msg.reply {
                    if let Err(err) = origin.client.publish(to, wire::encode(&reply).into()).await {
                        tracing::debug!("relay: keyframe reply not sent: {err}");
                    }
                }
            }
            Some(msg) = input.next() => {
                let Some(name) = subjects::stream_of(&prefix, &msg.subject) else { continue };
                match wire::decode::<RelayInput>(&msg.payload) {
                    Ok(event) => origin.on_input(name, event),
                    Err(err) => note_bad(&mut bad_messages, &err),
                }
            }
            _ = gone.tick() => {
                if origin.server.upgrade().is_none_or(|s| s.is_closed()) {
                    for (_, p) in lock(&origin.publishers).drain() {
                        p.task.abort();
                    }
                    return;
                }
            }
        }
    }
}

/// Logs an undecodable relay message (the first, then every 1000th).
fn note_bad(count: &mut u64, err: &wire::WireError) {
    if count.is_multiple_of(1000) {
        tracing::warn!("relay: dropped a message ({} so far): {err}", *count + 1);
    }
    *count += 1;
}

/// Publishes one stream's access units while edges want it.
async fn publish_stream(
    origin: Arc<Origin>,
    stream: Arc<StreamState>,
    last_demand: Arc<Mutex<Instant>>,
    idr: Arc<Notify>,
) {
    let subject = subjects::access_units(&origin.options.prefix, &stream.name);
    let key = LaneKey::new(stream.options.bitrate_bps, stream.options.fps);
    let mut member = stream.lane(key).join();
    member.request_idr();
    let mut closing = stream.closing.subscribe();
    let mut check = tokio::time::interval(Duration::from_secs(1));
    let mut clipboard = stream.clipboard.subscribe();
    clipboard.borrow_and_update();
    let mut n = 0u64;
    tracing::debug!(stream = %stream.name, "relay: publishing");
    loop {
        tokio::select! {
            chunk = member.rx.recv() => {
                let Some(chunk) = chunk else { break };
                if member.is_lost() {
                    // Fell behind the lane: start over at an IDR, leaving a gap in `n`.
                    drop(member);
                    member = stream.lane(key).join();
                    member.request_idr();
                    n += 1;
                    continue;
                }
                n += 1;
                let answers = lock(&origin.remote_ids).relayed(&chunk.frame.answers);
                let unit = access_unit(&stream, &chunk, answers);
                origin.publish_item(&subject, n, &StreamItem::AccessUnit(unit)).await;
            }
            changed = clipboard.changed() => {
                if changed.is_err() {
                    break;
                }
                let text = clipboard.borrow_and_update().clone();
                if let Some(text) = text {
                    n += 1;
                    origin.publish_item(&subject, n, &StreamItem::Clipboard(text.to_string())).await;
                }
            }
            _ = idr.notified() => member.request_idr(),
            _ = async { closing.wait_for(Option::is_some).await.map(|_| ()) } => break,
            _ = check.tick() => {
                if lock(&last_demand).elapsed() > super::DEMAND_TIMEOUT {
                    break;
                }
            }
        }
    }
    tracing::debug!(stream = %stream.name, "relay: stopped publishing");
}

fn access_unit(stream: &StreamState, chunk: &LaneChunk, answers: Vec<RelayAnswer>) -> AccessUnit {
    let frame = &chunk.frame;
    let (width, height) = frame.frame.size();
    // The publish instant on the Unix clock: now minus how long ago it was published.
    let age = stream
        .epoch
        .elapsed()
        .saturating_sub(Duration::from_micros(frame.timestamp_us));
    AccessUnit {
        frame_seq: frame.seq,
        published_unix_us: super::unix_us().saturating_sub(age.as_micros() as u64),
        width,
        height,
        pixel_ratio: frame.pixel_ratio,
        color: frame.color,
        codec: chunk.codec.clone(),
        yuv: chunk.yuv,
        keyframe: chunk.payload.keyframe,
        still: chunk.still,
        layer: chunk.layer,
        droppable: chunk.layer > 0,
        encode_us: u32::try_from(chunk.encode_time.as_micros()).unwrap_or(u32::MAX),
        answers,
        data: chunk.payload.data.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Answers;

    #[test]
    fn answers_go_back_to_the_edge_viewers_by_their_edge_ids() {
        let mut ids = RemoteIds::default();
        let mut next = 100u64;
        let mut give = || {
            next += 1;
            next
        };
        let a = ids.id("edge-a", 1, &mut give);
        let b = ids.id("edge-b", 1, &mut give);
        assert_eq!(
            ids.id("edge-a", 1, || unreachable!()),
            a,
            "stable per viewer"
        );
        assert_ne!(a, b, "same edge client id on two edges: two viewers");
        let mut answers = Answers::none();
        answers.insert(a, 7);
        answers.insert(b, 3);
        answers.insert(5, 9); // a local viewer of the origin: not relayed
        let mut relayed = ids.relayed(&answers);
        relayed.sort_by(|x, y| x.edge.cmp(&y.edge));
        assert_eq!(
            relayed,
            vec![
                RelayAnswer {
                    edge: "edge-a".into(),
                    client_id: 1,
                    input_id: 7
                },
                RelayAnswer {
                    edge: "edge-b".into(),
                    client_id: 1,
                    input_id: 3
                },
            ]
        );
    }

    #[test]
    fn a_frame_relays_at_most_the_bounded_number_of_answers() {
        let mut ids = RemoteIds::default();
        let mut answers = Answers::none();
        let mut next = 0u64;
        for client in 0..(MAX_RELAYED_ANSWERS as u64 + 50) {
            let id = ids.id("edge", client, || {
                next += 1;
                next
            });
            answers.insert(id, 1);
        }
        assert_eq!(ids.relayed(&answers).len(), MAX_RELAYED_ANSWERS);
    }
}
