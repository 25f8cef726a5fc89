//! Rule-by-rule tests of [`Fragmenter`]: the steps are applied to a model of the file (a
//! list of fragments, each a list of `(frame, duration)`), as `fmp4.rs` applies them.

use super::*;

const SECOND: u64 = 1_000_000;
const PERIOD_TICKS: u32 = 3_000; // 1/30 s

/// The file as the steps build it, and what was seen on the way.
#[derive(Debug, Default)]
struct Model {
    fragments: Vec<Vec<(u32, u32)>>,
    open_ended: Vec<bool>,
    extends: usize,
}

impl Model {
    fn apply(&mut self, step: Step<u32>) {
        match step {
            Step::Fragment {
                samples,
                open_ended,
            } => {
                assert!(!samples.is_empty(), "no empty fragment");
                self.fragments.push(
                    samples
                        .into_iter()
                        .map(|t| (t.sample, t.duration))
                        .collect(),
                );
                self.open_ended.push(open_ended);
            }
            Step::Extend { duration } => {
                assert_eq!(
                    self.open_ended.last(),
                    Some(&true),
                    "only an open-ended fragment is extended"
                );
                let last = self.fragments.last_mut().and_then(|f| f.last_mut());
                last.expect("a written sample").1 = duration;
                self.extends += 1;
            }
        }
    }

    fn durations(&self) -> Vec<u32> {
        self.fragments.iter().flatten().map(|s| s.1).collect()
    }

    fn frames(&self) -> Vec<u32> {
        self.fragments.iter().flatten().map(|s| s.0).collect()
    }

    /// Each fragment's decode time (the sum of every duration before it) and length.
    fn spans(&self) -> Vec<(u64, u64)> {
        let mut start = 0;
        self.fragments
            .iter()
            .map(|f| {
                let length: u64 = f.iter().map(|s| u64::from(s.1)).sum();
                let span = (start, length);
                start += length;
                span
            })
            .collect()
    }
}

fn fragmenter() -> Fragmenter<u32> {
    Fragmenter::new(Timeline::new(0, 30.0))
}

/// Publishes frame `id` at `at_us` after letting the clock reach it.
fn publish(f: &mut Fragmenter<u32>, model: &mut Model, at_us: u64, id: u32) {
    clock(f, model, at_us);
    for step in f.push(at_us, 1_000, false, id) {
        model.apply(step);
    }
}

/// Runs the clock to `now_us` as the worker does: a tick at every deadline passed.
fn clock(f: &mut Fragmenter<u32>, model: &mut Model, now_us: u64) {
    while let Some(deadline) = f.deadline_us().filter(|d| *d <= now_us) {
        let step = f.tick(deadline).expect("a deadline that passed acts");
        model.apply(step);
    }
    assert_eq!(f.tick(now_us), None, "nothing due before the deadline");
}

#[test]
fn a_steady_stream_makes_fragments_of_one_second_with_final_durations() {
    let (mut f, mut model) = (fragmenter(), Model::default());
    // 30 fps for 5 s, on time: frame i at tick 3000 i exactly.
    for i in 0..150u32 {
        publish(&mut f, &mut model, (u64::from(i) * SECOND).div_ceil(30), i);
    }
    model.apply(f.finish(5 * SECOND).expect("the open fragment"));
    assert_eq!(
        model.frames(),
        (0..150).collect::<Vec<_>>(),
        "every frame once, in order"
    );
    assert_eq!(model.extends, 0, "frames kept coming: nothing provisional");
    assert!(model.open_ended.iter().all(|o| !o));
    assert!(model.durations().iter().all(|d| *d == PERIOD_TICKS));
    let spans: Vec<(u64, u64)> = (0..5)
        .map(|i| (i * FRAGMENT_TICKS, FRAGMENT_TICKS))
        .collect();
    assert_eq!(
        model.spans(),
        spans,
        "30 frames and 1 s each, decode times continuous"
    );
    assert_eq!(f.timeline().elapsed_ticks(), 5 * FRAGMENT_TICKS);
}

#[test]
fn a_jittery_stream_keeps_each_fragments_frames_within_one_second() {
    let (mut f, mut model) = (fragmenter(), Model::default());
    let mut published = Vec::new();
    // 30 fps for 5 s, each publish up to 3 ms late (scheduling jitter).
    for i in 0..150u32 {
        let at = u64::from(i) * SECOND / 30 + u64::from(i % 4) * 1_000;
        published.push(at * 9 / 100); // the frame's tick
        publish(&mut f, &mut model, at, i);
    }
    model.apply(f.finish(5 * SECOND).expect("the open fragment"));
    assert_eq!(model.frames(), (0..150).collect::<Vec<_>>());
    assert_eq!(model.extends, 0);
    let mut first = 0;
    for (i, ((start, length), fragment)) in model.spans().iter().zip(&model.fragments).enumerate() {
        let last = first + fragment.len() - 1;
        assert_eq!(
            *start, published[first],
            "fragment {i} starts at its first frame"
        );
        let publishes = published[last] - published[first] + u64::from(PERIOD_TICKS);
        assert!(
            publishes <= FRAGMENT_TICKS,
            "fragment {i}: frames over {publishes} ticks"
        );
        // Its length runs to the next fragment's first frame: 1 s give or take the jitter
        // (the last one ends at the stop).
        let low = if last == 149 {
            0
        } else {
            FRAGMENT_TICKS - 2 * u64::from(PERIOD_TICKS)
        };
        assert!(
            (low..=FRAGMENT_TICKS + 270).contains(length),
            "fragment {i}: {length} ticks"
        );
        first = last + 1;
    }
}

#[test]
fn a_still_stream_closes_by_wall_time_and_the_pause_grows_in_place() {
    let (mut f, mut model) = (fragmenter(), Model::default());
    for i in 0..3u32 {
        publish(&mut f, &mut model, u64::from(i) * 33_334, i); // ticks 0, 3000, 6000
    }
    // Nothing new: the fragment stays open through 1 s plus one period of grace...
    clock(&mut f, &mut model, SECOND + SECOND / 30 - 1);
    assert!(model.fragments.is_empty());
    // ...then closes, frame 2 lasting (provisionally) until now.
    let close = SECOND + SECOND / 30 + 1;
    clock(&mut f, &mut model, close);
    assert_eq!(model.open_ended, vec![true]);
    assert_eq!(
        model.durations(),
        vec![PERIOD_TICKS, PERIOD_TICKS, 93_000 - 6_000]
    );
    // Still nothing: extended every second, to the time of the extension.
    clock(&mut f, &mut model, close + SECOND - 1);
    assert_eq!(model.extends, 0);
    clock(&mut f, &mut model, 3 * SECOND);
    assert_eq!(model.extends, 1);
    assert_eq!(model.durations()[2], 183_000 - 6_000, "extended to 2.033 s");
    // Frame 3 at 3.5 s: frame 2 lasts exactly the pause, and frame 3 opens fragment 2,
    // whose decode time is where the pause ended.
    publish(&mut f, &mut model, 3 * SECOND + SECOND / 2, 3);
    assert_eq!(model.extends, 3, "one more at 3.03 s, then the final one");
    assert_eq!(model.durations()[2], 315_000 - 6_000, "the whole pause");
    publish(&mut f, &mut model, 3 * SECOND + SECOND / 2 + SECOND / 30, 4);
    model.apply(f.finish(4 * SECOND).expect("the open fragment"));
    assert_eq!(model.open_ended, vec![true, false]);
    assert_eq!(model.spans(), vec![(0, 315_000), (315_000, 45_000)]);
    assert_eq!(model.frames(), vec![0, 1, 2, 3, 4]);
}

#[test]
fn a_single_frame_is_written_by_wall_time_and_finished_by_the_stop() {
    let (mut f, mut model) = (fragmenter(), Model::default());
    publish(&mut f, &mut model, 0, 7);
    assert!(f.deadline_us().is_some());
    clock(&mut f, &mut model, 5 * SECOND);
    assert_eq!(model.fragments.len(), 1, "the frame is in the file");
    assert!(
        model.extends >= 3,
        "extended each second: {}",
        model.extends
    );
    assert_eq!(
        model.durations(),
        vec![363_000],
        "until the last extension, at 4.03 s"
    );
    // The stop decides: here earlier than the last extension (the stop is stamped when
    // asked, the worker may act later).
    model.apply(
        f.finish(4 * SECOND + SECOND / 2)
            .expect("the final duration"),
    );
    assert_eq!(model.durations(), vec![405_000]);
    assert_eq!(f.deadline_us(), None, "nothing more to do");
    assert_eq!(f.tick(10 * SECOND), None);
}

#[test]
fn a_frame_on_time_closes_the_fragment_before_the_clock_does() {
    let (mut f, mut model) = (fragmenter(), Model::default());
    for i in 0..30u32 {
        publish(&mut f, &mut model, u64::from(i) * SECOND / 30, i);
    }
    // The 1 s mark passes with frame 30 not yet taken: the grace period covers it.
    clock(&mut f, &mut model, SECOND + 10_000);
    assert!(model.fragments.is_empty(), "no wall close within the grace");
    publish(&mut f, &mut model, SECOND + 10_000, 30);
    assert_eq!(model.open_ended, vec![false]);
    assert_eq!(
        model.spans(),
        vec![(0, 90_900)],
        "30 frames, the last one 10 ms late"
    );
}

#[test]
fn large_samples_close_a_fragment_early() {
    let mut f = fragmenter();
    let mut model = Model::default();
    let big = MAX_FRAGMENT_BYTES / 3 + 1;
    for i in 0..7u32 {
        for step in f.push(u64::from(i) * SECOND / 30, big, false, i) {
            model.apply(step);
        }
    }
    model.apply(f.finish(SECOND).expect("the open fragment"));
    let sizes: Vec<usize> = model.fragments.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![2, 2, 2, 1], "at most two such samples fit");
}

#[test]
fn a_new_sample_entry_starts_a_fragment() {
    let mut f = fragmenter();
    let mut model = Model::default();
    for i in 0..6u32 {
        for step in f.push(u64::from(i) * SECOND / 30, 1_000, i == 0 || i == 4, i) {
            model.apply(step);
        }
    }
    model.apply(f.finish(SECOND).expect("the open fragment"));
    assert_eq!(model.fragments.len(), 2);
    assert_eq!(model.frames(), (0..6).collect::<Vec<_>>());
    assert_eq!(
        model.fragments[1][0].0, 4,
        "frame 4 opens the second fragment"
    );
}

#[test]
fn nothing_published_is_nothing_to_write() {
    let mut f = fragmenter();
    assert_eq!(f.deadline_us(), None);
    assert_eq!(f.tick(10 * SECOND), None);
    assert_eq!(f.finish(10 * SECOND), None);
}
