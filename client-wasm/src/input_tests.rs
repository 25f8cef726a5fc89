use super::*;
use rfb_protocol::FitMode;

fn sample(css_x: f64, css_y: f64) -> PointerSample {
    PointerSample {
        css_x,
        css_y,
        button: 0,
        buttons: 1,
        modifiers: Modifiers::from_flags(true, false, false, false),
        pointer_type: PointerKind::Mouse,
        pointer_id: 1,
        time_stamp_ms: 1500.0,
        pen: Pen::default(),
    }
}

fn target(mode: FitMode, css: (f64, f64), dpr: f64, cap: u32) -> InputTarget {
    InputTarget {
        geometry: ViewGeometry::new(mode, (640, 480), css, dpr, cap),
        pixel_ratio: 2.0,
    }
}

fn pointer(event: &InputEvent) -> &PointerInput {
    match event {
        InputEvent::PointerMove(p) | InputEvent::PointerDown(p) | InputEvent::PointerUp(p) => p,
        other => panic!("not a pointer event: {other:?}"),
    }
}

fn moved_to(id: i32, x: f32) -> InputEvent {
    let mut s = sample(0.0, 0.0);
    s.pointer_id = id;
    let mut e = target(FitMode::Fill, (640.0, 480.0), 1.0, 4096).pointer(PointerPhase::Move, &s);
    if let InputEvent::PointerMove(p) = &mut e {
        p.x = x;
    }
    e
}

/// Under CSS scaling the backing store is the frame (not the element at 2x), yet the same
/// CSS point maps to the same frame pixel: input follows where the picture is, not how.
#[test]
fn css_scaling_maps_clicks_like_canvas_scaling() {
    let css = InputTarget {
        geometry: ViewGeometry::scaled(
            rfb_protocol::Scaling::Css,
            FitMode::Contain,
            (640, 480),
            (800.0, 300.0),
            2.0,
            4096,
        ),
        pixel_ratio: 1.0,
    };
    assert_eq!(
        (css.geometry.backing_width, css.geometry.backing_height),
        (640, 480)
    );
    let canvas = target(FitMode::Contain, (800.0, 300.0), 2.0, 4096);
    for (x, y) in [
        (262.5, 62.5),
        (400.0, 150.0),
        (599.0, 299.0),
        (100.0, 150.0),
    ] {
        let a = canvas.pointer(PointerPhase::Down, &sample(x, y));
        let b = css.pointer(PointerPhase::Down, &sample(x, y));
        let (a, b) = (pointer(&a), pointer(&b));
        assert!(
            (a.x - b.x).abs() < 1e-3 && (a.y - b.y).abs() < 1e-3 && a.inside == b.inside,
            "({x}, {y}): {a:?} vs {b:?}"
        );
    }
    let bar = css.pointer(PointerPhase::Down, &sample(100.0, 150.0));
    assert!(!pointer(&bar).inside);
}

#[test]
fn a_click_maps_to_the_frame_pixel_under_it() {
    // 640x480 frame, contain in an 800x300 canvas: a 400x300 picture at x = 200.
    let t = target(FitMode::Contain, (800.0, 300.0), 2.0, 4096);
    let down = t.pointer(
        PointerPhase::Down,
        &sample(200.0 + 100.0 * 0.625, 100.0 * 0.625),
    );
    let p = pointer(&down);
    assert!(matches!(down, InputEvent::PointerDown(_)));
    assert!(
        (p.x - 100.0).abs() < 1e-3 && (p.y - 100.0).abs() < 1e-3,
        "{p:?}"
    );
    assert!(p.inside);
    assert_eq!((p.button, p.buttons.list()), (1, vec![1]));
    assert_eq!(p.modifiers.names(), vec!["Shift"]);
    assert_eq!(p.pixel_ratio, 2.0);
    assert_eq!(p.timestamp, 1.5);
    // The bar left of the picture: clamped to column 0, not inside.
    let bar = t.pointer(PointerPhase::Down, &sample(50.0, 150.0));
    assert!(!pointer(&bar).inside && pointer(&bar).x == 0.0);
}

#[test]
fn the_backing_cap_and_dpr_do_not_move_the_mapping() {
    for (dpr, cap) in [(1.0, 4096), (2.0, 4096), (1.5, 4096), (2.0, 700)] {
        let t = target(FitMode::Cover, (300.0, 600.0), dpr, cap);
        let (cx, cy) = t.geometry.frame_to_css(320.0, 240.0);
        let p = t.pointer(PointerPhase::Move, &sample(cx, cy));
        let p = pointer(&p);
        assert!((p.x - 320.0).abs() < 0.01 && (p.y - 240.0).abs() < 0.01);
        assert_eq!(p.button, 0, "moves report no changed button");
    }
}

#[test]
fn right_and_middle_buttons_use_renderview_numbers() {
    let t = target(FitMode::Fill, (640.0, 480.0), 1.0, 4096);
    let mut s = sample(10.0, 10.0);
    (s.button, s.buttons) = (2, 2);
    let p = t.pointer(PointerPhase::Down, &s);
    assert_eq!(
        (pointer(&p).button, pointer(&p).buttons.list()),
        (2, vec![2])
    );
    (s.button, s.buttons) = (1, 4);
    let p = t.pointer(PointerPhase::Down, &s);
    assert_eq!(
        (pointer(&p).button, pointer(&p).buttons.list()),
        (3, vec![3])
    );
    (s.button, s.buttons) = (2, 0);
    let p = t.pointer(PointerPhase::Up, &s);
    assert_eq!(
        (pointer(&p).button, pointer(&p).buttons.list()),
        (2, vec![])
    );
}

#[test]
fn chord_changes_in_pointermove_become_downs_and_ups() {
    assert_eq!(
        pointer_phase("pointermove", -1, 1),
        Some(PointerPhase::Move)
    );
    // Right pressed while left is held: pointermove, button 2, buttons 1|2.
    assert_eq!(pointer_phase("pointermove", 2, 3), Some(PointerPhase::Down));
    // Right released, left still held.
    assert_eq!(pointer_phase("pointermove", 2, 1), Some(PointerPhase::Up));
    assert_eq!(pointer_phase("pointerdown", 0, 1), Some(PointerPhase::Down));
    assert_eq!(
        pointer_phase("pointercancel", -1, 0),
        Some(PointerPhase::Up)
    );
    assert_eq!(pointer_phase("pointerover", -1, 0), None);
}

#[test]
fn wheel_deltas_become_pixels() {
    assert_eq!(
        wheel_pixels(3.0, -4.0, DOM_DELTA_PIXEL, (800.0, 600.0)),
        (3.0, -4.0)
    );
    assert_eq!(
        wheel_pixels(0.0, 3.0, DOM_DELTA_LINE, (800.0, 600.0)),
        (0.0, 120.0)
    );
    assert_eq!(
        wheel_pixels(1.0, -1.0, DOM_DELTA_PAGE, (800.0, 600.0)),
        (800.0, -600.0)
    );
    assert_eq!(
        wheel_pixels(f64::NAN, 1.0, DOM_DELTA_PIXEL, (1.0, 1.0)),
        (0.0, 1.0)
    );
    let t = target(FitMode::Fill, (640.0, 480.0), 1.0, 4096);
    let InputEvent::Wheel(w) = t.wheel(&sample(320.0, 240.0), (0.0, 120.0)) else {
        panic!("not a wheel event");
    };
    assert_eq!((w.x, w.y, w.dy, w.inside), (320.0, 240.0, 120.0, true));
}

#[test]
fn keys_carry_key_code_and_seconds() {
    let e = key_event(
        true,
        "a".into(),
        "KeyA".into(),
        Modifiers::default(),
        false,
        250.0,
    );
    let InputEvent::KeyDown(k) = e else {
        panic!("not a key down")
    };
    assert_eq!(
        (k.key.as_str(), k.code.as_str(), k.timestamp),
        ("a", "KeyA", 0.25)
    );
    assert!(matches!(
        key_event(
            false,
            "a".into(),
            "KeyA".into(),
            Modifiers::default(),
            false,
            0.0
        ),
        InputEvent::KeyUp(_)
    ));
}

fn hovered_to(id: i32, x: f32) -> InputEvent {
    let mut e = moved_to(id, x);
    if let InputEvent::PointerMove(p) = &mut e {
        p.buttons = rfb_protocol::input::Buttons(0);
    }
    e
}

#[test]
fn a_drag_keeps_every_point_in_order_up_to_the_trail_cap() {
    let mut c = MoveCoalescer::default();
    c.moved(hovered_to(7, 100.0));
    for x in 0..5 {
        c.moved(moved_to(1, x as f32)); // button held: a stroke
    }
    c.moved(hovered_to(7, 101.0));
    let xs: Vec<(i32, f32)> = c
        .animation_frame()
        .iter()
        .map(|e| (pointer(e).pointer_id, pointer(e).x))
        .collect();
    assert_eq!(
        xs,
        vec![(7, 101.0), (1, 0.0), (1, 1.0), (1, 2.0), (1, 3.0), (1, 4.0)]
    );
    for x in 0..(MAX_TRAIL + 10) {
        c.moved(moved_to(1, x as f32));
    }
    let trail = c.animation_frame();
    assert_eq!(trail.len(), MAX_TRAIL);
    assert_eq!(pointer(&trail[0]).x, 10.0, "the oldest points went first");
}

#[test]
fn moves_coalesce_per_pointer_and_flush_before_other_events() {
    let moved_to = hovered_to;
    let mut c = MoveCoalescer::default();
    assert!(c.moved(moved_to(1, 1.0)), "the first move requests a frame");
    assert!(!c.moved(moved_to(1, 2.0)), "one request per frame");
    assert!(!c.moved(moved_to(7, 5.0)));
    assert!(!c.moved(moved_to(1, 3.0)));
    // A down comes: the pending moves go first, latest position per pointer.
    let flushed = c.flush();
    let xs: Vec<(i32, f32)> = flushed
        .iter()
        .map(|e| (pointer(e).pointer_id, pointer(e).x))
        .collect();
    assert_eq!(xs, vec![(1, 3.0), (7, 5.0)]);
    // The frame that was requested finds nothing; the next move requests a new one.
    assert!(!c.moved(moved_to(1, 4.0)), "a frame is still requested");
    assert_eq!(c.animation_frame().len(), 1);
    assert!(c.animation_frame().is_empty());
    assert!(c.moved(moved_to(1, 5.0)));
}

#[test]
fn viewports_are_uncapped_physical_sizes_sent_once() {
    let v = viewport(400.5, 300.0, 2.0);
    assert_eq!(
        (v.width, v.height, v.pwidth, v.pheight, v.ratio),
        (400.5, 300.0, 801, 600, 2.0)
    );
    let big = viewport(3000.0, 2000.0, 2.0);
    assert_eq!(
        (big.pwidth, big.pheight),
        (6000, 4000),
        "no backing-store cap"
    );
    let mut t = ViewportTracker::default();
    t.sent(v);
    assert_eq!(t.changed(v), None);
    assert_eq!(t.changed(big), Some(big));
    assert_eq!(t.changed(big), None);
    assert_eq!(t.changed(v), Some(v));
}

fn element_box(scale: f64, inset: f64) -> ElementBox {
    // A 640x360 content box with `inset` border + padding on each side, at (100, 50) on the
    // page, scaled by `scale` about its top-left corner.
    ElementBox {
        rect_left: 100.0,
        rect_top: 50.0,
        rect_width: (640.0 + 2.0 * inset) * scale,
        rect_height: (360.0 + 2.0 * inset) * scale,
        inset_left: inset,
        inset_top: inset,
        border_width: 640.0 + 2.0 * inset,
        border_height: 360.0 + 2.0 * inset,
    }
}

#[test]
fn content_point_undoes_a_scale_transform() {
    // The case: scale(0.5), a click on the visual centre of the 640x360 frame.
    let b = element_box(0.5, 0.0);
    assert_eq!(b.content_point(100.0 + 160.0, 50.0 + 90.0), (320.0, 180.0));
    assert_eq!(
        element_box(1.0, 0.0).content_point(420.0, 230.0),
        (320.0, 180.0)
    );
    assert_eq!(
        element_box(2.0, 0.0).content_point(740.0, 410.0),
        (320.0, 180.0)
    );
}

#[test]
fn content_point_subtracts_border_and_padding() {
    let b = element_box(1.0, 15.0);
    assert_eq!(b.content_point(115.0, 65.0), (0.0, 0.0));
    let scaled = element_box(0.5, 15.0);
    assert_eq!(
        scaled.content_point(100.0 + 7.5 + 160.0, 50.0 + 7.5 + 90.0),
        (320.0, 180.0)
    );
}

#[test]
fn content_point_of_an_element_with_no_size_does_not_divide_by_zero() {
    let mut b = element_box(1.0, 0.0);
    b.border_width = 0.0;
    b.rect_width = 0.0;
    let (x, y) = b.content_point(110.0, 60.0);
    assert_eq!((x, y), (10.0, 10.0));
}

#[test]
fn a_paste_is_cut_to_the_protocol_limit_at_a_character_boundary() {
    let short = paste_event("héllo".into(), 2500.0);
    assert_eq!(
        short,
        InputEvent::Paste(rfb_protocol::input::TextInput {
            text: "héllo".into(),
            timestamp: 2.5
        })
    );
    // "é" is two bytes: a cut in its middle moves back to the character's start.
    let long = "é".repeat(MAX_TEXT_BYTES);
    match paste_event(long, 0.0) {
        InputEvent::Paste(t) => {
            assert!(t.text.len() <= MAX_TEXT_BYTES && t.text.len() >= MAX_TEXT_BYTES - 1);
            assert!(t.text.chars().all(|c| c == 'é'));
        }
        other => panic!("{other:?}"),
    }
}
