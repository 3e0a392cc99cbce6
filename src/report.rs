//! What was done to each element of a file, as serde data for JSON reports. Values appear
//! only when the user asks for them (`Deidentifier::report_values`).

use crate::policy::profile::Action;
use crate::text::PhiKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, Serialize)]
pub struct FileReport {
    pub transfer_syntax: String,
    /// The patient's pseudonymous ID (never the original).
    pub patient: String,
    /// The new (remapped) UIDs, e.g. for the patient/study/series output layout.
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    /// Every element changed, removed, or added (markers), in data set order.
    pub elements: Vec<ElementChange>,
    pub verification: Verification,
    /// What the pixel cleaner did (absent when the file has no pixels or pixels are off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixels: Option<PixelReport>,
    /// What had to be rebuilt for the input to be read (e.g. the file meta group of a raw
    /// data set); empty (and absent from JSON) for a well-formed Part 10 file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input_repairs: Vec<String>,
    /// Removed elements (the sequence items they were in, and their tag), for the verifier.
    #[serde(skip)]
    pub removed_paths: Vec<(Vec<(u32, usize)>, u32)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ElementChange {
    pub path: String,
    pub tag: String,
    pub keyword: String,
    pub vr: String,
    /// profile, option, override, private, default or marker.
    pub source: String,
    pub rule: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// A detector hit, without the text it matched.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FindingSummary {
    pub kind: PhiKind,
    pub rule: String,
}

/// What the independent verification pass checked on the written output.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Verification {
    pub values_checked: usize,
    pub vocabulary_entries: usize,
    pub raw_bytes_checked: usize,
    pub removed_elements_checked: usize,
}

/// Where a masked box came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoxSource {
    /// Found by the text detector on this frame.
    Detector,
    /// Found by the detector on other frames of the clip and masked on this one too.
    DetectorReused,
    /// A known-region rule of the policy.
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

/// What the pixel cleaner did to one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PixelReport {
    pub frames: u32,
    pub columns: u32,
    pub rows: u32,
    /// Frames on which the detector ran (the others took the boxes found on those).
    pub frames_detected: u32,
    /// Of those, the runs made beforehand by `detect_part` (in this worker, or another worker
    /// or thread) and taken from the shares passed in.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub detections_shared: u32,
    pub boxes: Vec<MaskedBox>,
    /// Photometric interpretation written (differs from the input after YBR -> RGB).
    pub photometric: String,
    /// Pixel data was encapsulated (compressed) in the input.
    pub was_encapsulated: bool,
    /// The transfer syntax the cleaned pixels are written in (empty when they were kept).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub transfer_syntax: String,
    /// Set when the pixels were deliberately left as they are (a computed grid such as RT
    /// Dose, see `pixels.computed_sop_classes`), with the reason; nothing was masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_because: Option<String>,
}

/// The detector's boxes for some of one image's detection jobs, made by
/// [`crate::Deidentifier::detect_part`] (in another worker or thread, or beforehand in the one
/// that cleans the image) for the call that cleans it. A share whose fingerprint is not the
/// cleaned image's is ignored (its jobs are detected again).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectionShare {
    /// Of the decoded frames, their display information and the options that shape the boxes
    /// (hex; empty when the image needs no detection).
    pub fingerprint: String,
    /// How many detection jobs the image has in all (0: none to share).
    pub jobs: u32,
    /// `(job, boxes)` for each job this share ran.
    pub results: Vec<(u32, Vec<ShareBox>)>,
}

/// `(x0, y0, x1, y1, score)` in frame coordinates, padded and clipped to the frame.
pub type ShareBox = (u32, u32, u32, u32, f32);

impl PixelReport {
    /// True when pixels were decoded, scanned and written back.
    pub fn cleaned(&self) -> bool {
        self.kept_because.is_none()
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
