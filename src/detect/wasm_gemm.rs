//! A matrix-product kernel for the WebAssembly build, registered with tract and preferred
//! over tract's own for every f32 matrix product that is not a matrix-vector one.
//!
//! Why: tract's wasm kernel for these products (`wasm_f32_8x8`) keeps 16 accumulators plus
//! the A and B vectors and eight broadcasts alive at once. On x86-64 an engine has 16 SIMD
//! registers (V8 keeps one as scratch), so that kernel spills in every step of its inner
//! loop, and the text detector spent about half of its wasm time in it. This kernel keeps
//! a 4 x 8 tile (8 accumulators, the two B vectors, one broadcast of A read straight from
//! memory with `v128.load32_splat`): everything stays in registers. Measured under Node on
//! this project's machines (docs/benchmarks.md, session 10): the same products in about
//! half the time of `wasm_f32_8x8`; 6 x 8 and 5 x 8 tiles were slower than 4 x 8 (spills
//! again). Same packing layout as tract's kernels (A: k x 4, B: k x 8, f32) and the same
//! fused operations.
//!
//! Compiled only for wasm32 with simd128; native builds use tract's kernels.

use std::arch::wasm32::*;
use tract_onnx::prelude::tract_linalg as linalg;
use tract_onnx::prelude::DatumType;

use linalg::mmm::{DynKernel, FusedKerSpec, MatMatMul, Query, Suitable};
use linalg::pack::Packing;

/// The kernel's name in tract's registry, which the preference below answers with.
pub const NAME: &str = "dicom_deid_wasm_f32_4x8";
/// Rows of A per tile.
const MR: usize = 4;
/// v128 vectors per row of the tile: 8 columns.
const NV: usize = 2;

#[cfg(target_feature = "relaxed-simd")]
macro_rules! madd {
    ($acc:expr, $a:expr, $b:expr) => {
        f32x4_relaxed_madd($a, $b, $acc)
    };
}

#[cfg(not(target_feature = "relaxed-simd"))]
macro_rules! madd {
    ($acc:expr, $a:expr, $b:expr) => {
        f32x4_add($acc, f32x4_mul($a, $b))
    };
}

type Tile = [[v128; NV]; MR];

/// Applies `f` to every accumulator.
#[inline(always)]
fn each(acc: &mut Tile, f: impl Fn(v128) -> v128) {
    for row in acc.iter_mut() {
        for v in row.iter_mut() {
            *v = f(*v);
        }
    }
}

/// Applies `f(accumulator, value of its row)` with one value per row read from `rows`.
#[inline(always)]
unsafe fn per_row(acc: &mut Tile, rows: *const f32, f: impl Fn(v128, v128) -> v128) {
    for (r, row) in acc.iter_mut().enumerate() {
        let s = f32x4_splat(unsafe { *rows.add(r) });
        for v in row.iter_mut() {
            *v = f(*v, s);
        }
    }
}

/// Applies `f(accumulator, values of its columns)` with one value per column read from `cols`.
#[inline(always)]
unsafe fn per_col(acc: &mut Tile, cols: *const f32, f: impl Fn(v128, v128) -> v128) {
    let p = cols as *const v128;
    for row in acc.iter_mut() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = f(*v, unsafe { v128_load(p.add(j)) });
        }
    }
}

/// The kernel: runs tract's fused-operation list over one MR x 8 tile.
///
/// # Safety
/// `spec` is a list tract built for a kernel of this shape and packing, ending with `Done`.
unsafe fn kernel(spec: &[FusedKerSpec<f32>]) -> isize {
    let mut acc: Tile = [[f32x4_splat(0.0); NV]; MR];
    for op in spec {
        unsafe {
            match *op {
                FusedKerSpec::Done => break,
                FusedKerSpec::Clear => acc = [[f32x4_splat(0.0); NV]; MR],
                FusedKerSpec::LoadTile(_cols, rows) => {
                    let p = rows as *const v128;
                    for (r, row) in acc.iter_mut().enumerate() {
                        for (j, v) in row.iter_mut().enumerate() {
                            *v = v128_load(p.add(r * NV + j));
                        }
                    }
                }
                FusedKerSpec::ScalarMin(a) => each(&mut acc, |v| f32x4_min(f32x4_splat(a), v)),
                FusedKerSpec::ScalarMax(a) => each(&mut acc, |v| f32x4_max(f32x4_splat(a), v)),
                FusedKerSpec::ScalarAdd(a) => each(&mut acc, |v| f32x4_add(f32x4_splat(a), v)),
                FusedKerSpec::ScalarMul(a) => each(&mut acc, |v| f32x4_mul(f32x4_splat(a), v)),
                FusedKerSpec::ScalarSub(a) => each(&mut acc, |v| f32x4_sub(f32x4_splat(a), v)),
                FusedKerSpec::ScalarSubF(a) => each(&mut acc, |v| f32x4_sub(v, f32x4_splat(a))),
                FusedKerSpec::LeakyRelu(a) => each(&mut acc, |v| {
                    v128_bitselect(v, f32x4_mul(f32x4_splat(a), v), f32x4_gt(v, f32x4_splat(0.0)))
                }),
                FusedKerSpec::PerRowMin(p) => per_row(&mut acc, p, |v, s| f32x4_min(s, v)),
                FusedKerSpec::PerRowMax(p) => per_row(&mut acc, p, |v, s| f32x4_max(s, v)),
                FusedKerSpec::PerRowAdd(p) => per_row(&mut acc, p, |v, s| f32x4_add(s, v)),
                FusedKerSpec::PerRowMul(p) => per_row(&mut acc, p, |v, s| f32x4_mul(s, v)),
                FusedKerSpec::PerRowSub(p) => per_row(&mut acc, p, |v, s| f32x4_sub(s, v)),
                FusedKerSpec::PerRowSubF(p) => per_row(&mut acc, p, |v, s| f32x4_sub(v, s)),
                FusedKerSpec::PerColMin(p) => per_col(&mut acc, p, |v, c| f32x4_min(c, v)),
                FusedKerSpec::PerColMax(p) => per_col(&mut acc, p, |v, c| f32x4_max(c, v)),
                FusedKerSpec::PerColAdd(p) => per_col(&mut acc, p, |v, c| f32x4_add(c, v)),
                FusedKerSpec::PerColMul(p) => per_col(&mut acc, p, |v, c| f32x4_mul(c, v)),
                FusedKerSpec::PerColSub(p) => per_col(&mut acc, p, |v, c| f32x4_sub(c, v)),
                FusedKerSpec::PerColSubF(p) => per_col(&mut acc, p, |v, c| f32x4_sub(v, c)),
                FusedKerSpec::QScale(shift, policy, mult) => {
                    let s = linalg::Scaler::from_fuse_params(shift, policy, mult).scale;
                    each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
                }
                FusedKerSpec::RoundingShiftRight(shift, _) => {
                    let s = 2f32.powi(-(shift as i32));
                    each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
                }
                FusedKerSpec::ShiftLeft(shift) => {
                    let s = 2f32.powi(shift as i32);
                    each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
                }
                FusedKerSpec::AddRowColProducts(rows, cols) => {
                    let p = cols as *const v128;
                    for (r, row) in acc.iter_mut().enumerate() {
                        let s = f32x4_splat(*rows.add(r));
                        for (j, v) in row.iter_mut().enumerate() {
                            *v = madd!(*v, s, v128_load(p.add(j)));
                        }
                    }
                }
                FusedKerSpec::AddUnicast(tile) => {
                    let at = |r: usize, c: usize| {
                        *(tile.ptr.offset(r as isize * tile.row_byte_stride + c as isize * tile.col_byte_stride)
                            as *const f32)
                    };
                    for (r, row) in acc.iter_mut().enumerate() {
                        for (j, v) in row.iter_mut().enumerate() {
                            let c = 4 * j;
                            *v = f32x4_add(f32x4(at(r, c), at(r, c + 1), at(r, c + 2), at(r, c + 3)), *v);
                        }
                    }
                }
                FusedKerSpec::Store(tile) => {
                    for (r, row) in acc.iter().enumerate() {
                        let base = tile.ptr.offset(r as isize * tile.row_byte_stride);
                        for (j, v) in row.iter().enumerate() {
                            let at = |lane: usize| base.offset((4 * j + lane) as isize * tile.col_byte_stride) as *mut f32;
                            *at(0) = f32x4_extract_lane::<0>(*v);
                            *at(1) = f32x4_extract_lane::<1>(*v);
                            *at(2) = f32x4_extract_lane::<2>(*v);
                            *at(3) = f32x4_extract_lane::<3>(*v);
                        }
                    }
                }
                FusedKerSpec::AddMatMul { k, pa, pb, packing: _ } => {
                    // A: k steps of MR values; B: k steps of 8 values (two v128).
                    let a = pa as *const u32;
                    let b = pb as *const v128;
                    for i in 0..k {
                        let b0 = v128_load(b.add(NV * i));
                        let b1 = v128_load(b.add(NV * i + 1));
                        let a = a.add(MR * i);
                        for (r, row) in acc.iter_mut().enumerate() {
                            let s = v128_load32_splat(a.add(r));
                            row[0] = madd!(row[0], s, b0);
                            row[1] = madd!(row[1], s, b1);
                        }
                    }
                }
            }
        }
    }
    0
}

/// The kernel as tract describes one: its name, shape, packings and architecture.
fn describe() -> Box<dyn MatMatMul> {
    let mut k = DynKernel::<MR, { NV * 4 }, f32>::new(NAME, kernel, f32::packing(MR), f32::packing(NV * 4));
    k.arch = Some(linalg::isa::Arch::Wasm32Simd128);
    k.mmm()
}

/// Which kernel tract runs for a query: this one for f32 matrix products; no opinion on
/// matrix-vector products (n = 1), whose kernels are tract's, nor on other types.
fn preferred(_isa: &linalg::isa::IsaSet, dt: DatumType, query: &Query, _suitable: &[Suitable]) -> Option<&'static str> {
    match (dt, query.n) {
        (DatumType::F32, Some(1)) => None,
        (DatumType::F32, _) => Some(NAME),
        _ => None,
    }
}

inventory::submit! {
    linalg::mmm_routines::MmmRoutine { make: describe }
}

inventory::submit! {
    linalg::mmm_tiers::MmmTier {
        arch: Some(linalg::isa::Arch::Wasm32Simd128),
        // Above tract's own wasm tier (precedence 1), asked first.
        precedence: 2,
        name: "dicom-deid-wasm-gemm",
        applies: |_| true,
        preferred,
    }
}

/// Keeps the registrations above in the module: wasm-ld drops an object nothing refers to,
/// its registry entries included.
pub fn keep() {
    std::hint::black_box(describe as fn() -> Box<dyn MatMatMul>);
}

#[cfg(test)]
mod tests {
    use super::*;
    use linalg::mmm::OutputStoreKer;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Packs A (m x k, row-major) in MR-row panels and B (k x n) in 8-column panels as
    /// tract lays them out, runs the kernel on one tile with a per-row bias, and compares
    /// with a plain triple loop.
    #[wasm_bindgen_test]
    fn the_kernel_computes_a_tile_of_a_product_with_a_fused_bias() {
        let k = 37;
        let a: Vec<f32> = (0..MR * k).map(|i| ((i * 7919) % 23) as f32 / 7.0 - 1.5).collect();
        let b: Vec<f32> = (0..k * 8).map(|i| ((i * 104729) % 19) as f32 / 5.0 - 1.0).collect();
        let bias: Vec<f32> = (0..MR).map(|r| r as f32 * 0.25 - 0.5).collect();
        let mut pa = vec![0f32; k * MR];
        let mut pb = vec![0f32; k * 8];
        for i in 0..k {
            for r in 0..MR {
                pa[i * MR + r] = a[r * k + i];
            }
            pb[i * 8..i * 8 + 8].copy_from_slice(&b[i * 8..i * 8 + 8]);
        }
        // The output tile: row stride 11 floats, column stride 1, inside a larger buffer.
        let mut out = vec![f32::NAN; MR * 11];
        let store = OutputStoreKer {
            ptr: out.as_mut_ptr() as *mut u8,
            row_byte_stride: 11 * 4,
            col_byte_stride: 4,
            item_size: 4,
        };
        let spec = [
            FusedKerSpec::Clear,
            FusedKerSpec::AddMatMul { k, pa: pa.as_ptr() as *const u8, pb: pb.as_ptr() as *const u8, packing: 0 },
            FusedKerSpec::PerRowAdd(bias.as_ptr()),
            FusedKerSpec::ScalarMax(0.0),
            FusedKerSpec::Store(store),
            FusedKerSpec::Done,
        ];
        assert_eq!(unsafe { kernel(&spec) }, 0);
        for r in 0..MR {
            for c in 0..8 {
                let want = ((0..k).map(|i| a[r * k + i] * b[i * 8 + c]).sum::<f32>() + bias[r]).max(0.0);
                let got = out[r * 11 + c];
                assert!((got - want).abs() < 1e-4, "row {r} col {c}: {got} != {want}");
            }
            assert!(out[r * 11 + 8..r * 11 + 11].iter().all(|v| v.is_nan()), "wrote past the tile");
        }
    }

    /// A matrix product through tract, optimised as the detector's plans are: the plan runs
    /// this kernel and gives the plain triple loop's answer, edge tiles included (m and n are
    /// not multiples of the tile).
    #[wasm_bindgen_test]
    fn tract_runs_matrix_products_with_this_kernel() {
        use tract_onnx::tract_core::ops::einsum::EinSum;
        use tract_onnx::prelude::*;
        keep();
        let (m, k, n) = (29, 45, 35);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 31) % 17) as f32 / 4.0 - 2.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 13) % 11) as f32 / 3.0 - 1.5).collect();
        let mut model = TypedModel::default();
        let x = model.add_source("a", f32::fact([m, k])).unwrap();
        let w = model.add_const("b", tensor1(&b).into_shape(&[k, n]).unwrap()).unwrap();
        let axes = "mk,kn->mn".parse().unwrap();
        let y = model.wire_node("product", EinSum::new(axes, f32::datum_type()), &[x, w]).unwrap();
        model.select_output_outlets(&y).unwrap();
        let plan = model.into_optimized().unwrap();
        let described = plan.nodes().iter().flat_map(|n| n.op.info().unwrap_or_default()).collect::<Vec<_>>().join(" ");
        assert!(described.contains(NAME), "the plan does not use {NAME}: {described}");
        let plan = plan.into_runnable().unwrap();
        let input = tensor1(&a).into_shape(&[m, k]).unwrap();
        let out = plan.run(tvec!(input.into())).unwrap();
        let out: Vec<f32> = out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect();
        for r in 0..m {
            for c in 0..n {
                let want: f32 = (0..k).map(|i| a[r * k + i] * b[i * n + c]).sum();
                assert!((out[r * n + c] - want).abs() < 1e-3, "({r}, {c}): {} != {want}", out[r * n + c]);
            }
        }
    }
}
