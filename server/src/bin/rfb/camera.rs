//! `camera`: a camera-like pattern for `rfb bench` only (the protocol's patterns are all
//! synthetic and noise-free). Deterministic: the same `(seq, width, height)` always gives
//! the same pixels.
//!
//! What makes it camera-like, and hard for an encoder in the way real video is:
//! - a textured scene (smooth colour waves plus a tiled, bilinearly smoothed random
//!   texture with detail at 4-32 pixels) that pans 3 pixels right and 1 down per frame,
//!   so motion search finds real but non-trivial motion;
//! - sensor noise: every sample of every frame gets independent noise, triangular in
//!   -4.9..=4.9 (standard deviation about 2.3 levels, a webcam in good light), so no two
//!   frames are ever identical and no block can be skipped, while the scene's detail
//!   still decides the PSNR (much stronger noise would cap every encoder's PSNR at the
//!   noise's own, whatever it spends).

use std::sync::OnceLock;

/// Side of the square texture tile (a power of two, for cheap wrapping).
const TILE: usize = 256;

/// Distance between the random lattice points the tile interpolates.
const CELL: usize = 16;

/// Pan per frame, in pixels.
const PAN_X: u64 = 3;
const PAN_Y: u64 = 1;

/// Renders frame `seq` into `rgb` (`width * height * 3` bytes, RGB8 rows).
pub fn render_into(seq: u64, width: u32, height: u32, rgb: &mut [u8]) {
    let (w, h) = (width as usize, height as usize);
    assert_eq!(rgb.len(), w * h * 3, "buffer size");
    let tile = tile();
    let (ox, oy) = ((seq * PAN_X) as usize, (seq * PAN_Y) as usize);
    // Smooth colour waves, separable: one table per axis and channel for this frame.
    let wave_x: Vec<[f32; 3]> = (0..w)
        .map(|x| {
            let t = (x + ox) as f32;
            [
                50.0 * (t / 151.0).sin(),
                40.0 * (t / 97.0 + 1.0).sin(),
                45.0 * (t / 211.0 + 2.0).sin(),
            ]
        })
        .collect();
    let wave_y: Vec<[f32; 3]> = (0..h)
        .map(|y| {
            let t = (y + oy) as f32;
            [
                30.0 * (t / 89.0).sin(),
                35.0 * (t / 131.0 + 0.5).sin(),
                30.0 * (t / 67.0 + 1.5).sin(),
            ]
        })
        .collect();
    for (y, row) in rgb.chunks_exact_mut(w * 3).enumerate() {
        let ty = (y + oy) & (TILE - 1);
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let tx = (x + ox) & (TILE - 1);
            let texture = tile[ty * TILE + tx];
            let mut bits = hash(seq, x as u64, y as u64);
            for c in 0..3 {
                // Two 3-bit uniforms summed: triangular noise in -4.9..=4.9 (after scaling).
                let noise = ((bits & 7) as f32 + ((bits >> 3) & 7) as f32 - 7.0) * 0.7;
                bits >>= 8;
                let value = 128.0 + wave_x[x][c] + wave_y[y][c] + texture[c] + noise;
                px[c] = value.clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// The texture tile: random values on a [`CELL`]-spaced lattice, bilinearly interpolated,
/// plus a finer octave, in -40..=40 per channel. Built once.
fn tile() -> &'static [[f32; 3]] {
    static TILE_DATA: OnceLock<Vec<[f32; 3]>> = OnceLock::new();
    TILE_DATA.get_or_init(|| {
        let octave = |cell: usize, amplitude: f32, salt: u64| {
            let lattice = TILE / cell;
            let at = |lx: usize, ly: usize, c: usize| {
                let h = hash(salt, (lx % lattice) as u64, (ly % lattice) as u64);
                ((h >> (c * 16)) & 0xffff) as f32 / 65535.0 * 2.0 - 1.0
            };
            let mut out = vec![[0f32; 3]; TILE * TILE];
            for y in 0..TILE {
                for x in 0..TILE {
                    let (lx, ly) = (x / cell, y / cell);
                    let (fx, fy) = (
                        (x % cell) as f32 / cell as f32,
                        (y % cell) as f32 / cell as f32,
                    );
                    for (c, value) in out[y * TILE + x].iter_mut().enumerate() {
                        let top = at(lx, ly, c) * (1.0 - fx) + at(lx + 1, ly, c) * fx;
                        let bottom = at(lx, ly + 1, c) * (1.0 - fx) + at(lx + 1, ly + 1, c) * fx;
                        *value = amplitude * (top * (1.0 - fy) + bottom * fy);
                    }
                }
            }
            out
        };
        let coarse = octave(CELL, 28.0, 0x5eed);
        let fine = octave(CELL / 4, 12.0, 0xf1e1d);
        coarse
            .iter()
            .zip(&fine)
            .map(|(a, b)| [a[0] + b[0], a[1] + b[1], a[2] + b[2]])
            .collect()
    })
}

/// A 64-bit hash of three numbers (splitmix64's finaliser over a mix of them).
fn hash(a: u64, b: u64, c: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .wrapping_add(c.wrapping_mul(0x1656_67B1_9E37_79F9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(seq: u64, w: u32, h: u32) -> Vec<u8> {
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        render_into(seq, w, h, &mut rgb);
        rgb
    }

    #[test]
    fn deterministic_noisy_and_panning() {
        let (w, h) = (64, 48);
        let a = render(5, w, h);
        assert_eq!(a, render(5, w, h), "same seq, same pixels");
        let b = render(6, w, h);
        // Noise: most samples differ between frames...
        let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert!(differing > a.len() / 2, "{differing} of {}", a.len());
        // ...but frame 6 is frame 5 moved by the pan, up to the noise: compare the
        // overlapping region shifted back.
        let mut err = 0u64;
        let mut n = 0u64;
        for y in 0..(h as usize - PAN_Y as usize) {
            for x in 0..(w as usize - PAN_X as usize) {
                for c in 0..3 {
                    let p = a[((y + PAN_Y as usize) * w as usize + x + PAN_X as usize) * 3 + c];
                    let q = b[(y * w as usize + x) * 3 + c];
                    err += u64::from(p.abs_diff(q));
                    n += 1;
                }
            }
        }
        let mean = err as f64 / n as f64;
        assert!(
            mean < 5.0,
            "the pan explains the frame up to the noise ({mean})"
        );
        // Not flat: the scene has texture.
        let min = a.iter().min().copied().unwrap_or(0);
        let max = a.iter().max().copied().unwrap_or(0);
        assert!(max - min > 60, "{min}..{max}");
    }
}
