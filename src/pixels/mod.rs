//! The pixel cleaner (cargo feature `pixels`): decode every frame of Pixel Data, find
//! burned-in text with the detector ([`crate::detect`]), fill the boxes with a constant in
//! the stored representation, and write the pixels back uncompressed (or RLE), or, for
//! JPEG, masked in its DCT blocks and still JPEG ([`jpeg_blocks`]).
//!
//! The engine calls [`clean`] on the data set it is about to write, then switches the
//! transfer syntax to the report's (Explicit VR Little Endian for native Pixel Data, little
//! endian, planar configuration 0). Any error means the pixels were not cleaned: the
//! caller must not write the file (fail closed).
//!
//! ```no_run
//! # #[cfg(feature = "pixels")] {
//! use dicom_deid::detect::Detector;
//! use dicom_deid::pixels::{clean, CleanOptions};
//! let detector = Detector::from_file("target/model/det.onnx", Default::default()).unwrap();
//! let mut file = dicom_object::open_file("in.dcm").unwrap();
//! let ts = file.meta().transfer_syntax().trim_end_matches('\0').to_string();
//! let report = clean(&mut file, &ts, Some(&detector), &CleanOptions::default()).unwrap();
//! // caller: set the meta transfer syntax to 1.2.840.10008.1.2.1, add CID 7050 marker ...
//! # }
//! ```

pub mod decode;
pub mod display;
pub mod jpeg12;
pub mod j2k_encode;
pub mod jpeg_blocks;
pub mod jpegls;
pub mod mask;
pub mod rle;
pub mod share;
pub mod write;

pub use decode::{decode, decode_one, DecodedImage, Frame, ImageInfo, Photometric};
pub use display::{to_display_u8, DisplayImage, Window};
pub use mask::{fill_value, mask_frame, Fill, PixelBox};

use crate::detect::Detector;
use dicom_object::mem::InMemDicomObject;
pub use crate::report::{BoxSource, DetectionShare, MaskedBox, PixelReport};
use std::fmt;

/// Why pixels could not be cleaned. The file must then not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PixelError {
    /// No decoder for this encoding in this build (JPEG-LS, 12-bit JPEG, 32-bit RLE, ...).
    Unsupported(String),
    /// The data is there but could not be decoded (corrupt or inconsistent).
    Decode(String),
    /// Image Pixel attributes missing or inconsistent.
    Malformed(String),
    /// The detector failed (model, inference).
    Detector(String),
}

impl PixelError {
    pub fn reason(&self) -> &str {
        match self {
            PixelError::Unsupported(s) | PixelError::Decode(s) | PixelError::Malformed(s) | PixelError::Detector(s) => s,
        }
    }
}

impl fmt::Display for PixelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            PixelError::Unsupported(_) => "pixel data cannot be decoded by this build",
            PixelError::Decode(_) => "pixel data cannot be decoded",
            PixelError::Malformed(_) => "image pixel attributes are invalid",
            PixelError::Detector(_) => "text detector failed",
        };
        write!(f, "{kind}: {}", self.reason())
    }
}

impl std::error::Error for PixelError {}

/// How detection is spread over the frames of a multi-frame image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStrategy {
    /// Run the detector on every frame.
    Every,
    /// Run the detector on frame 0; each later frame that is identical to the last detected
    /// frame everywhere outside that frame's boxes gets the same boxes without running the
    /// detector (its masked output is then identical to the detected frame's masked output,
    /// so nothing is missed); any other frame is detected afresh. Static screens, paused
    /// clips and clips whose only changes are inside text boxes (counters, clocks) cost one
    /// detection; moving clips cost one per frame.
    ReuseUnchanged,
    /// Run the detector on frame 0, every `every`-th frame, the last frame, and the clip's
    /// static image (pixels equal in every frame kept, the rest filled black): burned-in
    /// overlays are static, and text that changes (clocks, counters) changes in place. The
    /// union of all boxes is masked on every frame. Costs about frames/every detections
    /// whatever the motion; text shown on fewer than `every` consecutive frames, away from
    /// every other text and moving, could be missed (use `ReuseUnchanged` to rule it out).
    Sampled { every: u32 },
}

/// Options of [`clean`].
#[derive(Debug, Clone)]
pub struct CleanOptions {
    /// Extra pixels added on every side of every box (frame coordinates).
    pub pad: u32,
    /// Rectangles to mask whatever the detector says (known-region rules), as
    /// `(x0, y0, x1, y1)`; applied to every frame.
    pub rule_boxes: Vec<(u32, u32, u32, u32)>,
    /// Run the detector (false: rules only).
    pub detect: bool,
    pub frames: FrameStrategy,
    /// Write the cleaned pixels as RLE Lossless (8 and 16 bits allocated) instead of native.
    pub rle: bool,
    /// JPEG baseline/extended stays JPEG, masked in whole MCUs of its DCT coefficients
    /// ([`jpeg_blocks`]): no new loss, every other block as it was; JPEG 2000 Lossless is
    /// encoded again losslessly ([`j2k_encode`]). Otherwise (and for a JPEG this cannot
    /// re-code) the decoded pixels are written as `rle` says.
    pub keep_jpeg: bool,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions { pad: 3, rule_boxes: Vec::new(), detect: true, frames: FrameStrategy::Sampled { every: 12 }, rle: false, keep_jpeg: true }
    }
}

/// Decode, detect on every frame, mask, and write Pixel Data back uncompressed (or RLE, or JPEG
/// masked in its blocks).
///
/// `ts` is the transfer syntax the object was read with. On success the object holds native
/// little-endian Pixel Data, RLE Lossless fragments with `opts.rle`, or re-coded JPEG
/// fragments with `opts.keep_jpeg` (the caller switches the transfer syntax to the report's
/// `transfer_syntax`), PlanarConfiguration 0 for native colour, PhotometricInterpretation RGB
/// for YBR images a decoder turned into RGB, and BurnedInAnnotation NO. LossyImageCompression and its
/// ratio/method are kept (they are history). On error the object may have lost its Pixel
/// Data: it must not be written (the engine withholds the file).
///
/// `detector` may be `None` only when `opts.detect` is false (rules only); asking for
/// detection without a detector is an error (fail closed).
pub fn clean(obj: &mut InMemDicomObject, ts: &str, detector: Option<&Detector>, opts: &CleanOptions) -> Result<PixelReport, PixelError> {
    clean_with_shares(obj, ts, detector, opts, &[])
}

/// As [`clean`], with detections of this image made elsewhere ([`share::detect_part`]).
pub fn clean_with_shares(obj: &mut InMemDicomObject, ts: &str, detector: Option<&Detector>, opts: &CleanOptions, shares: &[DetectionShare]) -> Result<PixelReport, PixelError> {
    if opts.detect && detector.is_none() {
        return Err(PixelError::Detector("text detection asked for but no model is loaded".into()));
    }
    let mut image = decode(obj, ts)?;
    // The stored pixels are no longer needed (the frames hold them): freed now, so that a
    // large file is not held twice (a 1 GB clip). JPEG is kept, to be masked block by block.
    let jpeg = match obj.take_element(decode::PIXEL_DATA) {
        Ok(e) if opts.keep_jpeg && jpeg_blocks::recodes(ts) => Some(e),
        _ => None,
    };
    let boxes = find_boxes_with_shares(&image, detector.filter(|_| opts.detect), opts, shares)?;
    let mut report = PixelReport {
        frames: image.frames.len() as u32,
        columns: image.frames.first().map_or(0, |f| f.width),
        rows: image.frames.first().map_or(0, |f| f.height),
        frames_detected: boxes.1,
        detections_shared: boxes.2,
        boxes: boxes.0,
        photometric: image.info.photometric.as_str().to_string(),
        was_encapsulated: image.info.was_encapsulated,
        transfer_syntax: String::new(),
        kept_because: None,
    };
    if let Some(written) = jpeg.and_then(|e| recode_jpeg(obj, &e, &image, &mut report.boxes)) {
        report.photometric = image.info.original_photometric.clone();
        report.transfer_syntax = written;
        return Ok(report);
    }
    if write::keeps_422(&image.info, opts.rle) {
        // A pair of pixels shares its Cb Cr: mask whole pairs, so that every other pair's
        // stored bytes stay as they were.
        for b in &mut report.boxes {
            (b.x0, b.x1) = (b.x0 & !1, (b.x1.div_ceil(2) * 2).min(report.columns));
        }
    }
    apply_boxes(&mut image, &report.boxes);
    if opts.keep_jpeg && ts == j2k_encode::J2K_LOSSLESS {
        if let Some(pi) = reencode_j2k_lossless(obj, &image) {
            obj.put(dicom_core::DataElement::new(decode::PHOTOMETRIC, dicom_core::VR::CS, dicom_core::PrimitiveValue::from(pi)));
            report.photometric = pi.to_string();
            report.transfer_syntax = ts.to_string();
            return Ok(report);
        }
    }
    report.photometric = write::written_photometric(&image.info, opts.rle).to_string();
    report.transfer_syntax = write::write_pixels(obj, image, opts.rle)?.to_string();
    Ok(report)
}

/// JPEG masked in its DCT blocks ([`jpeg_blocks`]) and put back encapsulated, `boxes`
/// widened to the MCUs masked; the transfer syntax to write with, or `None` (nothing
/// changed) when a frame is not a JPEG that can be re-coded (the decoded frames are written
/// instead).
fn recode_jpeg(obj: &mut InMemDicomObject, stored: &dicom_object::mem::InMemElement, image: &DecodedImage, boxes: &mut [MaskedBox]) -> Option<String> {
    let dicom_core::value::Value::PixelSequence(seq) = stored.value() else { return None };
    let first = image.frames.first()?;
    let grey = fill_value(&image.info).words(first.bits_stored, first.signed)[0];
    let mut widened = boxes.to_vec();
    let nframes = image.frames.len() as u32;
    let fragments = jpeg_blocks::recode_frames(seq.fragments(), seq.offset_table(), nframes, &mut widened, grey).ok()?;
    boxes.copy_from_slice(&widened);
    write::put_encapsulated(obj, fragments);
    Some(image.info.transfer_syntax.clone())
}

/// JPEG 2000 Lossless: the masked frames encoded again, losslessly, with the colour
/// transform where the input had one; the Photometric Interpretation to write, or `None`
/// (nothing changed) if encoding fails (the frames are then written native).
fn reencode_j2k_lossless(obj: &mut InMemDicomObject, image: &DecodedImage) -> Option<&'static str> {
    let pi = image.info.original_photometric.as_str();
    let transform = image.info.photometric == Photometric::Rgb && pi.starts_with("YBR_");
    let fragments = image.frames.iter().map(|f| j2k_encode::encode_lossless(f, transform)).collect::<Result<Vec<_>, _>>().ok()?;
    write::put_encapsulated(obj, fragments);
    Some(match (transform, image.info.photometric) {
        (true, _) => "YBR_RCT",
        (false, p) => p.as_str(),
    })
}

/// Mask `boxes` on their frames (in place).
pub fn apply_boxes(image: &mut DecodedImage, boxes: &[MaskedBox]) {
    let fill = fill_value(&image.info);
    for b in boxes {
        if let Some(f) = image.frames.get_mut(b.frame as usize) {
            mask_frame(f, &[PixelBox { x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 }], &fill);
        }
    }
}

/// A box in frame coordinates with its score: `(x0, y0, x1, y1, score)`.
type Rect = (u32, u32, u32, u32, f32);

/// The boxes to mask on each frame (detector, reused, rules), padded and clipped, and the
/// number of detector runs.
pub fn find_boxes(image: &DecodedImage, detector: Option<&Detector>, opts: &CleanOptions) -> Result<(Vec<MaskedBox>, u32), PixelError> {
    find_boxes_with_shares(image, detector, opts, &[]).map(|(boxes, runs, _)| (boxes, runs))
}

/// As [`find_boxes`]; the jobs that one of `shares` holds for this image are not run again
/// (they count as runs, and the third value counts them).
pub fn find_boxes_with_shares(image: &DecodedImage, detector: Option<&Detector>, opts: &CleanOptions, shares: &[DetectionShare]) -> Result<(Vec<MaskedBox>, u32, u32), PixelError> {
    let mut out = Vec::new();
    let mut runs = 0u32;
    let mut shared = 0u32;
    let boxed = |frame: usize, r: Rect, source| MaskedBox { frame: frame as u32, x0: r.0, y0: r.1, x1: r.2, y1: r.3, score: r.4, source };
    if let Some(det) = detector {
        match opts.frames {
            FrameStrategy::Every | FrameStrategy::ReuseUnchanged => {
                // (frame index, boxes) of the last frame the detector ran on.
                let mut last: Option<(usize, Vec<Rect>)> = None;
                for (i, frame) in image.frames.iter().enumerate() {
                    let reusable = opts.frames == FrameStrategy::ReuseUnchanged
                        && last.as_ref().is_some_and(|(j, rects)| equal_outside(&image.frames[*j], frame, &pixel_boxes(rects)));
                    if reusable {
                        let rects = &last.as_ref().expect("checked").1;
                        out.extend(rects.iter().map(|r| boxed(i, *r, BoxSource::DetectorReused)));
                    } else {
                        let rects = detect_frame(det, frame, &image.info, opts.pad)?;
                        runs += 1;
                        out.extend(rects.iter().map(|r| boxed(i, *r, BoxSource::Detector)));
                        last = Some((i, rects));
                    }
                }
            }
            FrameStrategy::Sampled { every } => {
                let n = image.frames.len();
                let jobs = share::sampled_jobs(n, every);
                let given = share::usable(shares, image, det, opts, jobs.len());
                let mut union: Vec<(Rect, Vec<usize>)> = Vec::new();
                for (i, &job) in jobs.iter().enumerate() {
                    let rects = match given.get(&i) {
                        Some(rects) => rects.to_vec(),
                        None => share::run_job(image, det, opts, job)?,
                    };
                    for r in rects {
                        add_to_union(&mut union, r, job.frame());
                    }
                }
                runs += jobs.len() as u32;
                shared += given.len() as u32;
                for i in 0..n {
                    for (r, found_on) in &union {
                        let source = if found_on.contains(&i) { BoxSource::Detector } else { BoxSource::DetectorReused };
                        out.push(boxed(i, *r, source));
                    }
                }
            }
        }
    }
    for (i, frame) in image.frames.iter().enumerate() {
        for &(x0, y0, x1, y1) in &opts.rule_boxes {
            if let Some(r) = pad_and_clip(frame, opts.pad, (x0 as f32, y0 as f32, x1 as f32, y1 as f32)) {
                out.push(boxed(i, (r.0, r.1, r.2, r.3, 1.0), BoxSource::Rule));
            }
        }
    }
    Ok((out, runs, shared))
}

/// The detector's boxes on one frame, padded and clipped to it.
fn detect_frame(det: &Detector, frame: &Frame, info: &ImageInfo, pad: u32) -> Result<Vec<Rect>, PixelError> {
    let disp = to_display_u8(frame, info, None);
    let found = det.detect(&disp).map_err(PixelError::Detector)?;
    Ok(found
        .iter()
        .filter_map(|t| pad_and_clip(frame, pad, (t.x0, t.y0, t.x1, t.y1)).map(|(x0, y0, x1, y1)| (x0, y0, x1, y1, t.score)))
        .collect())
}

/// Grow a box by `pad` on every side (outwards to whole pixels) and clip it to the frame.
fn pad_and_clip(frame: &Frame, pad: u32, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> Option<(u32, u32, u32, u32)> {
    let p = pad as i64;
    let (x0, y0) = ((x0.floor() as i64 - p).max(0), (y0.floor() as i64 - p).max(0));
    let (x1, y1) = ((x1.ceil() as i64 + p).min(frame.width as i64), (y1.ceil() as i64 + p).min(frame.height as i64));
    (x1 > x0 && y1 > y0).then_some((x0 as u32, y0 as u32, x1 as u32, y1 as u32))
}

fn pixel_boxes(rects: &[Rect]) -> Vec<PixelBox> {
    rects.iter().map(|r| PixelBox { x0: r.0, y0: r.1, x1: r.2, y1: r.3 }).collect()
}

/// Add `r` (found on frame `on`, or on the static image) to the union of a clip's boxes: a
/// box mostly overlapping one already there widens it instead of adding another.
fn add_to_union(union: &mut Vec<(Rect, Vec<usize>)>, r: Rect, on: Option<usize>) {
    let area = |a: &Rect| (a.2 - a.0) as u64 * (a.3 - a.1) as u64;
    let same = union.iter_mut().find(|(u, _)| {
        let (ix, iy) = (u.2.min(r.2).saturating_sub(u.0.max(r.0)), u.3.min(r.3).saturating_sub(u.1.max(r.1)));
        let inter = ix as u64 * iy as u64;
        inter * 2 > area(u).min(area(&r))
    });
    match same {
        Some((u, frames)) => {
            *u = (u.0.min(r.0), u.1.min(r.1), u.2.max(r.2), u.3.max(r.3), u.4.max(r.4));
            frames.extend(on);
        }
        None => union.push((r, on.into_iter().collect())),
    }
}

/// The clip's still image: each pixel equal in every frame kept, every other one `fill`.
pub fn static_image(frames: &[Frame], fill: &Fill) -> Frame {
    let mut still = frames[0].clone();
    let fill = fill.words(still.bits_stored, still.signed);
    let s = still.samples as usize;
    // Every bit that differs from frame 0 in any frame, per sample: one pass per frame that
    // the compiler vectorises (a comparison per pixel and frame cost as much as a detection).
    let mut differs = vec![0u16; still.data.len()];
    for f in &frames[1..] {
        if !f.data.mark_differences(&frames[0].data, &mut differs) {
            // A frame of another layout: nothing is the same in every frame.
            differs.fill(1);
            break;
        }
    }
    for (p, px) in differs.chunks_exact(s).enumerate() {
        if px.iter().any(|d| *d != 0) {
            still.data.fill(p * s, p * s + s, &fill, s);
        }
    }
    still
}

/// True if frames `a` and `b` hold the same stored values everywhere outside `boxes`.
pub fn equal_outside(a: &Frame, b: &Frame, boxes: &[PixelBox]) -> bool {
    if a.width != b.width || a.height != b.height || a.samples != b.samples {
        return false;
    }
    let (w, s) = (a.width as usize, a.samples as usize);
    let mut inside = vec![false; w];
    for y in 0..a.height {
        inside.iter_mut().for_each(|v| *v = false);
        for bx in boxes.iter().filter(|bx| bx.y0 <= y && y < bx.y1) {
            for v in &mut inside[(bx.x0 as usize).min(w)..(bx.x1 as usize).min(w)] {
                *v = true;
            }
        }
        let row = y as usize * w * s;
        if !inside.iter().any(|v| *v) {
            if !a.data.same(&b.data, row, row + w * s) {
                return false;
            }
            continue;
        }
        for (x, &masked) in inside.iter().enumerate() {
            if !masked && !a.data.same(&b.data, row + x * s, row + x * s + s) {
                return false;
            }
        }
    }
    true
}

/// One frame of a DICOM file as 8-bit RGBA for looking at (the page's before/after preview):
/// `(width, height, rgba)`, the same rendering the detector sees.
pub fn preview_rgba(file: &[u8], frame: u32) -> crate::Result<(u32, u32, Vec<u8>)> {
    // The default limits: a preview has no policy of its own.
    let parsed = crate::engine::io::parse(file, false, &crate::policy::Limits::default())?;
    let ts = crate::engine::io::transfer_syntax(parsed.meta());
    // Only the frame shown is decoded (a preview of a 1 GB clip must not decode all of it).
    let image = decode_one(&parsed, &ts, frame).map_err(|e| crate::Error::new(crate::ErrorKind::Pixels, e.to_string()))?;
    let f = &image.frames[0];
    let disp = to_display_u8(f, &image.info, None);
    let rgba = disp.to_rgb().chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    Ok((disp.width, disp.height, rgba))
}
