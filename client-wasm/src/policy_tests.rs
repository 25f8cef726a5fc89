use super::*;
use rfb_protocol::SRGB;

fn header(seq: u64, keyframe: bool) -> FrameHeader {
    FrameHeader {
        seq,
        frame_seq: seq + 100,
        timestamp_us: seq * 33_333,
        width: 640,
        height: 480,
        keyframe,
        pixel_ratio: 1.0,
        color: SRGB,
        input_id: None,
    }
}

fn ack(seq: u64, decode_queue_size: u32) -> Option<Ack> {
    Some(Ack {
        seq,
        decode_queue_size,
        timings: None,
    })
}

/// Draws what the policy says to draw and returns the ack.
fn show(p: &mut FramePolicy, decoded: Decoded) -> Option<Ack> {
    match decoded {
        Decoded::Draw(frame) => p.displayed(&frame, None),
        Decoded::Stale => panic!("expected a frame to draw"),
    }
}

fn show_video(p: &mut FramePolicy, timestamp_us: u64) -> Option<Ack> {
    let decoded = p.video_decoded(timestamp_us, 0.0);
    show(p, decoded)
}

fn show_image(p: &mut FramePolicy, seq: u64) -> Option<Ack> {
    let decoded = p.image_decoded(seq, 0.0);
    show(p, decoded)
}

#[test]
fn video_in_order_is_drawn_and_acked_with_the_queue_size() {
    let mut p = FramePolicy::new();
    assert_eq!(p.arrived(&header(1, true), true, 0.0), Arrival::Decode);
    assert_eq!(p.arrived(&header(2, false), true, 0.0), Arrival::Decode);
    assert_eq!(p.counters().decode_queue_size, 2);
    assert_eq!(show_video(&mut p, 33_333), ack(1, 1));
    assert_eq!(show_video(&mut p, 66_666), ack(2, 0));
    let c = p.counters();
    assert_eq!(c.frames_displayed, 2);
    assert_eq!(c.frames_dropped, 0);
    assert_eq!(c.last_displayed_seq, Some(2));
    assert_eq!(c.last_frame_seq, Some(102));
}

#[test]
fn a_delta_without_keyframe_is_dropped_acked_and_asks_for_one_keyframe() {
    let mut p = FramePolicy::new();
    assert_eq!(
        p.arrived(&header(1, false), true, 0.0),
        Arrival::Discard {
            request_keyframe: true,
            ack: ack(1, 0)
        }
    );
    // The request is outstanding: the next deltas do not repeat it...
    for seq in 2..=KEYFRAME_REREQUEST_AFTER as u64 {
        let Arrival::Discard {
            request_keyframe, ..
        } = p.arrived(&header(seq, false), true, 0.0)
        else {
            panic!("delta {seq} should be discarded");
        };
        assert!(!request_keyframe, "delta {seq}");
    }
    // ...until enough of them went by.
    let next = KEYFRAME_REREQUEST_AFTER as u64 + 1;
    assert!(matches!(
        p.arrived(&header(next, false), true, 0.0),
        Arrival::Discard {
            request_keyframe: true,
            ..
        }
    ));
    assert_eq!(p.counters().frames_dropped, next);
    // A keyframe ends the wait; deltas decode again.
    assert_eq!(
        p.arrived(&header(next + 1, true), true, 0.0),
        Arrival::Decode
    );
    assert_eq!(
        p.arrived(&header(next + 2, false), true, 0.0),
        Arrival::Decode
    );
}

#[test]
fn images_never_need_a_keyframe() {
    let mut p = FramePolicy::new();
    let mut h = header(1, false);
    h.keyframe = false;
    assert_eq!(p.arrived(&h, false, 0.0), Arrival::Decode);
}

#[test]
fn an_image_decoding_late_never_overwrites_a_newer_one() {
    let mut p = FramePolicy::new();
    for seq in 1..=3 {
        assert_eq!(p.arrived(&header(seq, true), false, 0.0), Arrival::Decode);
    }
    // 3 finishes first and is drawn; its ack covers 1 and 2 on the server.
    assert_eq!(show_image(&mut p, 3), ack(3, 2));
    assert_eq!(p.image_decoded(1, 0.0), Decoded::Stale);
    assert_eq!(p.image_decoded(2, 0.0), Decoded::Stale);
    let c = p.counters();
    assert_eq!((c.frames_displayed, c.frames_dropped), (1, 2));
    assert_eq!(c.last_displayed_seq, Some(3));
    assert_eq!(c.decode_queue_size, 0);
    // An unknown seq is stale, not a panic.
    assert_eq!(p.image_decoded(99, 0.0), Decoded::Stale);
}

#[test]
fn a_decoder_reset_drops_and_acks_everything_in_flight() {
    let mut p = FramePolicy::new();
    p.arrived(&header(1, true), true, 0.0);
    p.arrived(&header(2, false), true, 0.0);
    assert_eq!(p.decoder_reset(), ack(2, 0));
    assert_eq!(p.counters().frames_dropped, 2);
    // Nothing in flight: nothing to ack.
    assert_eq!(p.decoder_reset(), None);
    // After a reset a delta needs a keyframe again.
    assert!(matches!(
        p.arrived(&header(3, false), true, 0.0),
        Arrival::Discard {
            request_keyframe: true,
            ..
        }
    ));
}

#[test]
fn a_decoder_failure_requests_a_keyframe_once() {
    let mut p = FramePolicy::new();
    p.arrived(&header(1, true), true, 0.0);
    assert_eq!(p.decoder_failed(), (ack(1, 0), true));
    // The failure already asked for a keyframe: the next delta does not ask again.
    assert!(matches!(
        p.arrived(&header(2, false), true, 0.0),
        Arrival::Discard {
            request_keyframe: false,
            ..
        }
    ));
}

#[test]
fn frames_the_video_decoder_skipped_count_as_dropped() {
    let mut p = FramePolicy::new();
    for seq in 1..=3 {
        p.arrived(&header(seq, seq == 1), true, 0.0);
    }
    assert_eq!(show_video(&mut p, 3 * 33_333), ack(3, 0));
    assert_eq!(p.counters().frames_dropped, 2);
    assert_eq!(p.video_decoded(12345, 0.0), Decoded::Stale);
}

#[test]
fn a_failed_image_is_acked_only_once_older_frames_are_settled() {
    let mut p = FramePolicy::new();
    p.arrived(&header(4, true), false, 0.0);
    p.arrived(&header(5, true), false, 0.0);
    // 5 is undecodable while 4 is still decoding: acking 5 would claim 4 too early.
    assert_eq!(p.decode_failed(5), None);
    // 4 is drawn: the ack now covers the failed 5 as well.
    assert_eq!(show_image(&mut p, 4), ack(5, 0));
    assert_eq!(p.decode_failed(5), None, "already settled");
    let c = p.counters();
    assert_eq!((c.frames_displayed, c.frames_dropped), (1, 1));
}

#[test]
fn a_failed_draw_is_dropped_and_acked() {
    let mut p = FramePolicy::new();
    p.arrived(&header(1, true), false, 0.0);
    let Decoded::Draw(frame) = p.image_decoded(1, 0.0) else {
        panic!("fresh frame")
    };
    assert_eq!(p.draw_failed(&frame), ack(1, 0));
    assert_eq!(p.counters().frames_dropped, 1);
    assert_eq!(p.counters().last_displayed_seq, None);
}

#[test]
fn a_new_connection_starts_its_seqs_over_and_keeps_the_counters() {
    let mut p = FramePolicy::new();
    for seq in 1..=50 {
        p.arrived(&header(seq, seq == 1), true, 0.0);
        show_video(&mut p, seq * 33_333);
    }
    // Frame 51 is still in the decoder when the connection drops.
    p.arrived(&header(51, false), true, 0.0);
    p.new_connection();
    let c = p.counters();
    assert_eq!((c.frames_displayed, c.frames_dropped), (50, 1));
    assert_eq!(c.decode_queue_size, 0);
    assert_eq!(
        c.last_displayed_seq,
        Some(50),
        "the old frame is still on screen"
    );
    // The new connection needs a keyframe first, and its seq 1 is not "older" than 50.
    assert!(matches!(
        p.arrived(&header(2, false), true, 0.0),
        Arrival::Discard {
            request_keyframe: true,
            ..
        }
    ));
    assert_eq!(p.arrived(&header(3, true), true, 0.0), Arrival::Decode);
    assert_eq!(show_video(&mut p, 3 * 33_333), ack(3, 0));
    assert_eq!(p.counters().last_displayed_seq, Some(3));
    assert_eq!(p.counters().frames_displayed, 51);
}

#[test]
fn a_frame_converted_after_a_newer_one_was_shown_is_superseded() {
    let mut p = FramePolicy::new();
    assert!(!p.is_superseded(1), "nothing shown yet");
    p.arrived(&header(1, true), true, 0.0);
    p.arrived(&header(2, false), true, 0.0);
    let Decoded::Draw(first) = p.video_decoded(33_333, 0.0) else {
        panic!("frame 1 is fresh")
    };
    let Decoded::Draw(second) = p.video_decoded(2 * 33_333, 0.0) else {
        panic!("frame 2 is fresh")
    };
    // Frame 2's conversion finishes first and is shown; frame 1's then must not be.
    assert_eq!(p.displayed(&second, None), ack(2, 0));
    assert!(p.is_superseded(first.seq));
    assert_eq!(
        p.draw_failed(&first),
        None,
        "already covered by the ack of 2"
    );
    assert_eq!(p.counters().frames_dropped, 1);
    assert!(!p.is_superseded(3));
}

#[test]
fn the_ack_of_a_drawn_frame_carries_its_timings() {
    let mut p = FramePolicy::new();
    p.arrived(&header(1, true), true, 100.0);
    let Decoded::Draw(frame) = p.video_decoded(33_333, 104.0) else {
        panic!("drawn");
    };
    assert_eq!((frame.received_ms, frame.decoded_ms), (100.0, 104.0));
    let timings = frame.timings(105.5, 106.0);
    assert_eq!(
        timings,
        FrameTimings {
            receive_to_decoded_us: 4000,
            decoded_to_drawn_us: 1500,
            receive_to_ack_us: 6000,
        }
    );
    let ack = p.displayed(&frame, Some(timings)).expect("acked");
    assert_eq!((ack.seq, ack.timings), (1, Some(timings)));
}

#[test]
fn an_ack_that_also_covers_a_newer_discard_carries_no_timings() {
    let mut p = FramePolicy::new();
    p.arrived(&header(1, false), false, 0.0);
    p.arrived(&header(2, false), false, 0.0);
    // Image 2 cannot be decoded; its ack waits for image 1 (still decoding).
    assert_eq!(p.decode_failed(2), None);
    let Decoded::Draw(frame) = p.image_decoded(1, 3.0) else {
        panic!("drawn");
    };
    let ack = p.displayed(&frame, Some(frame.timings(4.0, 4.0)));
    assert_eq!(ack.map(|a| (a.seq, a.timings)), Some((2, None)));
}

#[test]
fn the_input_a_frame_answers_is_kept_for_the_draw() {
    let mut p = FramePolicy::new();
    p.arrived(
        &FrameHeader {
            input_id: Some(17),
            ..header(1, true)
        },
        true,
        0.0,
    );
    let Decoded::Draw(frame) = p.video_decoded(33_333, 1.0) else {
        panic!("drawn");
    };
    assert_eq!(frame.input_id, Some(17));
}
