//! Burned-in text detection: a PP-OCR mobile text-detection model (DBNet, Apache-2.0,
//! PaddleOCR; fetched by `tools/fetch-model.sh`, see docs/MODEL-LICENSE.md) run with
//! tract-onnx. The model is parsed once; an optimised plan is built per input size and
//! cached. Pre- and post-processing are pure functions in [`pre`] and [`post`].

pub mod post;
pub mod pre;

pub use post::{PostParams, TextBox};

use crate::pixels::DisplayImage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tract_onnx::prelude::*;

/// Detector settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectOptions {
    /// Images whose short side is below this are upscaled to it (PaddleOCR's limit_type
    /// "min", which uses 736 for PP-OCRv4; 480 finds every key box of the evaluation corpus
    /// at 2.5 times the speed, see the report), as long as the long side stays within
    /// `max_side`.
    pub min_side: u32,
    /// The long side of the model input never exceeds this.
    pub max_side: u32,
    /// Upscaling is limited to this factor: tiny images (64x64 MR, say) blown up 7 times
    /// make the detector see text in anatomy.
    pub max_upscale: f32,
    pub post: PostParams,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions { min_side: 480, max_side: 1280, max_upscale: 2.0, post: PostParams::default() }
    }
}

type Plan = Arc<TypedRunnableModel>;

/// The text detector. Thread-safe: share one per process.
pub struct Detector {
    model: InferenceModel,
    opts: DetectOptions,
    plans: Mutex<HashMap<(u32, u32), Plan>>,
}

/// Keep at most this many optimised plans (one per input size).
const MAX_PLANS: usize = 16;

impl Detector {
    /// Parse an ONNX model (bytes).
    pub fn from_bytes(onnx: &[u8], opts: DetectOptions) -> Result<Detector, String> {
        let model = tract_onnx::onnx()
            .with_ignore_value_info(true)
            .model_for_read(&mut std::io::Cursor::new(onnx))
            .map_err(|e| format!("cannot load the text detection model: {e:#}"))?;
        Ok(Detector { model, opts, plans: Mutex::new(HashMap::new()) })
    }

    pub fn from_file(path: impl AsRef<std::path::Path>, opts: DetectOptions) -> Result<Detector, String> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e} (run tools/fetch-model.sh)", path.display()))?;
        Detector::from_bytes(&bytes, opts)
    }

    pub fn options(&self) -> &DetectOptions {
        &self.opts
    }

    /// The optimised plan for an input of `w x h` (built on first use).
    fn plan(&self, w: u32, h: u32) -> Result<Plan, String> {
        if let Some(p) = self.plans.lock().map_err(|_| "detector lock poisoned")?.get(&(w, h)) {
            return Ok(p.clone());
        }
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact([1, 3, h as usize, w as usize]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| format!("cannot prepare the text detection model for {w}x{h}: {e:#}"))?;
        let mut plans = self.plans.lock().map_err(|_| "detector lock poisoned")?;
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert((w, h), plan.clone());
        Ok(plan)
    }

    /// The probability map for an RGB image already at a model size (multiples of 32).
    pub fn probability_map(&self, rgb: &[u8], w: u32, h: u32) -> Result<Vec<f32>, String> {
        let input = pre::normalize_nchw(rgb, w, h);
        let tensor = Tensor::from_shape(&[1, 3, h as usize, w as usize], &input).map_err(|e| format!("{e:#}"))?;
        let out = self.plan(w, h)?.run(tvec!(tensor.into())).map_err(|e| format!("text detection failed: {e:#}"))?;
        let view = out[0].to_plain_array_view::<f32>().map_err(|e| format!("{e:#}"))?;
        let shape = view.shape().to_vec();
        if shape.len() != 4 || shape[2] != h as usize || shape[3] != w as usize {
            return Err(format!("unexpected detector output shape {shape:?} for input {w}x{h}"));
        }
        Ok(view.iter().copied().collect())
    }

    /// Text boxes in the image's coordinates.
    pub fn detect(&self, img: &DisplayImage) -> Result<Vec<TextBox>, String> {
        let (w, h) = (img.width, img.height);
        let (mw, mh) = pre::target_size(w, h, self.opts.min_side, self.opts.max_side, self.opts.max_upscale);
        let rgb = img.to_rgb();
        let resized = pre::resize_bilinear(&rgb, w, h, 3, mw, mh);
        let prob = self.probability_map(&resized, mw, mh)?;
        Ok(post::boxes_from_map(&prob, mw as usize, mh as usize, w, h, &self.opts.post))
    }
}
