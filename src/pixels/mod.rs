//! The pixel cleaner (cargo feature `pixels`): decode every frame of Pixel Data, find
//! burned-in text with the detector ([`crate::detect`]), fill the boxes with a constant in
//! the stored representation, and write the pixels back uncompressed.
//!
//! The engine calls [`clean`] on the data set it is about to write, then switches the
//! transfer syntax to Explicit VR Little Endian (the Pixel Data written here is native,
//! little endian, planar configuration 0). Any error means the pixels were not cleaned:
//! the caller must not write the file (fail closed).
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
pub mod mask;
pub mod write;

pub use decode::{decode, DecodedImage, Frame, ImageInfo, Photometric};
pub use display::{to_display_u8, DisplayImage, Window};
pub use mask::{fill_value, mask_frame, Fill, PixelBox};

use crate::detect::Detector;
use dicom_object::mem::InMemDicomObject;
use serde::Serialize;
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

/// Where a masked box came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoxSource {
    /// Found by the text detector on this frame.
    Detector,
    /// Found by the detector on another frame and carried to this one (the frame is equal
    /// to that one everywhere outside the boxes, see [`FrameStrategy::ReuseUnchanged`]).
    DetectorReused,
    /// Given by the caller (known-region rules).
    Rule,
}

/// One masked rectangle: frame index (0-based), `[x0, x1) x [y0, y1)` in pixels of the
/// frame, the detector's score (1.0 for rules).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MaskedBox {
    pub frame: u32,
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    pub score: f32,
    pub source: BoxSource,
}

/// What `clean` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PixelReport {
    pub frames: u32,
    /// Frames on which the detector ran (the others reused a detected frame's boxes).
    pub frames_detected: u32,
    pub boxes: Vec<MaskedBox>,
    /// Photometric interpretation written (differs from the input after YBR -> RGB).
    pub photometric: String,
    /// Pixel data was encapsulated (compressed) in the input.
    pub was_encapsulated: bool,
}

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
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions { pad: 3, rule_boxes: Vec::new(), detect: true, frames: FrameStrategy::ReuseUnchanged }
    }
}

/// Decode, detect on every frame, mask, and write Pixel Data back uncompressed.
///
/// `ts` is the transfer syntax the object was read with. On success the object holds native
/// little-endian Pixel Data (the caller switches the transfer syntax to Explicit VR Little
/// Endian), PlanarConfiguration 0 for colour, PhotometricInterpretation RGB for YBR images
/// a decoder turned into RGB, and BurnedInAnnotation NO. LossyImageCompression and its
/// ratio/method are kept (they are history). On error the object is unchanged.
///
/// `detector` may be `None` only when `opts.detect` is false (rules only); asking for
/// detection without a detector is an error (fail closed).
pub fn clean(obj: &mut InMemDicomObject, ts: &str, detector: Option<&Detector>, opts: &CleanOptions) -> Result<PixelReport, PixelError> {
    if opts.detect && detector.is_none() {
        return Err(PixelError::Detector("text detection asked for but no model is loaded".into()));
    }
    let mut image = decode(obj, ts)?;
    let boxes = find_boxes(&image, detector.filter(|_| opts.detect), opts)?;
    let mut report = PixelReport {
        frames: image.frames.len() as u32,
        frames_detected: boxes.1,
        boxes: boxes.0,
        photometric: image.info.photometric.as_str().to_string(),
        was_encapsulated: image.info.was_encapsulated,
    };
    apply_boxes(&mut image, &report.boxes);
    write::write_pixels(obj, &image)?;
    report.photometric = image.info.photometric.as_str().to_string();
    Ok(report)
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

/// The boxes to mask on each frame (detector, reused, rules), padded and clipped, and the
/// number of frames the detector ran on.
pub fn find_boxes(image: &DecodedImage, detector: Option<&Detector>, opts: &CleanOptions) -> Result<(Vec<MaskedBox>, u32), PixelError> {
    let mut out = Vec::new();
    let mut detected_frames = 0u32;
    // (frame index, boxes in frame coordinates) of the last frame the detector ran on.
    let mut last: Option<(usize, Vec<MaskedBox>)> = None;
    for (i, frame) in image.frames.iter().enumerate() {
        let (w, h) = (frame.width, frame.height);
        let clip = |x0: i64, y0: i64, x1: i64, y1: i64| -> Option<(u32, u32, u32, u32)> {
            let p = opts.pad as i64;
            let (x0, y0) = ((x0 - p).max(0), (y0 - p).max(0));
            let (x1, y1) = ((x1 + p).min(w as i64), (y1 + p).min(h as i64));
            (x1 > x0 && y1 > y0).then_some((x0 as u32, y0 as u32, x1 as u32, y1 as u32))
        };
        if let Some(det) = detector {
            let reuse = match (&last, opts.frames) {
                (Some((j, boxes)), FrameStrategy::ReuseUnchanged) => {
                    let rects: Vec<PixelBox> = boxes.iter().map(|b| PixelBox { x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 }).collect();
                    equal_outside(&image.frames[*j], frame, &rects).then(|| boxes.clone())
                }
                _ => None,
            };
            match reuse {
                Some(boxes) => out.extend(boxes.into_iter().map(|b| MaskedBox { frame: i as u32, source: BoxSource::DetectorReused, ..b })),
                None => {
                    let disp = to_display_u8(frame, &image.info, None);
                    let found = det.detect(&disp).map_err(PixelError::Detector)?;
                    detected_frames += 1;
                    let boxes: Vec<MaskedBox> = found
                        .iter()
                        .filter_map(|t| {
                            let (x0, y0, x1, y1) = clip(t.x0.floor() as i64, t.y0.floor() as i64, t.x1.ceil() as i64, t.y1.ceil() as i64)?;
                            Some(MaskedBox { frame: i as u32, x0, y0, x1, y1, score: t.score, source: BoxSource::Detector })
                        })
                        .collect();
                    out.extend(boxes.iter().copied());
                    last = Some((i, boxes));
                }
            }
        }
        for &(x0, y0, x1, y1) in &opts.rule_boxes {
            if let Some((x0, y0, x1, y1)) = clip(x0 as i64, y0 as i64, x1 as i64, y1 as i64) {
                out.push(MaskedBox { frame: i as u32, x0, y0, x1, y1, score: 1.0, source: BoxSource::Rule });
            }
        }
    }
    Ok((out, detected_frames))
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
        let (ra, rb) = (&a.data[row..row + w * s], &b.data[row..row + w * s]);
        if !inside.iter().any(|v| *v) {
            if ra != rb {
                return false;
            }
            continue;
        }
        for x in 0..w {
            if !inside[x] && ra[x * s..x * s + s] != rb[x * s..x * s + s] {
                return false;
            }
        }
    }
    true
}
