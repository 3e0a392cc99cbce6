//! Post-processing of the DB probability map (PaddleOCR's DBPostProcess, axis-aligned):
//! threshold, 8-connected components, box score (mean probability inside the box), unclip
//! (expand by area * ratio / perimeter), map back to image coordinates, merge overlapping
//! boxes.

/// A text box in image coordinates: `[x0, x1) x [y0, y1)`, with its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    pub score: f32,
}

impl TextBox {
    pub fn width(&self) -> f32 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> f32 {
        self.y1 - self.y0
    }
    /// Overlap or within `gap` of each other.
    pub fn touches(&self, o: &TextBox, gap: f32) -> bool {
        self.x0 <= o.x1 + gap && o.x0 <= self.x1 + gap && self.y0 <= o.y1 + gap && o.y0 <= self.y1 + gap
    }
}

/// Bounding boxes (in map pixels, `[x0, x1)`) of the 8-connected components of
/// `prob > thresh`.
pub fn components(prob: &[f32], w: usize, h: usize, thresh: f32) -> Vec<(usize, usize, usize, usize)> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || prob[start] <= thresh {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x + 1);
            y1 = y1.max(y + 1);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !seen[j] && prob[j] > thresh {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push((x0, y0, x1, y1));
    }
    out
}

/// Mean probability inside `[x0, x1) x [y0, y1)`.
pub fn box_score(prob: &[f32], w: usize, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> f32 {
    let mut s = 0f64;
    for y in y0..y1 {
        s += prob[y * w + x0..y * w + x1].iter().map(|v| *v as f64).sum::<f64>();
    }
    (s / ((x1 - x0) * (y1 - y0)).max(1) as f64) as f32
}

/// Expand a box by `area * ratio / perimeter` on every side (PaddleOCR's unclip, for a
/// rectangle).
pub fn unclip(b: TextBox, ratio: f32) -> TextBox {
    let (w, h) = (b.width().max(0.0), b.height().max(0.0));
    let d = if w + h > 0.0 { w * h * ratio / (2.0 * (w + h)) } else { 0.0 };
    TextBox { x0: b.x0 - d, y0: b.y0 - d, x1: b.x1 + d, y1: b.y1 + d, ..b }
}

/// Map a box from a `mw x mh` map to a `w x h` image, clipped to the image.
pub fn to_image(b: TextBox, mw: usize, mh: usize, w: u32, h: u32) -> TextBox {
    let (sx, sy) = (w as f32 / mw as f32, h as f32 / mh as f32);
    TextBox {
        x0: (b.x0 * sx).clamp(0.0, w as f32),
        y0: (b.y0 * sy).clamp(0.0, h as f32),
        x1: (b.x1 * sx).clamp(0.0, w as f32),
        y1: (b.y1 * sy).clamp(0.0, h as f32),
        score: b.score,
    }
}

/// Merge boxes that overlap or lie within `gap` of each other, until none do; a merged box
/// is the union with the highest score.
pub fn merge_boxes(mut boxes: Vec<TextBox>, gap: f32) -> Vec<TextBox> {
    loop {
        let mut merged = false;
        let mut out: Vec<TextBox> = Vec::with_capacity(boxes.len());
        for b in boxes {
            if let Some(o) = out.iter_mut().find(|o| o.touches(&b, gap)) {
                *o = TextBox { x0: o.x0.min(b.x0), y0: o.y0.min(b.y0), x1: o.x1.max(b.x1), y1: o.y1.max(b.y1), score: o.score.max(b.score) };
                merged = true;
            } else {
                out.push(b);
            }
        }
        boxes = out;
        if !merged {
            return boxes;
        }
    }
}

/// Parameters of [`boxes_from_map`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostParams {
    /// Probability threshold of the binary map (PaddleOCR: 0.3; lower here, see
    /// [`crate::policy::pixels::DEFAULT_THRESHOLD`]).
    pub thresh: f32,
    /// Minimum mean probability inside a box (PaddleOCR: 0.6; 0.4 here).
    pub box_thresh: f32,
    /// Unclip ratio (PaddleOCR: 1.5).
    pub unclip_ratio: f32,
    /// Boxes whose short side (map pixels) is below this are dropped (PaddleOCR: 3).
    pub min_size: f32,
    /// Merge boxes within this many image pixels.
    pub merge_gap: f32,
}

impl Default for PostParams {
    fn default() -> Self {
        use crate::policy::pixels::{DEFAULT_BOX_THRESHOLD, DEFAULT_THRESHOLD};
        PostParams { thresh: DEFAULT_THRESHOLD, box_thresh: DEFAULT_BOX_THRESHOLD, unclip_ratio: 1.5, min_size: 3.0, merge_gap: 0.0 }
    }
}

/// Text boxes in `w x h` image coordinates from a `mw x mh` probability map.
pub fn boxes_from_map(prob: &[f32], mw: usize, mh: usize, w: u32, h: u32, p: &PostParams) -> Vec<TextBox> {
    let mut boxes = Vec::new();
    for c in components(prob, mw, mh, p.thresh) {
        let (x0, y0, x1, y1) = c;
        if ((x1 - x0).min(y1 - y0) as f32) < p.min_size {
            continue;
        }
        let score = box_score(prob, mw, c);
        if score < p.box_thresh {
            continue;
        }
        let b = unclip(TextBox { x0: x0 as f32, y0: y0 as f32, x1: x1 as f32, y1: y1 as f32, score }, p.unclip_ratio);
        if b.width().min(b.height()) < p.min_size + 2.0 {
            continue;
        }
        boxes.push(to_image(b, mw, mh, w, h));
    }
    merge_boxes(boxes, p.merge_gap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(w: usize, h: usize, rects: &[(usize, usize, usize, usize, f32)]) -> Vec<f32> {
        let mut m = vec![0.05f32; w * h];
        for &(x0, y0, x1, y1, v) in rects {
            for y in y0..y1 {
                for x in x0..x1 {
                    m[y * w + x] = v;
                }
            }
        }
        m
    }

    #[test]
    fn components_are_8_connected() {
        let mut m = map(10, 10, &[(1, 1, 3, 3, 0.9), (6, 6, 8, 9, 0.9)]);
        m[3 * 10 + 3] = 0.9; // diagonal neighbour joins the first blob
        let mut c = components(&m, 10, 10, 0.3);
        c.sort();
        assert_eq!(c, vec![(1, 1, 4, 4), (6, 6, 8, 9)]);
    }

    #[test]
    fn score_filter_and_unclip() {
        // A strong line and a weak one (above thresh, below box_thresh).
        let m = map(64, 32, &[(4, 4, 40, 10, 0.95), (4, 20, 40, 26, 0.35)]);
        let p = PostParams::default();
        let b = boxes_from_map(&m, 64, 32, 64, 32, &p);
        assert_eq!(b.len(), 1);
        let d = 36.0 * 6.0 * 1.5 / (2.0 * 42.0);
        assert!((b[0].x0 - (4.0 - d)).abs() < 1e-4 && (b[0].y1 - (10.0 + d)).abs() < 1e-4, "{b:?}");
        assert!(b[0].score > 0.9);
    }

    #[test]
    fn tiny_components_are_dropped_and_boxes_map_back() {
        let m = map(64, 64, &[(10, 10, 12, 11, 0.99), (8, 40, 56, 48, 0.9)]);
        let b = boxes_from_map(&m, 64, 64, 32, 128, &PostParams { unclip_ratio: 0.0, ..Default::default() });
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].x0, b[0].y0, b[0].x1, b[0].y1), (4.0, 80.0, 28.0, 96.0));
    }

    #[test]
    fn merging_is_transitive() {
        let t = |x0: f32, x1: f32, s: f32| TextBox { x0, y0: 0.0, x1, y1: 10.0, score: s };
        let m = merge_boxes(vec![t(0.0, 10.0, 0.7), t(30.0, 40.0, 0.8), t(9.0, 31.0, 0.9), t(100.0, 110.0, 0.6)], 0.0);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].x0, m[0].x1, m[0].score), (0.0, 40.0, 0.9));
        // A gap merges neighbours that do not overlap.
        assert_eq!(merge_boxes(vec![t(0.0, 10.0, 0.7), t(12.0, 20.0, 0.7)], 3.0).len(), 1);
        assert_eq!(merge_boxes(vec![t(0.0, 10.0, 0.7), t(12.0, 20.0, 0.7)], 1.0).len(), 2);
    }

    #[test]
    fn boxes_are_clipped_to_the_image() {
        let b = to_image(TextBox { x0: -3.0, y0: -1.0, x1: 70.0, y1: 10.0, score: 1.0 }, 64, 32, 64, 32);
        assert_eq!((b.x0, b.y0, b.x1, b.y1), (0.0, 0.0, 64.0, 10.0));
    }
}
