//! tract's lazy im2col, with the panels of consecutive output positions copied as rows.
//!
//! tract runs a 3x3 convolution as a matrix product whose second operand it gathers panel by
//! panel from the (padded) input: for each of the k = channels x 9 taps, the values at the
//! panel's 8 output positions, read one by one through a table of offsets. In the PP-OCR
//! detector these gathers were 9-15% of the whole inference, natively and in wasm
//! (measured: `LazyIm2colInput::panel_bytes`, 512x512 input). Within one output row the 8
//! positions of a panel are 8 consecutive input values, so the panel is k copies of 8
//! contiguous floats: two vector loads and stores instead of 8 indexed loads and stores.
//!
//! tract's operator is private, so its geometry is read back by running it once at plan time
//! on an input whose every element holds its own index + 1: each panel value then says which
//! input element it came from. The table is used only if every value of every panel is one
//! input element at `k_offset[k] + n_offset[n]` (anything else, such as implicit zero padding,
//! leaves tract's operator in place), so this operator writes what tract's would, bit for bit.

use std::alloc::Layout;
use std::fmt;
use std::sync::Arc;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::matmul::pack::DynPackedExoticFact;
use tract_onnx::prelude::tract_linalg::mmm::{MMMInputFormat, MMMInputValue, PackedMatrixStorage};

/// tract's name for the operator this one replaces.
const LAZY_IM2COL: &str = "LazyIm2col";

/// Every lazy im2col of `model` whose geometry the probe recovers, replaced by a [`PanelGather`].
pub fn with_panel_gathers(mut model: TypedModel) -> TractResult<TypedModel> {
    // Identical operators on inputs of one shape (two in the PP-OCR detector) share a probe.
    let mut probed: Vec<Probed> = Vec::new();
    for id in 0..model.nodes.len() {
        let node = &model.nodes[id];
        if node.op.name() != LAZY_IM2COL || node.inputs.len() != 1 || node.outputs.len() != 1 {
            continue;
        }
        let fact = model.outlet_fact(node.inputs[0])?;
        let Some(shape) = fact.shape.as_concrete().filter(|_| fact.datum_type == f32::datum_type()) else { continue };
        let known = probed.iter().find(|(op, s, _)| *op == node.op && s.as_slice() == shape).map(|p| p.2.clone());
        let table = known.unwrap_or_else(|| {
            let table = probe(node.op.as_ref(), shape).map(Arc::new);
            probed.push((node.op.clone(), shape.into(), table.clone()));
            table
        });
        if let Some(table) = table {
            let output = node.outputs[0].fact.clone();
            model.nodes[id].op = Box::new(PanelGather { table, output });
        }
    }
    Ok(model)
}

/// A probe's result for an operator and input shape (`None`: tract's operator stays).
type Probed = (Box<dyn TypedOp>, TVec<usize>, Option<Arc<Table>>);

/// Where each panel value of an im2col comes from: input byte `k_offsets[k] + n_offsets[n]`.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Table {
    input_shape: TVec<usize>,
    /// Panel width (the matrix kernel's nr).
    r: usize,
    k_offsets: Vec<isize>,
    n_offsets: Vec<isize>,
    /// Per panel: full, and its positions are consecutive input values.
    contiguous: Vec<bool>,
    /// tract's packing format (the fact's one packer) and buffer layout, which the matrix
    /// product expects.
    exotic: DynPackedExoticFact,
    layout: Layout,
}

/// An input whose element `i` holds `i + 1` (exact in f32 below 2^24): 0 in a panel would be
/// a value that came from no element.
fn numbered_input(shape: &[usize]) -> Option<Tensor> {
    let len: usize = shape.iter().product();
    if len == 0 || len >= 1 << 24 {
        return None;
    }
    let marks: Vec<f32> = (1..=len).map(|i| i as f32).collect();
    Some(tract_ndarray::Array::from_shape_vec(shape, marks).ok()?.into_tensor())
}

/// A buffer with tract's panel layout, freed on drop.
struct PanelBuffer {
    ptr: *mut u8,
    layout: Layout,
}

impl PanelBuffer {
    fn new(layout: Layout) -> Option<PanelBuffer> {
        if layout.size() == 0 {
            return None;
        }
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        (!ptr.is_null()).then_some(PanelBuffer { ptr, layout })
    }
}

impl Drop for PanelBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) }
    }
}

/// Runs tract's im2col `op` on a numbered input of `shape` and reads its geometry back from
/// every panel; `None` unless each value is one input element at a separable offset.
fn probe(op: &dyn TypedOp, shape: &[usize]) -> Option<Table> {
    let len = shape.iter().product::<usize>() as i64;
    let out = op.eval_out_of_plan(tvec!(numbered_input(shape)?.into_tvalue())).ok()??;
    let storage = out.first()?.try_storage_as::<PackedMatrixStorage>().ok()?;
    let [value] = storage.values() else { return None };
    let (k, mn, r) = (value.k(), value.mn(), value.format().r());
    let layout = value.scratch_panel_buffer_layout()?;
    if k == 0 || mn == 0 || r == 0 || layout.size() < k * r * 4 || layout.align() < std::mem::align_of::<f32>() {
        return None;
    }
    let buffer = PanelBuffer::new(layout)?;
    // Panel `i` as tract writes it: k rows of r values.
    let panel = |i: usize| -> Option<&[f32]> {
        let ptr = value.panel_bytes(i, Some(buffer.ptr)).ok()? as *const f32;
        // SAFETY: tract wrote k rows of r values into the buffer (or points into its own
        // storage), which stays untouched until the next call.
        Some(unsafe { std::slice::from_raw_parts(ptr, k * r) })
    };
    // The element a value marks (values are index + 1, exact integers up to `len`).
    let element = |v: f32| (v >= 1.0 && v.fract() == 0.0 && (v as i64) <= len).then(|| v as i64 - 1);
    let first = panel(0)?;
    let base = element(first[0])?;
    let k_elems: Vec<i64> = (0..k).map(|kk| element(first[kk * r]).map(|e| e - base)).collect::<Option<_>>()?;
    let (k_min, k_max) = (*k_elems.iter().min()?, *k_elems.iter().max()?);
    // The taps' offsets in f32: with every sum checked to lie inside the input (below 2^24),
    // f32 additions below are exact.
    let k_f32: Vec<f32> = k_elems.iter().map(|&e| e as f32).collect();
    let mut n_elems = Vec::with_capacity(mn);
    for i in 0..mn.div_ceil(r) {
        let values = panel(i)?;
        let width = r.min(mn - i * r);
        let marks = &values[..width];
        for &v in marks {
            let n = element(v)?;
            // 0 (no element) would pass for an offset of -1: every tap must land inside.
            if k_min + n < 0 || k_max + n >= len {
                return None;
            }
            n_elems.push(n);
        }
        // Every value must mark its tap's element of its column (no early exit: vectorised).
        let mismatches = values
            .chunks_exact(r)
            .zip(&k_f32)
            .map(|(row, &ke)| row[..width].iter().zip(marks).map(|(&v, &m)| (v != ke + m) as u32).sum::<u32>())
            .sum::<u32>();
        if mismatches > 0 {
            return None;
        }
    }
    let bytes = |e: &i64| (*e * 4) as isize;
    let n_offsets: Vec<isize> = n_elems.iter().map(bytes).collect();
    let contiguous = (0..mn.div_ceil(r))
        .map(|i| i * r + r <= mn && n_elems[i * r..i * r + r].windows(2).all(|w| w[1] == w[0] + 1))
        .collect();
    let format = tract_onnx::tract_core::dyn_clone::clone_box(value.format());
    let exotic = DynPackedExoticFact { k: k.to_dim(), mn: mn.to_dim(), packers: vec![format] };
    Some(Table { input_shape: shape.into(), r, k_offsets: k_elems.iter().map(bytes).collect(), n_offsets, contiguous, exotic, layout })
}

/// The im2col operator: packs the matrix product's second operand panel by panel, as tract's
/// lazy im2col does, from a table the probe checked.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct PanelGather {
    table: Arc<Table>,
    /// The replaced operator's output fact (a packed-matrix exotic fact).
    output: TypedFact,
}

impl Op for PanelGather {
    fn name(&self) -> StaticName {
        "PanelGather".into()
    }

    op_as_typed_op!();
}

impl EvalOp for PanelGather {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let tensor = args_1!(inputs);
        ensure!(
            tensor.datum_type() == f32::datum_type() && tensor.shape() == &*self.table.input_shape && tensor.has_plain_ram_storage(),
            "im2col: expected a plain f32 tensor of shape {:?}, got {:?} {:?}",
            self.table.input_shape,
            tensor.datum_type(),
            tensor.shape()
        );
        let value: Box<dyn MMMInputValue> = Box::new(GatherInput { tensor, table: Arc::clone(&self.table) });
        Ok(tvec!(PackedMatrixStorage::new_batched(&[1, 1], tvec!(value)).into_tensor(f32::datum_type()).into_tvalue()))
    }
}

impl TypedOp for PanelGather {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(self.output.clone()))
    }

    as_op!();
}

/// One input of the product, its panels gathered on demand.
#[derive(Clone, Debug, PartialEq, Eq)]
struct GatherInput {
    tensor: TValue,
    table: Arc<Table>,
}

impl std::hash::Hash for GatherInput {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.tensor.as_bytes(), &self.table).hash(state);
    }
}

impl fmt::Display for GatherInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PanelGather input k={} mn={}", self.k(), self.mn())
    }
}

impl MMMInputValue for GatherInput {
    fn format(&self) -> &dyn MMMInputFormat {
        &*self.table.exotic.packers[0]
    }

    fn scratch_panel_buffer_layout(&self) -> Option<Layout> {
        Some(self.table.layout)
    }

    fn panel_bytes(&self, i: usize, buffer: Option<*mut u8>) -> TractResult<*const u8> {
        let t = &*self.table;
        let out = buffer.context("im2col: no panel buffer")? as *mut f32;
        ensure!(i * t.r < t.n_offsets.len(), "im2col: panel {i} out of range");
        let src = self.tensor.as_ptr::<f32>()? as *const u8;
        let (n0, n1) = (i * t.r, (i * t.r + t.r).min(t.n_offsets.len()));
        // SAFETY: every offset pair was checked by the probe to address one element of an
        // input of this shape (checked in `eval`), and the buffer holds k rows of r values.
        unsafe {
            if t.contiguous[i] {
                let start = src.offset(t.n_offsets[n0]);
                if t.r == 8 {
                    for (kk, &ko) in t.k_offsets.iter().enumerate() {
                        let row = (start.offset(ko) as *const [f32; 8]).read_unaligned();
                        (out.add(kk * 8) as *mut [f32; 8]).write_unaligned(row);
                    }
                } else {
                    for (kk, &ko) in t.k_offsets.iter().enumerate() {
                        std::ptr::copy_nonoverlapping(start.offset(ko) as *const f32, out.add(kk * t.r), t.r);
                    }
                }
            } else {
                for (kk, &ko) in t.k_offsets.iter().enumerate() {
                    let row = src.offset(ko);
                    for j in 0..t.r {
                        let v = if n0 + j < n1 { (row.offset(t.n_offsets[n0 + j]) as *const f32).read_unaligned() } else { 0.0 };
                        out.add(kk * t.r + j).write(v);
                    }
                }
            }
        }
        Ok(out as *const u8)
    }

    fn mn(&self) -> usize {
        self.table.n_offsets.len()
    }

    fn k(&self) -> usize {
        self.table.k_offsets.len()
    }

    fn exotic_fact(&self) -> &dyn ExoticFact {
        &self.table.exotic
    }

    fn extract_at_mn_f16(&self, _mn: usize, _slice: &mut [f16]) -> TractResult<()> {
        bail!("im2col panels cannot be read back by position")
    }

    fn extract_at_mn_f32(&self, _mn: usize, _slice: &mut [f32]) -> TractResult<()> {
        bail!("im2col panels cannot be read back by position")
    }
}
