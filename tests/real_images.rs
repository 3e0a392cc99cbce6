//! The pixel cleaner on real images with real burned-in text (pydicom and pydicom-data test
//! files, fetched by tools/fetch-real-images.sh into target/real-images, which tools/setup.sh
//! runs): every text line keyed in tests/fixtures/real-images/keys.json must be masked on
//! every frame of the written file, whatever its transfer syntax, and images without text
//! must come back (nearly) untouched. The before/after PNGs for a person to look at are
//! made by `examples/pixel_eval.rs` (docs/pixels-real-images.md).
#![cfg(feature = "pixels")]

mod common;

use dicom_deid::pixels::{decode, fill_value, mask_frame, to_display_u8, DecodedImage, DisplayImage, Frame, PixelBox};
use dicom_deid::{Deidentifier, Policy};
use serde_json::Value;
use std::path::PathBuf;


fn images_dir() -> PathBuf {
    let dir = std::env::var_os("DICOM_DEID_REAL_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/real-images"));
    assert!(dir.join("OBXXXX1A.dcm").is_file(), "no real images in {}: run tools/fetch-real-images.sh (tools/setup.sh does)", dir.display());
    dir
}

fn keys() -> Value {
    serde_json::from_str(include_str!("fixtures/real-images/keys.json")).expect("keys.json")
}

fn deidentifier() -> Deidentifier {
    let model = dicom_deid::embedded_model().expect("no text detection model built in: run tools/fetch-model.sh, then rebuild");
    Deidentifier::new(Policy::default(), Some(b"real images".as_slice())).unwrap().load_model(model).unwrap()
}

fn rect(v: &Value) -> PixelBox {
    let n: Vec<u32> = v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
    PixelBox { x0: n[0], y0: n[1], x1: n[2], y1: n[3] }
}

/// The input's and the de-identified file's frames, and the share of each frame's area that
/// was masked.
struct Cleaned {
    before: DecodedImage,
    image: DecodedImage,
    masked_share: Vec<f64>,
}

fn clean(deid: &Deidentifier, name: &str) -> Cleaned {
    let bytes = std::fs::read(images_dir().join(format!("{name}.dcm"))).unwrap();
    let input = common::parse(&bytes);
    let before = decode(&input, input.meta().transfer_syntax().trim_end_matches('\0')).unwrap();
    let out = deid.deidentify(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let px = out.report.pixels.as_ref().unwrap_or_else(|| panic!("{name}: no pixel report"));
    let written = common::parse(&out.bytes);
    let image = decode(&written, written.meta().transfer_syntax().trim_end_matches('\0')).unwrap_or_else(|e| panic!("{name}: output not decodable: {e}"));
    let (w, h) = (image.frames[0].width as usize, image.frames[0].height as usize);
    let masked_share = (0..image.frames.len())
        .map(|f| {
            let mut on = vec![false; w * h];
            for b in px.boxes.iter().filter(|b| b.frame as usize == f) {
                for y in b.y0 as usize..b.y1 as usize {
                    on[y * w + b.x0 as usize..y * w + b.x1 as usize].iter_mut().for_each(|v| *v = true);
                }
            }
            on.iter().filter(|v| **v).count() as f64 / (w * h) as f64
        })
        .collect();
    Cleaned { before, image, masked_share }
}

/// The glyph pixels of `line` on a frame shown as the detector sees it: at least 48 grey
/// levels away from the median of the ring of pixels around the line (the background the
/// text is drawn on).
fn ink(d: &DisplayImage, line: &PixelBox) -> Vec<(usize, usize)> {
    let (w, h) = (d.width as usize, d.height as usize);
    let lum = |x: usize, y: usize| -> i32 {
        let i = (y * w + x) * d.channels as usize;
        (0..d.channels as usize).map(|c| d.data[i + c] as i32).sum::<i32>() / d.channels as i32
    };
    let (x0, y0) = (line.x0.saturating_sub(1) as usize, line.y0.saturating_sub(1) as usize);
    let (x1, y1) = ((line.x1 as usize + 1).min(w), (line.y1 as usize + 1).min(h));
    let mut ring: Vec<i32> = (x0..x1).flat_map(|x| [lum(x, y0), lum(x, y1 - 1)]).chain((y0..y1).flat_map(|y| [lum(x0, y), lum(x1 - 1, y)])).collect();
    ring.sort_unstable();
    let bg = ring[ring.len() / 2];
    (line.y0 as usize..line.y1 as usize)
        .flat_map(|y| (line.x0 as usize..line.x1 as usize).map(move |x| (x, y)))
        .filter(|&(x, y)| (lum(x, y) - bg).abs() >= 48)
        .collect()
}

/// One frame of a cleaned file, ready for checking lines: the input frame as shown, the
/// output frame, and the output frame filled everywhere (the fill value of every pixel).
struct FrameCheck<'a> {
    shown: DisplayImage,
    out: &'a Frame,
    filled: Frame,
}

impl<'a> FrameCheck<'a> {
    fn new(c: &'a Cleaned, frame: usize) -> Self {
        let out = &c.image.frames[frame];
        let mut filled = out.clone();
        mask_frame(&mut filled, &[PixelBox { x0: 0, y0: 0, x1: out.width, y1: out.height }], &fill_value(&c.image.info));
        FrameCheck { shown: to_display_u8(&c.before.frames[frame], &c.before.info, None), out, filled }
    }

    /// Share of the glyph pixels of `line` (in the input) that do not hold the fill value
    /// in the output (0 = fully masked). `None` if the line shows no glyph on this frame.
    fn unmasked_share(&self, line: &PixelBox) -> Option<f64> {
        let glyphs = ink(&self.shown, line);
        if glyphs.is_empty() {
            return None;
        }
        let (w, s) = (self.out.width as usize, self.out.samples as usize);
        let left = glyphs.iter().filter(|&&(x, y)| !self.out.data.same(&self.filled.data, (y * w + x) * s, (y * w + x) * s + s)).count();
        Some(left as f64 / glyphs.len() as f64)
    }
}

#[test]
fn every_keyed_text_line_is_masked_on_every_frame() {
    let deid = deidentifier();
    let keys = keys();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (group, spec) in keys["images"].as_object().unwrap() {
        let lines: Vec<PixelBox> = spec["lines"].as_array().unwrap().iter().map(rect).collect();
        for file in spec["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()) {
            let c = clean(&deid, file);
            for frame in 0..c.image.frames.len() {
                let check = FrameCheck::new(&c, frame);
                for (i, line) in lines.iter().enumerate() {
                    let Some(left) = check.unmasked_share(line) else { continue };
                    checked += 1;
                    // A glyph pixel or two at a box edge (anti-aliasing); more is a line
                    // left readable.
                    if left > 0.02 {
                        failures.push(format!("{file} ({group}) frame {frame} line {i} {line:?}: {:.0}% not masked", left * 100.0));
                    }
                }
                // Not everything: the clinical image must survive. (Multi-frame files get the
                // union of every frame's boxes: pydicom's 2-frame variants add a synthetic
                // second frame whose blank sector draws two large false boxes.)
                if c.masked_share[frame] > spec["max_masked"][file].as_f64().unwrap_or(0.30) {
                    failures.push(format!("{file} frame {frame}: {:.0}% of the image masked", c.masked_share[frame] * 100.0));
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} line checks");
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn images_without_text_are_left_nearly_untouched() {
    let deid = deidentifier();
    let keys = keys();
    let bound = keys["no_text_max_masked"].as_f64().unwrap();
    for file in keys["no_text"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()) {
        let c = clean(&deid, file);
        for (frame, share) in c.masked_share.iter().enumerate() {
            assert!(*share <= bound, "{file} frame {frame}: {:.1}% masked on an image without text", share * 100.0);
        }
    }
}
