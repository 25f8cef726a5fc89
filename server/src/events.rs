//! What a stream tells the app: input from viewers and, with adaptive quality, downscale
//! hints, in one bounded queue per stream.
//!
//! The queue holds at most [`EVENT_QUEUE_CAPACITY`] events and at most its byte budget
//! (`Limits::event_queue_bytes`, 8 MiB by default, counted with
//! [`DisplayEvent::approx_bytes`]). An app that never drains it loses the oldest events
//! first (counted in [`EventQueue::dropped`]); memory stays bounded.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};

use crate::sync::lock;

/// Most events a stream keeps for the app before dropping the oldest.
pub const EVENT_QUEUE_CAPACITY: usize = 4096;

/// Whatever the authentication hook returned for a connection (downcast it to your type).
pub type Principal = Arc<dyn Any + Send + Sync>;

/// One input event from one viewer.
#[derive(Debug, Clone)]
pub struct InputEvent {
    /// The viewer's id on this server.
    pub client_id: u64,
    /// The authentication hook's principal for that viewer, if any.
    pub principal: Option<Principal>,
    /// The event itself.
    pub event: rfb_protocol::InputEvent,
    /// When the server received it, microseconds on the display's clock.
    pub received_us: u64,
    /// The id the viewer gave the event (increasing per viewer), `None` for a `resize`
    /// the server made from a viewport change. Mark a frame that reflects it with
    /// `FrameMeta::answering`, so the viewer can measure input -> photon.
    pub input_id: Option<u64>,
}

/// The adaptive controller suggests rendering smaller (or, as viewers recover, larger
/// again). Absolute: `scale` is relative to the frame size at the time of the hint and
/// never compounds; `width` and `height` are that scale applied, rounded to even.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DownscaleHint {
    /// Suggested scale in (0, 1]; 1.0 means full size again.
    pub scale: f32,
    /// Suggested frame width (even).
    pub width: u32,
    /// Suggested frame height (even).
    pub height: u32,
}

/// One thing for the app, in arrival order.
#[derive(Debug, Clone)]
pub enum DisplayEvent {
    /// Input from a viewer.
    Input(InputEvent),
    /// A resolution suggestion from the adaptive controller (the most congested viewer's).
    DownscaleHint(DownscaleHint),
}

impl DisplayEvent {
    /// About how many bytes this event holds (its fixed size plus its strings), for the
    /// queue's byte budget.
    pub fn approx_bytes(&self) -> usize {
        use rfb_protocol::InputEvent as E;
        let strings = match self.input().map(|i| &i.event) {
            Some(E::KeyDown(k) | E::KeyUp(k)) => k.key.len() + k.code.len(),
            Some(E::Text(t) | E::Paste(t)) => t.text.len(),
            _ => 0,
        };
        std::mem::size_of::<DisplayEvent>() + strings
    }

    /// The input event, if this is one.
    pub fn input(&self) -> Option<&InputEvent> {
        match self {
            DisplayEvent::Input(event) => Some(event),
            DisplayEvent::DownscaleHint(_) => None,
        }
    }
}

/// The events and their byte count.
#[derive(Debug, Default)]
struct Queued {
    events: VecDeque<DisplayEvent>,
    bytes: usize,
}

impl Queued {
    fn pop_front(&mut self) -> Option<DisplayEvent> {
        let event = self.events.pop_front()?;
        self.bytes = self.bytes.saturating_sub(event.approx_bytes());
        Some(event)
    }
}

/// A bounded FIFO of display events with a wake-up for async readers.
#[derive(Debug)]
pub struct EventQueue {
    queue: Mutex<Queued>,
    max_bytes: usize,
    notify: Notify,
    dropped: AtomicU64,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue::with_byte_budget(crate::limits::Limits::default().event_queue_bytes)
    }
}

impl EventQueue {
    /// An empty queue holding at most `max_bytes` (and [`EVENT_QUEUE_CAPACITY`] events).
    pub fn with_byte_budget(max_bytes: usize) -> EventQueue {
        EventQueue {
            queue: Mutex::new(Queued::default()),
            max_bytes,
            notify: Notify::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Appends an event, dropping the oldest while over the count or byte budget.
    pub fn push(&self, event: DisplayEvent) {
        {
            let mut queue = lock(&self.queue);
            let size = event.approx_bytes();
            while !queue.events.is_empty()
                && (queue.events.len() >= EVENT_QUEUE_CAPACITY
                    || queue.bytes + size > self.max_bytes)
            {
                queue.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            queue.bytes += size;
            queue.events.push_back(event);
        }
        self.notify.notify_one();
    }

    /// Takes every queued event.
    pub fn drain(&self) -> Vec<DisplayEvent> {
        let mut queue = lock(&self.queue);
        queue.bytes = 0;
        queue.events.drain(..).collect()
    }

    /// Bytes queued now (see [`DisplayEvent::approx_bytes`]).
    pub fn bytes(&self) -> usize {
        lock(&self.queue).bytes
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events queued now.
    pub fn len(&self) -> usize {
        lock(&self.queue).events.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for the next event; `None` once `closing` is set.
    pub async fn next<T>(&self, closing: &mut watch::Receiver<Option<T>>) -> Option<DisplayEvent> {
        loop {
            let notified = self.notify.notified();
            if let Some(event) = lock(&self.queue).pop_front() {
                return Some(event);
            }
            if closing.borrow().is_some() {
                return None;
            }
            tokio::select! {
                _ = notified => {}
                changed = closing.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfb_protocol::input::{KeyInput, Modifiers};

    fn key(n: usize) -> DisplayEvent {
        DisplayEvent::Input(InputEvent {
            client_id: 1,
            principal: None,
            event: rfb_protocol::InputEvent::KeyDown(KeyInput {
                key: n.to_string(),
                code: String::new(),
                modifiers: Modifiers::default(),
                repeat: false,
                timestamp: 0.0,
            }),
            received_us: n as u64,
            input_id: Some(n as u64),
        })
    }

    #[test]
    fn an_undrained_queue_stays_bounded_and_keeps_the_newest() {
        let q = EventQueue::default();
        for n in 0..EVENT_QUEUE_CAPACITY + 100 {
            q.push(key(n));
        }
        assert_eq!(q.len(), EVENT_QUEUE_CAPACITY);
        assert_eq!(q.dropped(), 100);
        let drained = q.drain();
        assert_eq!(drained[0].input().map(|e| e.received_us), Some(100));
        assert!(q.is_empty());
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn big_events_are_bounded_by_bytes_not_count() {
        let q = EventQueue::with_byte_budget(1 << 20);
        let paste = |n: usize| {
            DisplayEvent::Input(InputEvent {
                client_id: 1,
                principal: None,
                event: rfb_protocol::InputEvent::Paste(rfb_protocol::input::TextInput {
                    text: "x".repeat(32 * 1024),
                    timestamp: n as f64,
                }),
                received_us: n as u64,
                input_id: None,
            })
        };
        for n in 0..200 {
            q.push(paste(n));
        }
        assert!(q.bytes() <= 1 << 20, "{} bytes", q.bytes());
        assert!(q.len() < 40 && q.len() > 20, "{} events", q.len());
        assert_eq!(q.dropped() as usize + q.len(), 200);
        let newest = q
            .drain()
            .last()
            .and_then(|e| e.input().map(|i| i.received_us));
        assert_eq!(newest, Some(199), "the newest are kept");
    }
}
