//! What a stream tells the app: input from viewers and, with adaptive quality, downscale
//! hints, in one bounded queue per stream.
//!
//! The queue holds at most [`EVENT_QUEUE_CAPACITY`] events. An app that never drains it
//! loses the oldest events first (counted in [`EventQueue::dropped`]); memory stays bounded.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};

use crate::display::lock;

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
    /// The input event, if this is one.
    pub fn input(&self) -> Option<&InputEvent> {
        match self {
            DisplayEvent::Input(event) => Some(event),
            DisplayEvent::DownscaleHint(_) => None,
        }
    }
}

/// A bounded FIFO of display events with a wake-up for async readers.
#[derive(Debug, Default)]
pub struct EventQueue {
    queue: Mutex<VecDeque<DisplayEvent>>,
    notify: Notify,
    dropped: AtomicU64,
}

impl EventQueue {
    /// Appends an event, dropping the oldest when full.
    pub fn push(&self, event: DisplayEvent) {
        {
            let mut queue = lock(&self.queue);
            if queue.len() >= EVENT_QUEUE_CAPACITY {
                queue.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            queue.push_back(event);
        }
        self.notify.notify_one();
    }

    /// Takes every queued event.
    pub fn drain(&self) -> Vec<DisplayEvent> {
        lock(&self.queue).drain(..).collect()
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events queued now.
    pub fn len(&self) -> usize {
        lock(&self.queue).len()
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
    }
}
