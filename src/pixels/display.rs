//! A frame as 8-bit pixels for the detector (and for looking at): modality rescale, then the
//! VOI (window from the header, else the VOI LUT, else the frame's min-max), MONOCHROME1
//! inverted; palette and YBR turned into RGB, wide colour samples shifted to 8 bits.

use super::decode::{Frame, ImageInfo, Photometric};

/// An explicit window (center, width) in rescaled units, or min-max.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    CenterWidth(f64, f64),
    MinMax,
}

/// 8-bit pixels, `channels` (1 or 3) interleaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayImage {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

impl DisplayImage {
    /// RGB pixel at (x, y).
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * self.channels as usize;
        if self.channels == 1 {
            [self.data[i]; 3]
        } else {
            [self.data[i], self.data[i + 1], self.data[i + 2]]
        }
    }

    /// As RGB (3 channels).
    pub fn to_rgb(&self) -> Vec<u8> {
        if self.channels == 3 {
            self.data.clone()
        } else {
            self.data.iter().flat_map(|v| [*v; 3]).collect()
        }
    }
}

#[inline]
fn clamp_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// YBR_FULL (8-bit) to RGB, PS3.3 C.7.6.3.1.2.
#[inline]
pub fn ybr_to_rgb(y: f64, cb: f64, cr: f64) -> [u8; 3] {
    [
        clamp_u8(y + 1.402 * (cr - 128.0)),
        clamp_u8(y - 0.344136 * (cb - 128.0) - 0.714136 * (cr - 128.0)),
        clamp_u8(y + 1.772 * (cb - 128.0)),
    ]
}

/// The frame as 8-bit display pixels. `window`: `None` uses the header's window, else its
/// VOI LUT, else min-max; monochrome only (colour is shown as stored).
pub fn to_display_u8(frame: &Frame, info: &ImageInfo, window: Option<Window>) -> DisplayImage {
    let (w, h) = (frame.width, frame.height);
    let npx = (w * h) as usize;
    let shift = frame.bits_stored.saturating_sub(8);
    let to8 = |v: i32| -> u8 { ((v.max(0) as u32) >> shift).min(255) as u8 };
    match info.photometric {
        Photometric::Rgb => DisplayImage { width: w, height: h, channels: 3, data: (0..npx * 3).map(|i| to8(frame.value(i))).collect() },
        Photometric::YbrFull => {
            let mut data = Vec::with_capacity(npx * 3);
            for p in 0..npx {
                let (y, cb, cr) = (to8(frame.value(3 * p)), to8(frame.value(3 * p + 1)), to8(frame.value(3 * p + 2)));
                data.extend(ybr_to_rgb(y as f64, cb as f64, cr as f64));
            }
            DisplayImage { width: w, height: h, channels: 3, data }
        }
        Photometric::PaletteColor => {
            let data = match &info.palette {
                Some(pal) => (0..npx).flat_map(|p| pal.lookup(frame.value(p))).collect(),
                None => (0..npx).flat_map(|p| [to8(frame.value(p)); 3]).collect(),
            };
            DisplayImage { width: w, height: h, channels: 3, data }
        }
        Photometric::Monochrome1 | Photometric::Monochrome2 => {
            let (slope, intercept) = info.rescale;
            let vals: Vec<f64> = (0..npx).map(|p| frame.value(p) as f64 * slope + intercept).collect();
            let window = window.or_else(|| info.window.map(|(c, w)| Window::CenterWidth(c, w)));
            let mut data: Vec<u8> = match (window, &info.voi_lut) {
                (Some(Window::CenterWidth(c, ww)), _) if ww >= 1.0 => vals
                    .iter()
                    .map(|&x| {
                        // PS3.3 C.11.2.1.2.1 linear function.
                        let t = ((x - (c - 0.5)) / (ww - 1.0) + 0.5) * 255.0;
                        clamp_u8(t)
                    })
                    .collect(),
                (None, Some(lut)) => {
                    let max = ((1u32 << lut.bits) - 1) as f64;
                    vals.iter()
                        .map(|&x| {
                            let i = ((x.round() as i64 - lut.first as i64).clamp(0, lut.data.len() as i64 - 1)) as usize;
                            clamp_u8(lut.data[i] as f64 / max * 255.0)
                        })
                        .collect()
                }
                _ => {
                    let (lo, hi) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
                    let span = (hi - lo).max(1e-9);
                    vals.iter().map(|&x| clamp_u8((x - lo) / span * 255.0)).collect()
                }
            };
            if info.photometric == Photometric::Monochrome1 {
                data.iter_mut().for_each(|v| *v = 255 - *v);
            }
            DisplayImage { width: w, height: h, channels: 1, data }
        }
    }
}
