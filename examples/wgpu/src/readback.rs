//! The layout of a texture read back into a buffer, and undoing it.
//!
//! `copy_texture_to_buffer` writes each row at a stride that is a multiple of
//! [`wgpu::COPY_BYTES_PER_ROW_ALIGNMENT`] (256 bytes). A 360-pixel RGBA8 row is 1440 bytes
//! of pixels in a 1536-byte slot, so the mapped buffer is not a frame: the padding must be
//! dropped row by row before the pixels become an `rfb::Frame`, which is tightly packed.
//! Widths whose rows are already a multiple of 256 bytes (640, 960, 1280 pixels of RGBA8)
//! have no padding and the mapped bytes are copied in one piece.

/// Bytes of one RGBA8 pixel.
pub const RGBA_BYTES: u32 = 4;

/// Where each row of a `width` x `height` RGBA8 texture lies in a readback buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLayout {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels (rows).
    pub height: u32,
    /// Bytes of pixels in one row (`width * 4`).
    pub unpadded: u32,
    /// Bytes from one row to the next in the buffer: `unpadded` rounded up to 256.
    pub padded: u32,
}

impl RowLayout {
    /// The layout wgpu requires for a copy of a `width` x `height` RGBA8 texture.
    pub fn rgba8(width: u32, height: u32) -> RowLayout {
        let unpadded = width * RGBA_BYTES;
        let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        RowLayout {
            width,
            height,
            unpadded,
            padded: unpadded.div_ceil(align) * align,
        }
    }

    /// The size of the readback buffer.
    pub fn buffer_size(&self) -> u64 {
        u64::from(self.padded) * u64::from(self.height)
    }

    /// The tightly packed pixels of `mapped` (a buffer of [`Self::buffer_size`] bytes).
    /// `None` when `mapped` is shorter than the layout says.
    pub fn unpad(&self, mapped: &[u8]) -> Option<Vec<u8>> {
        let (unpadded, padded) = (self.unpadded as usize, self.padded as usize);
        let rows = self.height as usize;
        if (mapped.len() as u64) < self.buffer_size() {
            return None;
        }
        if unpadded == padded {
            return Some(mapped[..unpadded * rows].to_vec());
        }
        let mut pixels = Vec::with_capacity(unpadded * rows);
        for row in mapped.chunks_exact(padded).take(rows) {
            pixels.extend_from_slice(&row[..unpadded]);
        }
        Some(pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_to_256_bytes_only_when_needed() {
        let odd = RowLayout::rgba8(360, 240);
        assert_eq!((odd.unpadded, odd.padded), (1440, 1536));
        assert_eq!(odd.buffer_size(), 1536 * 240);
        let aligned = RowLayout::rgba8(640, 480);
        assert_eq!((aligned.unpadded, aligned.padded), (2560, 2560));
        let tiny = RowLayout::rgba8(1, 1);
        assert_eq!((tiny.unpadded, tiny.padded), (4, 256));
    }

    #[test]
    fn unpad_keeps_each_row_and_drops_the_padding() {
        let layout = RowLayout::rgba8(3, 2); // 12 bytes of pixels in 256-byte rows
        let mut mapped = vec![0xEE; layout.buffer_size() as usize];
        for row in 0..2 {
            for i in 0..12 {
                mapped[row * 256 + i] = (row * 100 + i) as u8;
            }
        }
        let pixels = layout.unpad(&mapped).unwrap();
        let expected: Vec<u8> = (0..12).chain(100..112).collect();
        assert_eq!(pixels, expected);
    }

    #[test]
    fn unpad_of_aligned_rows_is_the_buffer() {
        let layout = RowLayout::rgba8(64, 2); // exactly 256 bytes a row
        let mapped: Vec<u8> = (0..512).map(|i| (i % 251) as u8).collect();
        assert_eq!(layout.unpad(&mapped).unwrap(), mapped);
    }

    #[test]
    fn a_short_buffer_is_refused() {
        let layout = RowLayout::rgba8(3, 2);
        assert_eq!(layout.unpad(&[0; 300]), None);
    }
}
