//! Fill rectangles with a constant in the stored representation; every other stored word is
//! left as it was (bit-exact).

use super::decode::{Frame, ImageInfo, Photometric};

/// `[x0, x1) x [y0, y1)` in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelBox {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

/// What boxes are filled with, resolved per frame to stored words by [`Fill::words`].
///
/// Monochrome: the minimum of the stored range (0, or -2^(bits-1) when signed), which is
/// black for MONOCHROME2 and white for MONOCHROME1. RGB: 0,0,0. YBR_FULL: Y 0, Cb = Cr =
/// mid-range (black). PALETTE COLOR: the index of the darkest palette entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Minimum,
    RgbBlack,
    YbrBlack,
    Index(i32),
}

impl Fill {
    /// The stored words of one pixel (one per sample) in a frame with this layout.
    pub fn words(&self, bits_stored: u16, signed: bool) -> Vec<u16> {
        let bits = bits_stored.clamp(1, 16) as u32;
        let mask = ((1u32 << bits) - 1) as i64;
        match self {
            Fill::Minimum if signed => vec![(1u32 << (bits - 1)) as u16],
            Fill::Minimum => vec![0],
            Fill::RgbBlack => vec![0, 0, 0],
            Fill::YbrBlack => vec![0, (1u32 << (bits - 1)) as u16, (1u32 << (bits - 1)) as u16],
            Fill::Index(i) => vec![(*i as i64 & mask) as u16],
        }
    }
}

/// The fill for this image (see [`Fill`]).
pub fn fill_value(info: &ImageInfo) -> Fill {
    match info.photometric {
        Photometric::Rgb => Fill::RgbBlack,
        Photometric::YbrFull => Fill::YbrBlack,
        Photometric::PaletteColor => Fill::Index(
            info.palette
                .as_ref()
                .and_then(|p| {
                    p.rgb
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, c)| 299 * c[0] as u32 + 587 * c[1] as u32 + 114 * c[2] as u32)
                        .map(|(i, _)| p.first + i as i32)
                })
                .unwrap_or(0),
        ),
        Photometric::Monochrome1 | Photometric::Monochrome2 => Fill::Minimum,
    }
}

/// Fill `boxes` (clipped to the frame) with `fill` (from [`fill_value`]). Bits above Bits
/// Stored inside a box are cleared too (they could hold an overlay).
pub fn mask_frame(frame: &mut Frame, boxes: &[PixelBox], fill: &Fill) {
    let fill = fill.words(frame.bits_stored, frame.signed);
    let (w, h, s) = (frame.width, frame.height, frame.samples as usize);
    for b in boxes {
        let (x0, x1) = (b.x0.min(w) as usize, b.x1.min(w) as usize);
        let (y0, y1) = (b.y0.min(h), b.y1.min(h));
        if x0 >= x1 || y0 >= y1 {
            continue;
        }
        for y in y0..y1 {
            let row = y as usize * w as usize * s;
            frame.data.fill(row + x0 * s, row + x1 * s, &fill, s);
        }
    }
}
