//! A viewer that spends a set time over each frame before its ACK, noting for each frame
//! whether it was a keyframe and whether later pictures reference it: what the
//! temporal-layer tests compare between a slow and a fast viewer (on a display, and through
//! the relay).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rfb::client::TestClient;
use rfb::encode::sps;

use super::PixelChecker;

/// What a viewer saw: per publish counter (`frame_seq`), (keyframe, referenced by later
/// pictures).
#[derive(Debug, Default)]
pub struct Seen {
    pub frames: BTreeMap<u64, (bool, bool)>,
}

impl Seen {
    /// How many keyframes it received.
    pub fn keyframes(&self) -> usize {
        self.frames.values().filter(|(key, _)| *key).count()
    }
}

/// Receives, checks (pixels against the test card, from the first keyframe on) and
/// acknowledges frames until `stop`, taking `per_frame` over each one before its ACK.
pub fn watch_paced(
    mut client: TestClient,
    per_frame: Duration,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Seen> {
    tokio::spawn(async move {
        let mut checker = PixelChecker::new();
        let mut seen = Seen::default();
        while !stop.load(Ordering::Relaxed) {
            let Ok(f) = tokio::time::timeout(Duration::from_millis(100), client.next_frame()).await
            else {
                continue;
            };
            let f = f.unwrap();
            if f.header.keyframe {
                checker = PixelChecker::new();
            }
            checker.check_card(&f);
            seen.frames.insert(
                f.header.frame_seq,
                (f.header.keyframe, sps::is_reference(&f.payload)),
            );
            tokio::time::sleep(per_frame).await;
            client.ack(f.header.seq, 0).await.unwrap();
        }
        seen
    })
}
