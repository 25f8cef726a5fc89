//! What a published frame answers: for each viewer, the newest of its input events the
//! frame reflects. Input ids are per viewer (each viewer numbers its own events 1, 2,
//! 3...), so a frame answers viewer A's input 17 and viewer B's input 4 at once; each
//! session puts only its own viewer's id into the frames it sends
//! (`FrameHeader::input_id`), and the viewer measures input -> photon from it.
//!
//! The app builds it from the events it drained with `Display::poll_events` before the
//! publish ([`Answers::from_events`], or `FrameMeta::answering`). Cheap to clone: the map
//! is shared by reference count, and an empty one allocates nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::events::{DisplayEvent, InputEvent};

/// Per viewer (`client_id`), the newest input id a frame reflects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers(Option<Arc<BTreeMap<u64, u64>>>);

impl Answers {
    /// No answers (what a frame published with default metadata carries).
    pub fn none() -> Answers {
        Answers(None)
    }

    /// The answers to every input event among `events` (other events are skipped): per
    /// viewer, the highest input id.
    pub fn from_events(events: &[DisplayEvent]) -> Answers {
        let mut answers = Answers::none();
        for event in events {
            answers.record(event);
        }
        answers
    }

    /// Adds `event` if it is input with an id (a `resize` from a viewport change has none).
    pub fn record(&mut self, event: &DisplayEvent) {
        if let Some(input) = event.input() {
            self.record_input(input);
        }
    }

    /// Adds one input event (see [`Answers::record`]).
    pub fn record_input(&mut self, input: &InputEvent) {
        if let Some(id) = input.input_id {
            self.insert(input.client_id, id);
        }
    }

    /// Marks viewer `client_id`'s input `input_id` as answered (a lower id than one
    /// already recorded for that viewer changes nothing).
    pub fn insert(&mut self, client_id: u64, input_id: u64) {
        let map = Arc::make_mut(self.0.get_or_insert_with(Default::default));
        let newest = map.entry(client_id).or_insert(input_id);
        *newest = (*newest).max(input_id);
    }

    /// Everything `other` answers too (per viewer, the higher id wins).
    pub fn merge(&mut self, other: &Answers) {
        for (client_id, input_id) in other.iter() {
            self.insert(client_id, input_id);
        }
    }

    /// The newest input of viewer `client_id` the frame answers.
    pub fn for_client(&self, client_id: u64) -> Option<u64> {
        self.0.as_ref()?.get(&client_id).copied()
    }

    /// `(client_id, input_id)` pairs, by client id.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.0.iter().flat_map(|m| m.iter().map(|(c, i)| (*c, *i)))
    }

    /// How many viewers the frame answers.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// True when the frame answers nobody.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DownscaleHint;
    use rfb_protocol::input::{KeyInput, Modifiers};

    fn input(client_id: u64, input_id: Option<u64>) -> DisplayEvent {
        DisplayEvent::Input(InputEvent {
            client_id,
            principal: None,
            event: rfb_protocol::InputEvent::KeyDown(KeyInput {
                key: "a".into(),
                code: "KeyA".into(),
                modifiers: Modifiers::default(),
                repeat: false,
                timestamp: 0.0,
            }),
            received_us: 0,
            input_id,
        })
    }

    #[test]
    fn the_newest_id_per_viewer_wins() {
        let events = [
            input(1, Some(17)),
            input(2, Some(4)),
            input(1, Some(12)), // older than 17 (ids need not arrive in order)
            input(2, None),     // a resize without an id
            DisplayEvent::DownscaleHint(DownscaleHint {
                scale: 0.5,
                width: 2,
                height: 2,
            }),
        ];
        let answers = Answers::from_events(&events);
        assert_eq!(answers.for_client(1), Some(17));
        assert_eq!(answers.for_client(2), Some(4));
        assert_eq!(answers.for_client(3), None);
        assert_eq!(answers.len(), 2);
        assert_eq!(answers.iter().collect::<Vec<_>>(), vec![(1, 17), (2, 4)]);
    }

    #[test]
    fn nothing_answered_allocates_nothing_and_merges_keep_the_max() {
        let none = Answers::from_events(&[input(5, None)]);
        assert!(none.is_empty());
        assert_eq!(none, Answers::none());
        let mut a = Answers::from_events(&[input(1, Some(3))]);
        let shared = a.clone();
        a.merge(&Answers::from_events(&[
            input(1, Some(9)),
            input(2, Some(1)),
        ]));
        assert_eq!((a.for_client(1), a.for_client(2)), (Some(9), Some(1)));
        assert_eq!(
            shared.for_client(1),
            Some(3),
            "clones do not see later changes"
        );
    }
}
