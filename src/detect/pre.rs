//! Pre-processing for the DB text detector, as PaddleOCR's DetResizeForTest and
//! NormalizeImage do it: scale so that the short side reaches `min_side` (small images are
//! upscaled) but the long side stays within `max_side`, round each side to a multiple of
//! 32, bilinear resize, normalise with the ImageNet mean and std in BGR order (PaddleOCR
//! reads images with OpenCV), NCHW.

/// ImageNet mean and std, in the order PaddleOCR applies them (to B, G, R).
pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// The model's input size `(w, h)` for a `w x h` image: multiples of 32, at least 32.
/// Upscaling (to reach `min_side`) is limited to `max_upscale` times.
pub fn target_size(w: u32, h: u32, min_side: u32, max_side: u32, max_upscale: f32) -> (u32, u32) {
    let (wf, hf) = (w.max(1) as f64, h.max(1) as f64);
    let mut ratio = 1.0f64;
    if min_side > 0 && wf.min(hf) < min_side as f64 {
        ratio = (min_side as f64 / wf.min(hf)).min((max_upscale as f64).max(1.0));
    }
    if max_side > 0 && wf.max(hf) * ratio > max_side as f64 {
        ratio = max_side as f64 / wf.max(hf);
    }
    let r32 = |v: f64| (((v * ratio) / 32.0).round() as u32 * 32).max(32);
    (r32(wf), r32(hf))
}

/// Bilinear resize of interleaved 8-bit pixels (`ch` channels), pixel centres aligned as
/// in OpenCV's INTER_LINEAR.
pub fn resize_bilinear(src: &[u8], w: u32, h: u32, ch: usize, nw: u32, nh: u32) -> Vec<u8> {
    let (w, h, nw, nh) = (w as usize, h as usize, nw as usize, nh as usize);
    let mut out = vec![0u8; nw * nh * ch];
    if w == nw && h == nh {
        out.copy_from_slice(&src[..w * h * ch]);
        return out;
    }
    let sx = w as f32 / nw as f32;
    let sy = h as f32 / nh as f32;
    let xs: Vec<(usize, usize, f32)> = (0..nw)
        .map(|x| {
            let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
            let x0 = (fx as usize).min(w - 1);
            (x0, (x0 + 1).min(w - 1), fx - x0 as f32)
        })
        .collect();
    for y in 0..nh {
        let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
        let y0 = (fy as usize).min(h - 1);
        let y1 = (y0 + 1).min(h - 1);
        let ty = fy - y0 as f32;
        for (x, &(x0, x1, tx)) in xs.iter().enumerate() {
            for c in 0..ch {
                let p = |xx: usize, yy: usize| src[(yy * w + xx) * ch + c] as f32;
                let top = p(x0, y0) * (1.0 - tx) + p(x1, y0) * tx;
                let bot = p(x0, y1) * (1.0 - tx) + p(x1, y1) * tx;
                out[(y * nw + x) * ch + c] = (top * (1.0 - ty) + bot * ty).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// RGB (interleaved, `w x h`) to the NCHW float input, channels in BGR order, normalised.
pub fn normalize_nchw(rgb: &[u8], w: u32, h: u32) -> Vec<f32> {
    let n = (w * h) as usize;
    let mut out = vec![0f32; 3 * n];
    for p in 0..n {
        for c in 0..3 {
            // channel c of the input is B, G, R for c = 0, 1, 2
            let v = rgb[p * 3 + (2 - c)] as f32 / 255.0;
            out[c * n + p] = (v - MEAN[c]) / STD[c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_multiples_of_32_within_limits() {
        // Small images are upscaled until the short side reaches min_side.
        assert_eq!(target_size(320, 240, 736, 1280, 8.0), (992, 736));
        // ... but not more than max_upscale times.
        assert_eq!(target_size(64, 64, 480, 1280, 3.0), (192, 192));
        // The long side limit wins over the upscale.
        assert_eq!(target_size(1000, 100, 736, 1280, 8.0), (1280, 128));
        // Large images are scaled down.
        assert_eq!(target_size(2048, 2048, 0, 960, 8.0), (960, 960));
        // No limits: rounded to 32, at least 32.
        assert_eq!(target_size(500, 10, 0, 0, 1.0), (512, 32));
        for (w, h) in [(1, 1), (17, 999), (640, 480), (4000, 3)] {
            let (a, b) = target_size(w, h, 736, 1280, 4.0);
            assert!(a % 32 == 0 && b % 32 == 0 && a >= 32 && b >= 32 && a.max(b) <= 1280 + 16, "{w}x{h} -> {a}x{b}");
        }
    }

    #[test]
    fn resize_keeps_constant_images_and_identity() {
        let src = vec![7u8; 5 * 3 * 3];
        assert!(resize_bilinear(&src, 5, 3, 3, 64, 32).iter().all(|v| *v == 7));
        let grad: Vec<u8> = (0..16).collect();
        assert_eq!(resize_bilinear(&grad, 4, 4, 1, 4, 4), grad);
        // Upscaling a step keeps its ends.
        let step = vec![0u8, 0, 255, 255];
        let up = resize_bilinear(&step, 4, 1, 1, 8, 1);
        assert_eq!((up[0], up[7]), (0, 255));
    }

    #[test]
    fn normalize_is_bgr_nchw() {
        let rgb = [255u8, 0, 0, 0, 0, 255];
        let t = normalize_nchw(&rgb, 2, 1);
        // channel 0 is blue: pixel 0 (red) has blue 0, pixel 1 (blue) has blue 255
        assert!((t[0] - (0.0 - MEAN[0]) / STD[0]).abs() < 1e-6);
        assert!((t[1] - (1.0 - MEAN[0]) / STD[0]).abs() < 1e-6);
        // channel 2 is red
        assert!((t[4] - (1.0 - MEAN[2]) / STD[2]).abs() < 1e-6);
    }
}
