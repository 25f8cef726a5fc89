//! Deterministic test patterns: the same `(seq, width, height)` always gives the same RGB8
//! pixels, on every target. Tests compare decoded pixels against [`expected_quadrant_color`].

/// An RGB colour.
pub type Rgb = [u8; 3];

/// The four colours of [`test_card`], indexed by `(quadrant + seq) % 4`.
pub const TEST_CARD_PALETTE: [Rgb; 4] =
    [[220, 40, 40], [40, 200, 40], [40, 40, 220], [220, 200, 40]];

/// A named pattern, as the CLI takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Four flat quadrants whose colours rotate with `seq` ([`test_card`]).
    TestCard,
    /// A horizontal ramp that scrolls with `seq` ([`gradient`]).
    Gradient,
    /// A box bouncing on a dark background ([`bouncing_box`]).
    BouncingBox,
    /// The frame number in large digits ([`counter`]).
    Counter,
    /// A scrolling checkerboard ([`checkerboard`]).
    Checkerboard,
    /// One flat colour that cycles through the test-card palette ([`solid`]).
    Solid,
}

impl Pattern {
    /// Every pattern.
    pub const ALL: [Pattern; 6] = [
        Pattern::TestCard,
        Pattern::Gradient,
        Pattern::BouncingBox,
        Pattern::Counter,
        Pattern::Checkerboard,
        Pattern::Solid,
    ];

    /// The CLI name (`test_card`, `gradient`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Pattern::TestCard => "test_card",
            Pattern::Gradient => "gradient",
            Pattern::BouncingBox => "bouncing_box",
            Pattern::Counter => "counter",
            Pattern::Checkerboard => "checkerboard",
            Pattern::Solid => "solid",
        }
    }

    /// Parses a CLI name.
    pub fn from_name(name: &str) -> Option<Pattern> {
        Pattern::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Renders frame `seq` as tightly packed RGB8 rows.
    pub fn render(self, seq: u64, width: u32, height: u32) -> Vec<u8> {
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        self.render_into(seq, width, height, &mut rgb);
        rgb
    }

    /// Renders into `rgb`, which must hold `width * height * 3` bytes.
    pub fn render_into(self, seq: u64, width: u32, height: u32, rgb: &mut [u8]) {
        let canvas = Canvas::new(width, height, rgb);
        match self {
            Pattern::TestCard => draw_test_card(canvas, seq),
            Pattern::Gradient => draw_gradient(canvas, seq),
            Pattern::BouncingBox => draw_bouncing_box(canvas, seq),
            Pattern::Counter => draw_counter(canvas, seq),
            Pattern::Checkerboard => draw_checkerboard(canvas, seq),
            Pattern::Solid => draw_solid(canvas, seq),
        }
    }
}

/// The colour of quadrant `q` (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) in
/// [`test_card`] frame `seq`.
pub fn expected_quadrant_color(seq: u64, q: u8) -> Rgb {
    TEST_CARD_PALETTE[((q as u64 + seq) % 4) as usize]
}

/// Four flat quadrants; quadrant `q` is `TEST_CARD_PALETTE[(q + seq) % 4]`.
pub fn test_card(seq: u64, width: u32, height: u32) -> Vec<u8> {
    Pattern::TestCard.render(seq, width, height)
}

/// A horizontal ramp: `r = (x + 4 seq) mod 256`, `g = 255 - r`, `b = 2 seq mod 256`.
pub fn gradient(seq: u64, width: u32, height: u32) -> Vec<u8> {
    Pattern::Gradient.render(seq, width, height)
}

/// A 1/6-size orange box bouncing off the edges of a dark background.
pub fn bouncing_box(seq: u64, width: u32, height: u32) -> Vec<u8> {
    Pattern::BouncingBox.render(seq, width, height)
}

/// `seq` in large seven-segment digits, white on dark blue.
pub fn counter(seq: u64, width: u32, height: u32) -> Vec<u8> {
    Pattern::Counter.render(seq, width, height)
}

/// 32-pixel light and dark squares scrolling 2 pixels right and down per frame.
pub fn checkerboard(seq: u64, width: u32, height: u32) -> Vec<u8> {
    Pattern::Checkerboard.render(seq, width, height)
}

/// One flat colour: `TEST_CARD_PALETTE[seq % 4]`.
pub fn solid(seq: u64, width: u32, height: u32) -> Vec<u8> {
    Pattern::Solid.render(seq, width, height)
}

/// A mutable view of RGB8 pixels with the few drawing operations the patterns need.
struct Canvas<'a> {
    width: usize,
    height: usize,
    rgb: &'a mut [u8],
}

impl<'a> Canvas<'a> {
    fn new(width: u32, height: u32, rgb: &'a mut [u8]) -> Self {
        let (width, height) = (width as usize, height as usize);
        assert!(rgb.len() >= width * height * 3, "pattern buffer too small");
        Canvas { width, height, rgb }
    }

    fn row(&mut self, y: usize) -> &mut [u8] {
        let stride = self.width * 3;
        &mut self.rgb[y * stride..(y + 1) * stride]
    }

    /// Fills the half-open rectangle `[x0, x1) x [y0, y1)`, clipped to the canvas.
    fn fill(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, color: Rgb) {
        let (x1, y1) = (x1.min(self.width), y1.min(self.height));
        for y in y0..y1 {
            let row = self.row(y);
            for px in row[x0 * 3..x1 * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&color);
            }
        }
    }

    fn fill_all(&mut self, color: Rgb) {
        let (w, h) = (self.width, self.height);
        self.fill(0, 0, w, h, color);
    }
}

fn draw_test_card(mut c: Canvas<'_>, seq: u64) {
    let (w, h) = (c.width, c.height);
    let (hw, hh) = (w / 2, h / 2);
    c.fill(0, 0, hw, hh, expected_quadrant_color(seq, 0));
    c.fill(hw, 0, w, hh, expected_quadrant_color(seq, 1));
    c.fill(0, hh, hw, h, expected_quadrant_color(seq, 2));
    c.fill(hw, hh, w, h, expected_quadrant_color(seq, 3));
}

fn draw_gradient(mut c: Canvas<'_>, seq: u64) {
    let shift = (seq.wrapping_mul(4) % 256) as usize;
    let b = (seq.wrapping_mul(2) % 256) as u8;
    let w = c.width;
    let first = c.row(0);
    for (x, px) in first.chunks_exact_mut(3).enumerate() {
        let r = ((x + shift) % 256) as u8;
        px.copy_from_slice(&[r, 255 - r, b]);
    }
    let stride = w * 3;
    for y in 1..c.height {
        c.rgb.copy_within(0..stride, y * stride);
    }
}

/// Position along a segment of `span` that moves `speed` per frame and bounces at the ends.
fn bounce(seq: u64, speed: u64, span: usize) -> usize {
    if span == 0 {
        return 0;
    }
    let period = 2 * span as u64;
    let t = (seq.wrapping_mul(speed)) % period;
    (if t <= span as u64 { t } else { period - t }) as usize
}

fn draw_bouncing_box(mut c: Canvas<'_>, seq: u64) {
    c.fill_all([16, 16, 32]);
    let size = (c.width.min(c.height) / 6).max(1);
    let x = bounce(seq, 7, c.width.saturating_sub(size));
    let y = bounce(seq, 5, c.height.saturating_sub(size));
    c.fill(x, y, x + size, y + size, [240, 160, 40]);
}

/// Seven-segment masks for 0-9: bits a b c d e f g (top, top-right, bottom-right, bottom,
/// bottom-left, top-left, middle).
const SEGMENTS: [u8; 10] = [
    0b1111110, 0b0110000, 0b1101101, 0b1111001, 0b0110011, 0b1011011, 0b1011111, 0b1110000,
    0b1111111, 0b1111011,
];

fn draw_digit(c: &mut Canvas<'_>, digit: usize, x: usize, y: usize, dw: usize, dh: usize) {
    let t = (dw / 5).max(1);
    let half = dh / 2;
    let color = [240, 240, 240];
    let mask = SEGMENTS[digit % 10];
    let on = |bit: u8| mask & (1 << (6 - bit)) != 0;
    let rects = [
        (x, y, x + dw, y + t),                               // a
        (x + dw - t, y, x + dw, y + half),                   // b
        (x + dw - t, y + half, x + dw, y + dh),              // c
        (x, y + dh - t, x + dw, y + dh),                     // d
        (x, y + half, x + t, y + dh),                        // e
        (x, y, x + t, y + half),                             // f
        (x, y + half - t / 2, x + dw, y + half + t - t / 2), // g
    ];
    for (bit, (x0, y0, x1, y1)) in rects.into_iter().enumerate() {
        if on(bit as u8) {
            c.fill(x0, y0, x1, y1, color);
        }
    }
}

fn draw_counter(mut c: Canvas<'_>, seq: u64) {
    c.fill_all([20, 30, 80]);
    let digits: Vec<usize> = seq
        .to_string()
        .bytes()
        .map(|b| (b - b'0') as usize)
        .collect();
    let n = digits.len();
    let dh = c.height / 3;
    let dw = (dh / 2).min(c.width / (n * 3 / 2 + 1));
    if dw < 3 || dh < 5 {
        return;
    }
    let gap = dw / 2;
    let total = n * dw + (n - 1) * gap;
    let x0 = c.width.saturating_sub(total) / 2;
    let y0 = (c.height - dh) / 2;
    for (i, d) in digits.into_iter().enumerate() {
        draw_digit(&mut c, d, x0 + i * (dw + gap), y0, dw, dh);
    }
}

fn draw_checkerboard(mut c: Canvas<'_>, seq: u64) {
    const CELL: usize = 32;
    let offset = (seq.wrapping_mul(2) % (2 * CELL as u64)) as usize;
    for y in 0..c.height {
        let cy = (y + 2 * CELL - offset) / CELL;
        let row = c.row(y);
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let cx = (x + 2 * CELL - offset) / CELL;
            let light = (cx + cy).is_multiple_of(2);
            px.copy_from_slice(if light {
                &[230, 230, 230]
            } else {
                &[30, 30, 30]
            });
        }
    }
}

fn draw_solid(mut c: Canvas<'_>, seq: u64) {
    c.fill_all(TEST_CARD_PALETTE[(seq % 4) as usize]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(rgb: &[u8], w: u32, x: u32, y: u32) -> Rgb {
        let i = ((y * w + x) * 3) as usize;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    }

    #[test]
    fn test_card_quadrants_rotate_with_seq() {
        let (w, h) = (64, 48);
        for seq in 0..8 {
            let rgb = test_card(seq, w, h);
            let centres = [(16, 12), (48, 12), (16, 36), (48, 36)];
            for (q, (x, y)) in centres.into_iter().enumerate() {
                assert_eq!(pixel(&rgb, w, x, y), expected_quadrant_color(seq, q as u8));
            }
        }
        assert_eq!(expected_quadrant_color(0, 0), [220, 40, 40]);
        assert_eq!(expected_quadrant_color(1, 0), [40, 200, 40]);
        assert_eq!(expected_quadrant_color(3, 2), [40, 200, 40]);
    }

    #[test]
    fn gradient_follows_its_formula() {
        let (w, h) = (300, 4);
        let seq = 70;
        let rgb = gradient(seq, w, h);
        for (x, y) in [(0, 0), (10, 3), (299, 2)] {
            let r = ((x as u64 + 4 * seq) % 256) as u8;
            assert_eq!(pixel(&rgb, w, x, y), [r, 255 - r, (2 * seq % 256) as u8]);
        }
    }

    #[test]
    fn every_pattern_is_deterministic_and_changes_with_seq() {
        for p in Pattern::ALL {
            let a = p.render(5, 96, 64);
            assert_eq!(a, p.render(5, 96, 64), "{}", p.name());
            assert_ne!(a, p.render(6, 96, 64), "{} should animate", p.name());
            assert_eq!(Pattern::from_name(p.name()), Some(p));
        }
    }

    #[test]
    fn patterns_survive_odd_and_tiny_sizes() {
        for p in Pattern::ALL {
            for (w, h) in [(1, 1), (3, 5), (7, 2), (641, 481)] {
                assert_eq!(p.render(123456, w, h).len(), (w * h * 3) as usize);
            }
        }
    }

    #[test]
    fn box_stays_inside_the_frame() {
        for seq in 0..500 {
            let x = bounce(seq, 7, 100);
            assert!(x <= 100);
        }
        assert_eq!(bounce(0, 7, 100), 0);
        assert_eq!(bounce(15, 7, 100), 95);
    }
}
