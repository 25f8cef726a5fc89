//! Temporal layers on a shared lane, and the stream's content tuning reaching the encoder:
//! a member that falls behind skips the access units nothing references (layer 1) instead
//! of resyncing, so its drops cost nobody a keyframe, and what it does receive decodes to
//! the right pixels.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::paced::watch_paced;
use crate::common::*;
use rfb::encode::{EncodedPayload, Encoder, EncoderRegistry, EncoderSpec};
use rfb::{Content, EncodeError, Frame, StreamOptions};
use rfb_protocol::{Transport, YuvEncoding};

const W: u32 = 320;
const H: u32 = 240;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_member_skips_layer_1_without_keyframes_or_leaving_the_lane() {
    let (encoders, recorded) = recording_registry();
    let display = start_with(
        W,
        H,
        StreamOptions {
            keyframe_interval: 0, // IDRs only when someone needs one
            encoders,
            ..StreamOptions::default()
        },
    )
    .await;
    let publisher = publish_forever(&display, W, H, Duration::from_millis(33));
    let stop = Arc::new(AtomicBool::new(false));
    let fast = watch_paced(viewer(&display).await, Duration::ZERO, stop.clone());
    // 45 ms per frame: about 22 frames per second, fewer than the 30 published and more
    // than the 15 on the base layer.
    let slow = watch_paced(
        viewer(&display).await,
        Duration::from_millis(45),
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let metrics = display.metrics_snapshot();
    stop.store(true, Ordering::Relaxed);
    let (fast, slow) = (fast.await.unwrap(), slow.await.unwrap());
    publisher.abort();
    assert_eq!(metrics.len(), 2, "{metrics:?}");
    let (slow_m, fast_m) = if metrics[0].layer_skips >= metrics[1].layer_skips {
        (&metrics[0], &metrics[1])
    } else {
        (&metrics[1], &metrics[0])
    };
    assert!(
        slow_m.layer_skips > 10,
        "the slow viewer skipped: {slow_m:?}"
    );
    for m in [slow_m, fast_m] {
        assert!(
            m.shared_encoder && m.lane_fallbacks == 0,
            "both stayed on the lane: {m:?}"
        );
    }
    // What the slow viewer missed was layer 1 only: every frame it skipped between its
    // first and last that the fast viewer saw is one nothing references.
    let (first, last) = (
        *slow.frames.keys().next().unwrap(),
        *slow.frames.keys().last().unwrap(),
    );
    let missed: Vec<u64> = (first..=last)
        .filter(|s| !slow.frames.contains_key(s) && fast.frames.contains_key(s))
        .collect();
    assert!(missed.len() > 10, "it did fall behind: {missed:?}");
    for s in &missed {
        assert!(
            !fast.frames[s].1,
            "frame {s} is a reference, yet the slow viewer skipped it"
        );
    }
    // And every reference frame the fast viewer saw in that span reached it too (and
    // decoded to the right test card: `watch_paced` checks every frame's pixels).
    let base: BTreeSet<u64> = fast
        .frames
        .range(first..=last)
        .filter(|(_, (_, reference))| *reference)
        .map(|(s, _)| *s)
        .collect();
    assert!(base.len() > 10, "{base:?}");
    assert!(base.iter().all(|s| slow.frames.contains_key(s)));
    assert!(
        slow.frames.len() > 30,
        "the slow viewer kept streaming: {} frames",
        slow.frames.len()
    );
    // The lane encoded an IDR for the joins only (one, or two when the second join came
    // after the first IDR), none for the slow viewer's many drops; each viewer's only
    // keyframe is its join's.
    let lane_idrs = recorded.lane_idrs.load(Ordering::Relaxed);
    assert!(
        (1..=2).contains(&lane_idrs),
        "{lane_idrs} lane IDRs for 2 joins and {} drops",
        missed.len()
    );
    assert_eq!(slow.keyframes(), 1, "{:?}", slow.frames);
    assert!(
        fast.keyframes() as u64 <= lane_idrs,
        "{} keyframes",
        fast.keyframes()
    );
    // The fast viewer is unaffected: it got (nearly) every frame from its first on, and
    // skipped none of them as the slow one did.
    let (fast_first, fast_last) = (
        *fast.frames.keys().next().unwrap(),
        *fast.frames.keys().last().unwrap(),
    );
    let span = fast_last - fast_first + 1;
    assert!(
        fast.frames.len() as u64 * 10 >= span * 9,
        "the fast viewer saw {} of {span} frames",
        fast.frames.len()
    );
    assert!(
        fast_m.layer_skips * 10 <= slow_m.layer_skips,
        "fast {fast_m:?} / slow {slow_m:?}"
    );
    display.close().await;
}

/// What [`recording_registry`]'s encoders saw.
#[derive(Default)]
struct Recorded {
    /// Every spec an encoder was built for.
    specs: Mutex<Vec<EncoderSpec>>,
    /// IDRs encoded by lane encoders (the only ones with two temporal layers: private
    /// encoders and stills use one).
    lane_idrs: AtomicU64,
}

/// Wraps the default encoders, remembering every spec built and counting the IDRs of
/// lane encoders.
fn recording_registry() -> (EncoderRegistry, Arc<Recorded>) {
    struct Counting {
        inner: Box<dyn Encoder>,
        lane: bool,
        recorded: Arc<Recorded>,
    }
    impl Encoder for Counting {
        fn encode(
            &mut self,
            frame: &Frame,
            force_keyframe: bool,
        ) -> Result<Vec<EncodedPayload>, EncodeError> {
            let out = self.inner.encode(frame, force_keyframe)?;
            if self.lane {
                let idrs = out.iter().filter(|p| p.keyframe).count() as u64;
                self.recorded.lane_idrs.fetch_add(idrs, Ordering::Relaxed);
            }
            Ok(out)
        }
        fn codec_string(&self) -> String {
            self.inner.codec_string()
        }
        fn transport(&self) -> Transport {
            self.inner.transport()
        }
        fn yuv_encoding(&self) -> Option<YuvEncoding> {
            self.inner.yuv_encoding()
        }
    }
    let recorded = Arc::new(Recorded::default());
    let base = EncoderRegistry::default();
    let mut registry = EncoderRegistry::empty();
    let (b, r) = (base.clone(), recorded.clone());
    registry.register_video(
        "recording-h264",
        Arc::new(move |spec: &EncoderSpec| {
            r.specs.lock().unwrap().push(spec.clone());
            Ok(Box::new(Counting {
                inner: b.build(spec)?,
                lane: spec.temporal_layers > 1,
                recorded: r.clone(),
            }) as Box<dyn Encoder>)
        }),
    );
    registry.register_image(
        "image",
        Arc::new(move |spec: &EncoderSpec| base.build(spec)),
    );
    (registry, recorded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_content_reaches_every_encoder_and_layers_only_shared_ones() {
    for share in [true, false] {
        let (encoders, recorded) = recording_registry();
        let display = start_with(
            W,
            H,
            StreamOptions {
                content: Content::Screen,
                share_encoders: share,
                encoders,
                ..StreamOptions::default()
            },
        )
        .await;
        publish_card(&display, W, H);
        let mut client = viewer(&display).await;
        let f = frame(&mut client).await;
        assert!(f.header.keyframe);
        PixelChecker::new().check_card(&f);
        let built = recorded.specs.lock().unwrap().clone();
        assert!(!built.is_empty());
        for spec in &built {
            assert_eq!(spec.content, Content::Screen, "shared {share}: {spec:?}");
            assert_eq!(
                spec.temporal_layers,
                if share { 2 } else { 1 },
                "shared {share}: {spec:?}"
            );
        }
        display.close().await;
    }
}
