//! Burned-in text detection: a PP-OCR mobile text-detection model (DBNet, Apache-2.0,
//! PaddleOCR; fetched by `tools/fetch-model.sh`, see docs/MODEL-LICENSE.md) run with
//! tract-onnx. The model is parsed once; an optimised plan is built per input size and
//! cached. Pre- and post-processing are pure functions in [`pre`] and [`post`].

pub mod post;
pub mod pre;
mod spatial_mean;
mod panel_gather;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm_gemm;

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
    graph: Mutex<SharedGraph>,
    plans: Mutex<HashMap<(u32, u32), Plan>>,
}

/// What the detector knows about its decluttered graph (see [`Detector::plan`]).
enum SharedGraph {
    /// No plan built yet.
    Unseen,
    /// The graph decluttered for the first size, to compare with the second.
    FirstSize(Arc<TypedModel>),
    /// The first two sizes gave the same graph: every other size re-types it.
    Shared(Arc<TypedModel>),
    /// They did not (a size-dependent operator or constant): every size from the ONNX model.
    PerSize,
}

/// Keep at most this many optimised plans (one per input size).
const MAX_PLANS: usize = 16;

/// Image sizes worth planning for before any image arrives ([`Detector::prepare`]): CT and
/// MR slices, then ultrasound and secondary captures. The first two plans are also the ones
/// that type and declutter the model, which every later size re-uses.
pub const COMMON_IMAGE_SIZES: &[(u32, u32)] = &[(512, 512), (640, 480)];

impl Detector {
    /// Parse an ONNX model (bytes).
    pub fn from_bytes(onnx: &[u8], opts: DetectOptions) -> Result<Detector, String> {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        wasm_gemm::keep();
        let mut parser = tract_onnx::onnx();
        spatial_mean::register(&mut parser);
        let model = parser
            .with_ignore_value_info(true)
            .model_for_read(&mut std::io::Cursor::new(onnx))
            .map_err(|e| format!("cannot load the text detection model: {e:#}"))?;
        Ok(Detector { model, opts, graph: Mutex::new(SharedGraph::Unseen), plans: Mutex::new(HashMap::new()) })
    }

    pub fn from_file(path: impl AsRef<std::path::Path>, opts: DetectOptions) -> Result<Detector, String> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e} (run tools/fetch-model.sh)", path.display()))?;
        Detector::from_bytes(&bytes, opts)
    }

    pub fn options(&self) -> &DetectOptions {
        &self.opts
    }

    /// Build the plans for images of these sizes (`w x h`, before resizing) now; returns how
    /// many were new.
    pub fn prepare(&self, image_sizes: &[(u32, u32)]) -> Result<u32, String> {
        let mut built = 0;
        for &(w, h) in image_sizes {
            let (mw, mh) = self.model_size(w, h);
            if !self.plans.lock().map_err(|_| "detector lock poisoned")?.contains_key(&(mw, mh)) {
                self.plan(mw, mh)?;
                built += 1;
            }
        }
        Ok(built)
    }

    /// The model's input size for an image of `w x h`.
    fn model_size(&self, w: u32, h: u32) -> (u32, u32) {
        pre::target_size(w, h, self.opts.min_side, self.opts.max_side, self.opts.max_upscale)
    }

    /// The optimised plan for an input of `w x h` (built on first use).
    ///
    /// Typing and decluttering the ONNX model cost about two thirds of a plan (measured: 15
    /// and 73 of 127 ms natively), and for a fully convolutional model their result does not
    /// depend on the input size. So the first two sizes are typed and decluttered from the
    /// ONNX model as usual, and their graphs compared; if they are the same (operators,
    /// constants and wiring, input aside), every later size re-types that graph from its new
    /// input and runs only the optimiser (about a third of the cost). Every plan then comes
    /// from one graph, whatever the order of sizes. If they differ, or re-typing fails, each
    /// size is built from the ONNX model.
    fn plan(&self, w: u32, h: u32) -> Result<Plan, String> {
        if let Some(p) = self.plans.lock().map_err(|_| "detector lock poisoned")?.get(&(w, h)) {
            return Ok(p.clone());
        }
        let plan = self
            .decluttered(w, h)
            .and_then(|m| m.into_optimized())
            .and_then(with_natural_constants)
            .and_then(panel_gather::with_panel_gathers)
            .and_then(|m| m.into_runnable())
            .map_err(|e| format!("cannot prepare the text detection model for {w}x{h}: {e:#}"))?;
        let mut plans = self.plans.lock().map_err(|_| "detector lock poisoned")?;
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert((w, h), plan.clone());
        Ok(plan)
    }

    /// The decluttered graph for an input of `w x h`, re-typed from the shared graph when
    /// there is one (and updating what is known about it). The lock is not held while a
    /// graph is built: threads asking for different sizes build them at the same time.
    fn decluttered(&self, w: u32, h: u32) -> TractResult<TypedModel> {
        let graph = || self.graph.lock().map_err(|_| TractError::msg("detector lock poisoned"));
        let shared = match &*graph()? {
            SharedGraph::Shared(base) => Some(Arc::clone(base)),
            _ => None,
        };
        if let Some(Ok(model)) = shared.map(|base| retyped(&base, w, h)) {
            return Ok(model);
        }
        let model = self.model.clone().with_input_fact(0, input_fact(w, h).into())?.into_typed()?.into_decluttered()?;
        let mut graph = graph()?;
        *graph = match std::mem::replace(&mut *graph, SharedGraph::PerSize) {
            SharedGraph::Unseen => SharedGraph::FirstSize(Arc::new(model.clone())),
            SharedGraph::FirstSize(first) if same_graph_but_input(&first, &model) => SharedGraph::Shared(first),
            SharedGraph::Shared(base) => SharedGraph::Shared(base),
            _ => SharedGraph::PerSize,
        };
        Ok(model)
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
        let (mw, mh) = self.model_size(w, h);
        let rgb = img.to_rgb();
        let resized = pre::resize_bilinear(&rgb, w, h, 3, mw, mh);
        let prob = self.probability_map(&resized, mw, mh)?;
        Ok(post::boxes_from_map(&prob, mw as usize, mh as usize, w, h, &self.opts.post))
    }
}

/// The last detector loaded, kept for a front end that builds a new
/// [`crate::Deidentifier`] when its settings change (the page's workers, on a new
/// passphrase): the same model with the same settings gets the same detector back, with
/// every plan it has built, instead of planning again.
pub struct DetectorCache(Mutex<Option<CachedDetector>>);

struct CachedDetector {
    model_hash: u64,
    model_len: usize,
    opts: DetectOptions,
    detector: Arc<Detector>,
}

impl DetectorCache {
    pub const fn new() -> Self {
        DetectorCache(Mutex::new(None))
    }

    /// The detector for this model and these settings: the cached one when both are the
    /// same, else a new one (which replaces it).
    pub fn get_or_load(&self, onnx: &[u8], opts: DetectOptions) -> Result<Arc<Detector>, String> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        onnx.hash(&mut h);
        let (model_hash, model_len) = (h.finish(), onnx.len());
        let mut last = self.0.lock().map_err(|_| "detector cache lock poisoned")?;
        if let Some(c) = last.as_ref().filter(|c| (c.model_hash, c.model_len) == (model_hash, model_len) && c.opts == opts) {
            return Ok(c.detector.clone());
        }
        let detector = Arc::new(Detector::from_bytes(onnx, opts)?);
        *last = Some(CachedDetector { model_hash, model_len, opts, detector: detector.clone() });
        Ok(detector)
    }
}

impl Default for DetectorCache {
    fn default() -> Self {
        Self::new()
    }
}

/// `model` with every constant laid out with the natural strides of its shape.
///
/// tract's `insert_axis` gives a new size-1 axis the stride of its neighbour, so some
/// per-channel constants of the optimised graph (shape [1, C, 1, 1], strides [1, 1, 1, 1])
/// are not "natural" to tract's element-wise chains, which then leave their vectorised path
/// for a generic broadcasting loop over the whole feature map (measured: 6% of the
/// detector's time in wasm, 2 nodes of the PP-OCR model). Size-1 axes do not change the
/// order of the bytes, so a copy with natural strides holds the same values.
fn with_natural_constants(mut model: TypedModel) -> TractResult<TypedModel> {
    use tract_onnx::tract_core::ops::konst::Const;
    for node in &mut model.nodes {
        let Some(k) = node.op_as::<Const>() else { continue };
        let t = k.val();
        if k.exotic_fact().is_some() || !t.has_plain_ram_storage() || t.strides() == &*Tensor::natural_strides(t.shape()) {
            continue;
        }
        let natural = Arc::new(t.deep_clone());
        node.op = Box::new(Const::new(Arc::clone(&natural))?);
        node.outputs[0].fact.konst = Some(natural);
    }
    Ok(model)
}

/// The model's input: one RGB image of `w x h`, NCHW.
fn input_fact(w: u32, h: u32) -> TypedFact {
    f32::fact([1, 3, h as usize, w as usize])
}

/// True if `a` and `b` are the same graph (nodes, names, wiring, operators with their
/// constants), their input facts aside.
fn same_graph_but_input(a: &TypedModel, b: &TypedModel) -> bool {
    let sources = |m: &TypedModel| m.input_outlets().map(|o| o.iter().map(|o| o.node).collect::<Vec<_>>()).unwrap_or_default();
    let (sa, sb) = (sources(a), sources(b));
    a.nodes.len() == b.nodes.len()
        && sa == sb
        && a.outputs == b.outputs
        && a.nodes.iter().zip(&b.nodes).all(|(x, y)| x.name == y.name && x.inputs == y.inputs && (sa.contains(&x.id) || x.op == y.op))
}

/// `base` (a typed graph with one input) for an input of `w x h`: the source takes the new
/// fact and every node's output facts are derived again, in order.
fn retyped(base: &TypedModel, w: u32, h: u32) -> TractResult<TypedModel> {
    let mut model = base.clone();
    let input = model.input_outlets()?[0];
    model.nodes[input.node].op = Box::new(tract_onnx::tract_core::ops::source::TypedSource::new(input_fact(w, h)));
    model.refresh_output_facts()?;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic RGB image with edges and flat areas.
    fn input(w: u32, h: u32) -> Vec<u8> {
        (0..w * h * 3).map(|i| ((i / 3 % w / 9 + i / 3 / w / 5 + i % 3) % 7 * 40) as u8).collect()
    }

    /// Plans re-typed from the shared graph compute what plans built from the ONNX model for
    /// that size compute, with tract's own GlobalAveragePool (float rounding aside), for sizes
    /// other than the two the graph was compared at, including tiny and narrow ones.
    #[test]
    fn retyped_plans_match_plans_built_from_the_onnx_model() {
        let onnx = crate::embedded_model().expect("no text detection model built in: run tools/fetch-model.sh, then rebuild");
        let det = Detector::from_bytes(onnx, DetectOptions::default()).unwrap();
        let stock = tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut std::io::Cursor::new(onnx)).unwrap();
        let reference = |w: u32, h: u32| {
            let plan = stock.clone().with_input_fact(0, input_fact(w, h).into()).unwrap().into_optimized().unwrap().into_runnable().unwrap();
            let x = pre::normalize_nchw(&input(w, h), w, h);
            let out = plan.run(tvec!(Tensor::from_shape(&[1, 3, h as usize, w as usize], &x).unwrap().into())).unwrap();
            out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect::<Vec<f32>>()
        };
        for (i, (w, h)) in [(512, 512), (96, 64), (640, 480), (64, 64), (64, 128), (96, 320), (1024, 768)].into_iter().enumerate() {
            let ours = det.probability_map(&input(w, h), w, h).unwrap();
            assert_eq!(matches!(*det.graph.lock().unwrap(), SharedGraph::Shared(_)), i >= 1, "{w}x{h}");
            let theirs = reference(w, h);
            assert_eq!(ours.len(), (w * h) as usize);
            let worst = ours.iter().zip(&theirs).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-4, "{w}x{h}: probabilities differ by up to {worst}");
        }
        // Order does not matter: a detector that saw other sizes first gives the same bits.
        let other = Detector::from_bytes(onnx, DetectOptions::default()).unwrap();
        for (w, h) in [(64, 64), (1024, 768), (512, 512), (96, 320)] {
            assert_eq!(other.probability_map(&input(w, h), w, h).unwrap(), det.probability_map(&input(w, h), w, h).unwrap(), "{w}x{h}");
        }
    }

    /// The optimised plan holds no constant with unnatural strides (tract makes two in this
    /// model, see [`with_natural_constants`]), and making them natural changes no result bit.
    #[test]
    fn plan_constants_have_natural_strides_and_the_same_values() {
        let onnx = crate::embedded_model().expect("no text detection model built in");
        let det = Detector::from_bytes(onnx, DetectOptions::default()).unwrap();
        let (w, h) = (160, 96);
        let optimised = det.decluttered(w, h).unwrap().into_optimized().unwrap();
        let unnatural = |m: &TypedModel| {
            m.nodes
                .iter()
                .filter_map(|n| n.op_as::<tract_onnx::tract_core::ops::konst::Const>())
                .filter(|k| k.val().strides() != &*Tensor::natural_strides(k.val().shape()))
                .count()
        };
        assert!(unnatural(&optimised) > 0, "tract no longer makes unnatural constants here: the workaround can go");
        let natural = with_natural_constants(optimised.clone()).unwrap();
        assert_eq!(unnatural(&natural), 0);
        let x = pre::normalize_nchw(&input(w, h), w, h);
        let run = |m: TypedModel| {
            let out = m.into_runnable().unwrap().run(tvec!(Tensor::from_shape(&[1, 3, h as usize, w as usize], &x).unwrap().into())).unwrap();
            out[0].to_plain_array_view::<f32>().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
        };
        assert_eq!(run(natural), run(optimised));
    }

    /// Every lazy im2col of the plan is replaced (the model has five, at 1/32 to 1/4 of the
    /// input size, so these sizes cover full, partial and non-contiguous panels), and the
    /// probability map keeps every bit.
    #[test]
    fn panel_gathers_replace_every_lazy_im2col_and_change_no_bit() {
        let onnx = crate::embedded_model().expect("no text detection model built in");
        let det = Detector::from_bytes(onnx, DetectOptions::default()).unwrap();
        for (w, h) in [(160, 96), (96, 64), (64, 64), (224, 352)] {
            let optimised = with_natural_constants(det.decluttered(w, h).unwrap().into_optimized().unwrap()).unwrap();
            let count = |m: &TypedModel, name: &str| m.nodes.iter().filter(|n| n.op.name() == name).count();
            let lazy = count(&optimised, "LazyIm2col");
            assert!(lazy > 0, "{w}x{h}: tract no longer plans a lazy im2col here");
            let gathered = panel_gather::with_panel_gathers(optimised.clone()).unwrap();
            assert_eq!((count(&gathered, "LazyIm2col"), count(&gathered, "PanelGather")), (0, lazy), "{w}x{h}");
            let x = pre::normalize_nchw(&input(w, h), w, h);
            let run = |m: TypedModel| {
                let out = m.into_runnable().unwrap().run(tvec!(Tensor::from_shape(&[1, 3, h as usize, w as usize], &x).unwrap().into())).unwrap();
                out[0].to_plain_array_view::<f32>().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
            };
            assert_eq!(run(gathered), run(optimised), "{w}x{h}");
        }
    }

    /// With tract's own GlobalAveragePool (a division by the spatial size as a constant) the
    /// decluttered graphs of two sizes differ, so the check refuses to share them.
    #[test]
    fn size_dependent_graphs_are_not_shared() {
        let onnx = crate::embedded_model().expect("no text detection model built in");
        let stock = tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut std::io::Cursor::new(onnx)).unwrap();
        let declutter = |w, h| stock.clone().with_input_fact(0, input_fact(w, h).into()).unwrap().into_typed().unwrap().into_decluttered().unwrap();
        let a = declutter(512, 512);
        assert!(same_graph_but_input(&a, &declutter(512, 512)));
        assert!(!same_graph_but_input(&a, &declutter(96, 64)));
    }
}
