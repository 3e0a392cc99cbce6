//! The pixel section of the policy: whether and how burned-in text is found and masked,
//! the known-region rules, and the limits that keep a hostile file from exhausting memory.

use serde::{Deserialize, Serialize};

/// How pixels are cleaned.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PixelMode {
    /// The text detector and the known-region rules, on every image whatever its modality
    /// (Burned In Annotation is often wrong).
    Detect,
    /// Known-region rules only (no model needed).
    Rules,
    /// Pixels are not touched. A file that declares Burned In Annotation YES is withheld.
    Off,
}

/// Which frames of a multi-frame image the detector runs on.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FramePolicy {
    /// Every frame (slowest, for the most cautious).
    Every,
    /// Frame 0, every `sample_every`-th frame, the last frame and the clip's static image
    /// (the pixels equal in every frame, where burned-in overlays live); the union of all
    /// boxes is masked on every frame. A frame equal to a detected one outside its boxes
    /// needs no detection at all.
    Sampled,
}

/// How cleaned pixels are written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PixelOutput {
    /// Uncompressed, Explicit VR Little Endian.
    #[default]
    Native,
    /// RLE Lossless (8 and 16 bits allocated; other depths are written native).
    Rle,
}

/// A known region: rectangles masked on every frame of matching images, in the spirit of
/// the CTP DicomPixelAnonymizer scripts. Text fields match case-insensitively as
/// substrings; an absent field matches anything.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RegionRule {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<u32>,
    /// `[x0, y0, x1, y1]`, end-exclusive, in pixels of the frame.
    pub boxes: Vec<[u32; 4]>,
}

/// What the header says about an image, for matching region rules.
#[derive(Debug, Clone, Default)]
pub struct ImageHeader {
    pub modality: String,
    pub manufacturer: String,
    pub model: String,
    pub rows: u32,
    pub columns: u32,
}

impl RegionRule {
    pub fn matches(&self, h: &ImageHeader) -> bool {
        let text = |want: &Option<String>, have: &str| {
            want.as_ref().is_none_or(|w| have.to_lowercase().contains(&w.trim().to_lowercase()))
        };
        text(&self.modality, &h.modality)
            && text(&self.manufacturer, &h.manufacturer)
            && text(&self.model, &h.model)
            && self.rows.is_none_or(|r| r == h.rows)
            && self.columns.is_none_or(|c| c == h.columns)
    }
}

/// RT Dose Storage: a dose grid computed by a planning system.
pub const RT_DOSE: &str = "1.2.840.10008.5.1.4.1.1.481.2";

/// The detector's default thresholds, lower than PaddleOCR's 0.3 / 0.6: a de-identifier
/// must rather mask too much than miss a line. On real ultrasound (docs/pixels-real-images.md)
/// PaddleOCR's values drop half of a frame counter ("110/1112") and a single letter; these
/// keep them, for 12% more boxes and +0.1% of the image area on the evaluation corpus.
pub const DEFAULT_THRESHOLD: f32 = 0.2;
pub const DEFAULT_BOX_THRESHOLD: f32 = 0.4;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PixelPolicy {
    pub mode: PixelMode,
    /// Pixels added on every side of every masked box.
    pub pad: u32,
    /// Detector: probability threshold of the text map (PaddleOCR 0.3; lower finds more).
    pub threshold: f32,
    /// Detector: minimum mean probability inside a box (PaddleOCR 0.6; lower finds more).
    pub box_threshold: f32,
    /// Detector: images whose short side is smaller are upscaled to it (at most 2x).
    pub min_side: u32,
    /// Detector: the long side of the model input never exceeds this.
    pub max_side: u32,
    pub frames: FramePolicy,
    pub sample_every: u32,
    /// How cleaned pixels are written: `native` (uncompressed) or `rle` (RLE Lossless).
    pub output: PixelOutput,
    /// JPEG stays JPEG: baseline/extended masked in whole MCUs (8 to 32 pixels square) of its
    /// DCT coefficients, every other block kept as coded (no new loss, same Photometric
    /// Interpretation, a small file); JPEG 2000 Lossless encoded again losslessly (YBR_RCT
    /// stays YBR_RCT). false: decoded and written as `output` says.
    pub keep_jpeg: bool,
    /// Known regions masked in addition to what the detector finds (modes detect and rules).
    pub regions: Vec<RegionRule>,
    /// SOP classes whose pixels are computed grids that cannot carry burned-in text (RT
    /// Dose): their pixels are kept as they are, and the report says why.
    pub computed_sop_classes: Vec<String>,
    /// Files with more frames are withheld.
    pub max_frames: u32,
    /// Files whose decoded pixels would take more bytes are withheld.
    pub max_decoded_bytes: u64,
}

impl Default for PixelPolicy {
    fn default() -> Self {
        PixelPolicy {
            mode: PixelMode::Detect,
            pad: 3,
            threshold: DEFAULT_THRESHOLD,
            box_threshold: DEFAULT_BOX_THRESHOLD,
            min_side: 480,
            max_side: 1280,
            frames: FramePolicy::Sampled,
            sample_every: 12,
            output: PixelOutput::Native,
            keep_jpeg: true,
            regions: Vec::new(),
            computed_sop_classes: vec![RT_DOSE.into()],
            max_frames: 10_000,
            max_decoded_bytes: 2 << 30,
        }
    }
}

impl PixelPolicy {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.threshold) || !(0.0..1.0).contains(&self.box_threshold) {
            return Err("threshold and box_threshold must be in [0, 1)".into());
        }
        if self.min_side < 32 || self.max_side < self.min_side || self.max_side > 4096 {
            return Err(format!("need 32 <= min_side ({}) <= max_side ({}) <= 4096", self.min_side, self.max_side));
        }
        if self.sample_every == 0 {
            return Err("sample_every must be at least 1".into());
        }
        if self.pad > 256 {
            return Err(format!("pad {} is more than 256 pixels", self.pad));
        }
        for r in &self.regions {
            if let Some(b) = r.boxes.iter().find(|b| b[0] >= b[2] || b[1] >= b[3]) {
                return Err(format!("region rule '{}': box {b:?} is empty (need x0 < x1 and y0 < y1)", r.name));
            }
        }
        Ok(())
    }

    /// The rectangles of every rule that matches `h`.
    pub fn region_boxes(&self, h: &ImageHeader) -> Vec<(u32, u32, u32, u32)> {
        self.regions.iter().filter(|r| r.matches(h)).flat_map(|r| r.boxes.iter().map(|b| (b[0], b[1], b[2], b[3]))).collect()
    }
}
