//! Viewport math shared by the viewer (drawing, input mapping) and the server (tests,
//! match-client sizing): CSS pixels -> canvas backing pixels -> frame pixels, for each fit
//! mode, with the device pixel ratio and a cap on the backing-store size.
//!
//! Two ways to scale a frame into its element ([`Scaling`]): inside the canvas (the
//! backing store is the element's size in device pixels and each frame is drawn scaled
//! into it through the fit mode) or by CSS (the backing store is the frame, drawn 1:1, and
//! the element shows it with `object-fit` = the fit mode, centred, so the browser's
//! compositor does the scaling). Both map points through [`ViewGeometry::frame_rect_css`].

/// How a frame is fitted into a canvas of another aspect ratio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FitMode {
    /// Scale to fit inside, keep the aspect ratio, letterbox the rest (default).
    #[default]
    Contain,
    /// Scale to cover the canvas, keep the aspect ratio, crop what overflows.
    Cover,
    /// Stretch each axis to the canvas.
    Fill,
}

impl FitMode {
    /// Parses `contain`, `cover` or `fill`.
    pub fn from_name(name: &str) -> Option<FitMode> {
        match name {
            "contain" => Some(FitMode::Contain),
            "cover" => Some(FitMode::Cover),
            "fill" => Some(FitMode::Fill),
            _ => None,
        }
    }

    /// The option name.
    pub fn name(self) -> &'static str {
        match self {
            FitMode::Contain => "contain",
            FitMode::Cover => "cover",
            FitMode::Fill => "fill",
        }
    }
}

/// Where a frame is scaled to the size of its element.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Scaling {
    /// The backing store is the element's size in device pixels (capped) and each frame is
    /// drawn scaled into it, letterbox included (a 2D-canvas `drawImage`).
    Canvas,
    /// The backing store is the frame's size (capped), drawn 1:1; the element scales it with
    /// CSS `object-fit` (the fit mode) and `object-position: 50% 50%`, and its background
    /// colour shows in the bars: the scaling happens in the browser's compositor (on the
    /// GPU where there is one). The default.
    #[default]
    Css,
}

impl Scaling {
    /// Parses `css` or `canvas`.
    pub fn from_name(name: &str) -> Option<Scaling> {
        match name {
            "css" => Some(Scaling::Css),
            "canvas" => Some(Scaling::Canvas),
            _ => None,
        }
    }

    /// The option name.
    pub fn name(self) -> &'static str {
        match self {
            Scaling::Css => "css",
            Scaling::Canvas => "canvas",
        }
    }
}

/// An axis-aligned rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// The backing-store size for a canvas of `css_width x css_height` CSS pixels at device
/// pixel ratio `dpr`, scaled down (keeping the aspect ratio) so neither side exceeds
/// `max_dimension`. Never zero.
pub fn backing_size(css_width: f64, css_height: f64, dpr: f64, max_dimension: u32) -> (u32, u32) {
    let dpr = if dpr.is_finite() && dpr > 0.0 {
        dpr
    } else {
        1.0
    };
    let (mut w, mut h) = (css_width.max(0.0) * dpr, css_height.max(0.0) * dpr);
    let max = f64::from(max_dimension.max(1));
    let largest = w.max(h);
    if largest > max {
        let k = max / largest;
        w *= k;
        h *= k;
    }
    ((w.round() as u32).max(1), (h.round() as u32).max(1))
}

/// Where a `frame_width x frame_height` frame lands in a `canvas_width x canvas_height`
/// canvas under `mode`. Under `Cover` the rectangle overflows the canvas.
pub fn fit_rect(
    mode: FitMode,
    frame_width: f64,
    frame_height: f64,
    canvas_width: f64,
    canvas_height: f64,
) -> Rect {
    if frame_width <= 0.0 || frame_height <= 0.0 || mode == FitMode::Fill {
        return Rect {
            x: 0.0,
            y: 0.0,
            width: canvas_width,
            height: canvas_height,
        };
    }
    let sx = canvas_width / frame_width;
    let sy = canvas_height / frame_height;
    let scale = if mode == FitMode::Contain {
        sx.min(sy)
    } else {
        sx.max(sy)
    };
    let (width, height) = (frame_width * scale, frame_height * scale);
    Rect {
        x: (canvas_width - width) / 2.0,
        y: (canvas_height - height) / 2.0,
        width,
        height,
    }
}

/// A point in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramePoint {
    /// Frame x, clamped to `0..=width-1`.
    pub x: f64,
    /// Frame y, clamped to `0..=height-1`.
    pub y: f64,
    /// False when the point is in a letterbox bar, cropped away by `cover`, or off the canvas.
    pub inside: bool,
}

/// Everything needed to map between CSS pixels of the canvas element and frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewGeometry {
    /// The fit mode.
    pub mode: FitMode,
    /// Frame width in pixels.
    pub frame_width: u32,
    /// Frame height in pixels.
    pub frame_height: u32,
    /// Canvas element width in CSS pixels.
    pub css_width: f64,
    /// Canvas element height in CSS pixels.
    pub css_height: f64,
    /// Canvas backing-store width (see [`backing_size`]).
    pub backing_width: u32,
    /// Canvas backing-store height.
    pub backing_height: u32,
    /// Where the frame is scaled to the element.
    pub scaling: Scaling,
}

impl ViewGeometry {
    /// Builds the geometry for a canvas element scaled inside the canvas
    /// ([`Scaling::Canvas`]), sizing its backing store for `dpr` capped at
    /// `max_backing_dimension`.
    pub fn new(
        mode: FitMode,
        frame: (u32, u32),
        css: (f64, f64),
        dpr: f64,
        max_backing_dimension: u32,
    ) -> ViewGeometry {
        ViewGeometry::scaled(
            Scaling::Canvas,
            mode,
            frame,
            css,
            dpr,
            max_backing_dimension,
        )
    }

    /// Builds the geometry for a canvas element under `scaling`: the backing store is the
    /// element's size at `dpr` ([`Scaling::Canvas`]) or the frame's ([`Scaling::Css`]),
    /// capped at `max_backing_dimension` either way (keeping the aspect ratio).
    pub fn scaled(
        scaling: Scaling,
        mode: FitMode,
        frame: (u32, u32),
        css: (f64, f64),
        dpr: f64,
        max_backing_dimension: u32,
    ) -> ViewGeometry {
        let (backing_width, backing_height) = match scaling {
            Scaling::Canvas => backing_size(css.0, css.1, dpr, max_backing_dimension),
            Scaling::Css => backing_size(
                f64::from(frame.0),
                f64::from(frame.1),
                1.0,
                max_backing_dimension,
            ),
        };
        ViewGeometry {
            mode,
            frame_width: frame.0,
            frame_height: frame.1,
            css_width: css.0,
            css_height: css.1,
            backing_width,
            backing_height,
            scaling,
        }
    }

    /// Where the frame is drawn, in backing-store pixels: through the fit mode
    /// ([`Scaling::Canvas`]), or over the whole backing store ([`Scaling::Css`]).
    pub fn dest_rect(&self) -> Rect {
        match self.scaling {
            Scaling::Canvas => fit_rect(
                self.mode,
                f64::from(self.frame_width),
                f64::from(self.frame_height),
                f64::from(self.backing_width),
                f64::from(self.backing_height),
            ),
            Scaling::Css => Rect {
                x: 0.0,
                y: 0.0,
                width: f64::from(self.backing_width),
                height: f64::from(self.backing_height),
            },
        }
    }

    /// The CSS `object-fit` the element needs for this geometry: the fit mode's name under
    /// [`Scaling::Css`] (`contain`, `cover`, `fill`: the same rectangles as [`fit_rect`]),
    /// `fill` under [`Scaling::Canvas`] (the backing store has the element's shape).
    pub fn object_fit(&self) -> &'static str {
        match self.scaling {
            Scaling::Canvas => "fill",
            Scaling::Css => self.mode.name(),
        }
    }

    /// Where the frame lands in the element, in CSS pixels from its content box's top-left
    /// corner (overflowing it under `cover`). Under [`Scaling::Css`] this is where the
    /// browser puts the backing store by `object-fit` (the fit of the backing store's size,
    /// which the cap may round a pixel off the frame's aspect ratio).
    pub fn frame_rect_css(&self) -> Rect {
        match self.scaling {
            Scaling::Canvas => {
                let (kx, ky) = self.backing_per_css();
                let r = self.dest_rect();
                Rect {
                    x: r.x / kx,
                    y: r.y / ky,
                    width: r.width / kx,
                    height: r.height / ky,
                }
            }
            Scaling::Css => fit_rect(
                self.mode,
                f64::from(self.backing_width),
                f64::from(self.backing_height),
                self.css_width,
                self.css_height,
            ),
        }
    }

    fn backing_per_css(&self) -> (f64, f64) {
        let per = |backing: u32, css: f64| {
            if css > 0.0 {
                f64::from(backing) / css
            } else {
                1.0
            }
        };
        (
            per(self.backing_width, self.css_width),
            per(self.backing_height, self.css_height),
        )
    }

    /// Maps a point in CSS pixels relative to the canvas element's top-left corner to frame
    /// pixels.
    pub fn css_to_frame(&self, css_x: f64, css_y: f64) -> FramePoint {
        let rect = self.frame_rect_css();
        let (fw, fh) = (f64::from(self.frame_width), f64::from(self.frame_height));
        let fx = (css_x - rect.x) * fw / rect.width.max(f64::MIN_POSITIVE);
        let fy = (css_y - rect.y) * fh / rect.height.max(f64::MIN_POSITIVE);
        let on_canvas = css_x >= 0.0
            && css_y >= 0.0
            && css_x < self.css_width.max(0.0)
            && css_y < self.css_height.max(0.0);
        let inside = on_canvas && fx >= 0.0 && fy >= 0.0 && fx < fw && fy < fh;
        let clamp = |v: f64, size: f64| {
            if v.is_finite() {
                v.clamp(0.0, (size - 1.0).max(0.0))
            } else {
                0.0
            }
        };
        FramePoint {
            x: clamp(fx, fw),
            y: clamp(fy, fh),
            inside,
        }
    }

    /// Maps a frame pixel to CSS pixels relative to the canvas element (the inverse of
    /// [`ViewGeometry::css_to_frame`], for points that are visible).
    pub fn frame_to_css(&self, frame_x: f64, frame_y: f64) -> (f64, f64) {
        let rect = self.frame_rect_css();
        (
            rect.x + frame_x * rect.width / f64::from(self.frame_width.max(1)),
            rect.y + frame_y * rect.height / f64::from(self.frame_height.max(1)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: [FitMode; 3] = [FitMode::Contain, FitMode::Cover, FitMode::Fill];
    const SCALINGS: [Scaling; 2] = [Scaling::Canvas, Scaling::Css];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn css_scaling_backs_the_element_with_the_frame_capped() {
        for dpr in [1.0, 1.25, 2.0] {
            let g = ViewGeometry::scaled(
                Scaling::Css,
                FitMode::Contain,
                (1920, 1080),
                (1300.0, 740.0),
                dpr,
                4096,
            );
            assert_eq!(
                (g.backing_width, g.backing_height),
                (1920, 1080),
                "dpr {dpr}"
            );
            // Drawn 1:1 over the whole backing store: no letterbox painted in the canvas.
            assert_eq!(
                g.dest_rect(),
                Rect {
                    x: 0.0,
                    y: 0.0,
                    width: 1920.0,
                    height: 1080.0
                }
            );
        }
        let capped = ViewGeometry::scaled(
            Scaling::Css,
            FitMode::Contain,
            (1920, 1080),
            (1300.0, 740.0),
            2.0,
            1024,
        );
        assert_eq!((capped.backing_width, capped.backing_height), (1024, 576));
        // The element keeps the same picture rectangle, and its centre is the frame's.
        let p = capped.css_to_frame(650.0, 370.0);
        assert!(p.inside && close(p.x, 960.0) && close(p.y, 540.0), "{p:?}");
    }

    #[test]
    fn object_fit_follows_the_scaling() {
        for mode in MODES {
            let css = ViewGeometry::scaled(Scaling::Css, mode, (64, 48), (10.0, 10.0), 1.0, 99);
            assert_eq!(css.object_fit(), mode.name());
            let canvas = ViewGeometry::new(mode, (64, 48), (10.0, 10.0), 1.0, 99);
            assert_eq!(canvas.object_fit(), "fill");
        }
    }

    /// The frame lands on the same CSS rectangle whichever side scales it, so input maps
    /// the same and a page cannot tell the two apart but by speed.
    #[test]
    fn both_scalings_put_the_frame_in_the_same_place() {
        for mode in MODES {
            for dpr in [1.0, 1.25, 1.5, 2.0] {
                for css in [
                    (1300.0, 740.0),
                    (900.0, 500.0),
                    (300.0, 800.0),
                    (1280.0, 720.0),
                ] {
                    let frame = (1280, 720);
                    let canvas = ViewGeometry::scaled(Scaling::Canvas, mode, frame, css, dpr, 8192);
                    let by_css = ViewGeometry::scaled(Scaling::Css, mode, frame, css, dpr, 8192);
                    let (a, b) = (canvas.frame_rect_css(), by_css.frame_rect_css());
                    // The canvas's backing store is rounded to whole device pixels: within
                    // one of them.
                    let tolerance = 1.0 / dpr;
                    for (x, y) in [
                        (a.x, b.x),
                        (a.y, b.y),
                        (a.width, b.width),
                        (a.height, b.height),
                    ] {
                        assert!(
                            (x - y).abs() <= tolerance,
                            "{mode:?} dpr {dpr} css {css:?}: {a:?} vs {b:?}"
                        );
                    }
                    for (cx, cy) in [(1.0, 1.0), (css.0 / 2.0, css.1 / 3.0), (css.0 - 1.0, 5.0)] {
                        let (p, q) = (canvas.css_to_frame(cx, cy), by_css.css_to_frame(cx, cy));
                        assert!(
                            (p.x - q.x).abs() <= 1.0 && (p.y - q.y).abs() <= 1.0,
                            "{mode:?} dpr {dpr} css {css:?} ({cx},{cy}): {p:?} vs {q:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn css_scaling_bars_and_crops() {
        // 640x480 in 800x300 under contain: a 400x300 picture at x = 200.
        let g = ViewGeometry::scaled(
            Scaling::Css,
            FitMode::Contain,
            (640, 480),
            (800.0, 300.0),
            2.0,
            4096,
        );
        let r = g.frame_rect_css();
        assert!(close(r.x, 200.0) && close(r.width, 400.0) && close(r.height, 300.0));
        assert!(!g.css_to_frame(100.0, 150.0).inside);
        let centre = g.css_to_frame(400.0, 150.0);
        assert!(centre.inside && close(centre.x, 320.0) && close(centre.y, 240.0));
        // Cover: scaled 1.25x to 800x600, frame rows 120..360 visible.
        let g = ViewGeometry::scaled(
            Scaling::Css,
            FitMode::Cover,
            (640, 480),
            (800.0, 300.0),
            1.0,
            4096,
        );
        let top = g.css_to_frame(400.0, 0.0);
        assert!(top.inside && close(top.y, 120.0), "{top:?}");
        assert!(!g.css_to_frame(400.0, 300.0).inside);
    }

    #[test]
    fn scaling_names_parse() {
        for s in SCALINGS {
            assert_eq!(Scaling::from_name(s.name()), Some(s));
        }
        assert_eq!(Scaling::from_name("gpu"), None);
        assert_eq!(Scaling::default(), Scaling::Css);
    }

    #[test]
    fn backing_follows_dpr_and_cap() {
        assert_eq!(backing_size(400.0, 300.0, 1.0, 4096), (400, 300));
        assert_eq!(backing_size(400.0, 300.0, 2.0, 4096), (800, 600));
        assert_eq!(backing_size(400.0, 300.0, 1.5, 4096), (600, 450));
        assert_eq!(backing_size(2000.0, 1000.0, 2.0, 2048), (2048, 1024));
        assert_eq!(backing_size(0.0, 0.0, 2.0, 2048), (1, 1));
        assert_eq!(backing_size(10.0, 10.0, f64::NAN, 2048), (10, 10));
    }

    #[test]
    fn contain_letterboxes_the_short_axis() {
        // A 4:3 frame in a wide 200x100 canvas: pillarboxed.
        let r = fit_rect(FitMode::Contain, 640.0, 480.0, 200.0, 100.0);
        assert!(close(r.height, 100.0) && close(r.width, 133.333_333_333_333_34));
        assert!(close(r.x, (200.0 - r.width) / 2.0) && close(r.y, 0.0));
        // In a tall canvas: letterboxed.
        let r = fit_rect(FitMode::Contain, 640.0, 480.0, 100.0, 200.0);
        assert!(close(r.width, 100.0) && close(r.height, 75.0) && close(r.y, 62.5));
    }

    #[test]
    fn cover_overflows_and_fill_stretches() {
        let r = fit_rect(FitMode::Cover, 640.0, 480.0, 200.0, 100.0);
        assert!(close(r.width, 200.0) && close(r.height, 150.0) && close(r.y, -25.0));
        let r = fit_rect(FitMode::Fill, 640.0, 480.0, 200.0, 100.0);
        assert_eq!(
            r,
            Rect {
                x: 0.0,
                y: 0.0,
                width: 200.0,
                height: 100.0
            }
        );
    }

    /// Every scaling and mode, DPR 1, 1.5 and 2, canvases wider and taller than the frame:
    /// the frame's corners and centre map back to themselves.
    #[test]
    fn css_and_frame_points_round_trip() {
        for (scaling, mode) in SCALINGS.into_iter().flat_map(|s| MODES.map(|m| (s, m))) {
            for dpr in [1.0, 1.5, 2.0] {
                for css in [(800.0, 300.0), (300.0, 800.0), (640.0, 480.0)] {
                    let g = ViewGeometry::scaled(scaling, mode, (640, 480), css, dpr, 8192);
                    for (fx, fy) in [(0.5, 0.5), (320.0, 240.0), (639.0, 479.0), (100.25, 400.5)] {
                        let (cx, cy) = g.frame_to_css(fx, fy);
                        let p = g.css_to_frame(cx, cy);
                        let visible = cx >= 0.0 && cy >= 0.0 && cx < css.0 && cy < css.1;
                        if visible {
                            assert!(
                                (p.x - fx).abs() < 1e-6 && (p.y - fy).abs() < 1e-6,
                                "{mode:?} dpr {dpr} css {css:?}: ({fx},{fy}) -> {p:?}"
                            );
                            assert!(p.inside);
                        } else {
                            assert_eq!(mode, FitMode::Cover, "only cover crops");
                            assert!(!p.inside);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn points_in_bars_are_outside_and_clamped() {
        // 640x480 frame in an 800x300 CSS canvas: bars left and right of a 400-wide picture.
        let g = ViewGeometry::new(FitMode::Contain, (640, 480), (800.0, 300.0), 2.0, 8192);
        let left_bar = g.css_to_frame(50.0, 150.0);
        assert!(!left_bar.inside);
        assert_eq!(left_bar.x, 0.0);
        let right_bar = g.css_to_frame(790.0, 10.0);
        assert!(!right_bar.inside && right_bar.x == 639.0);
        let centre = g.css_to_frame(400.0, 150.0);
        assert!(centre.inside && close(centre.x, 320.0) && close(centre.y, 240.0));
        // Cover: the top of a tall canvas shows the frame's middle; outside the canvas is out.
        let g = ViewGeometry::new(FitMode::Cover, (640, 480), (300.0, 800.0), 1.0, 8192);
        assert!(g.css_to_frame(150.0, 400.0).inside);
        assert!(!g.css_to_frame(-1.0, 400.0).inside);
        assert!(!g.css_to_frame(150.0, 800.0).inside);
    }

    #[test]
    fn the_backing_cap_does_not_move_frame_points() {
        let capped = ViewGeometry::new(FitMode::Contain, (1920, 1080), (1000.0, 1000.0), 2.0, 1024);
        assert_eq!((capped.backing_width, capped.backing_height), (1024, 1024));
        let p = capped.css_to_frame(500.0, 500.0);
        assert!(p.inside && close(p.x, 960.0) && close(p.y, 540.0));
    }

    #[test]
    fn fit_names_parse() {
        for m in MODES {
            assert_eq!(FitMode::from_name(m.name()), Some(m));
        }
        assert_eq!(FitMode::from_name("stretch"), None);
    }
}
