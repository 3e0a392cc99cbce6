//! ONNX GlobalAveragePool as one operator that divides by the spatial size it is given at run
//! time. tract's own expansion divides a sum by a constant computed from the input size when
//! the model is typed, so a graph typed and decluttered at one size would average wrongly at
//! another (measured: up to 0.1 off in the probability map of a 64x64 input re-typed from a
//! 512x512 graph). With this operator nothing in the PP-OCR detection graph depends on the
//! input size, and [`super::Detector`] re-types one decluttered graph for new sizes.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

/// Register this GlobalAveragePool in an ONNX parser.
pub fn register(onnx: &mut tract_onnx::Onnx) {
    onnx.op_register.insert("GlobalAveragePool", |_, _: &NodeProto| Ok((expand(GlobalMean), vec![])));
}

/// The inference-time operator (shape rules as tract's GlobalAvgPool): f32 inputs, which
/// the detector feeds, become [`SpatialMean`]; other types tract's own expansion.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct GlobalMean;

impl Expansion for GlobalMean {
    fn name(&self) -> StaticName {
        "GlobalMean".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(&'s self, s: &mut Solver<'r>, inputs: &'p [TensorProxy], outputs: &'p [TensorProxy]) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[0].rank, &inputs[0].rank)?;
        s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[0].shape[1], &inputs[0].shape[1])?;
        s.given(&inputs[0].rank, move |s, rank| {
            for i in 2..rank {
                s.equals(&outputs[0].shape[i as usize], TDim::from(1))?;
            }
            Ok(())
        })
    }

    fn wire(&self, name: &str, target: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        if target.outlet_fact(inputs[0])?.datum_type == f32::datum_type() {
            target.wire_node(name, SpatialMean, inputs)
        } else {
            // Other types as tract does it (the detector then builds each size's graph).
            tract_onnx::tract_hir::ops::nn::GlobalAvgPool.wire(name, target, inputs)
        }
    }
}

/// Mean over every axis after the first two (N, C, spatial...), f32.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct SpatialMean;

impl Op for SpatialMean {
    fn name(&self) -> StaticName {
        "SpatialMean".into()
    }

    op_as_typed_op!();
}

impl EvalOp for SpatialMean {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = inputs[0].to_plain_array_view::<f32>()?;
        let shape = input.shape();
        ensure!(shape.len() >= 3, "GlobalAveragePool needs spatial axes, got shape {shape:?}");
        let (n, c) = (shape[0], shape[1]);
        let area: usize = shape[2..].iter().product();
        ensure!(area > 0, "GlobalAveragePool of an empty input");
        let flat = input.as_standard_layout();
        let flat = flat.as_slice().expect("standard layout");
        let means: Vec<f32> = flat.chunks_exact(area).map(|plane| sum(plane) / area as f32).collect();
        let mut out_shape = vec![n, c];
        out_shape.extend(std::iter::repeat_n(1, shape.len() - 2));
        Ok(tvec!(Tensor::from_shape(&out_shape, &means)?.into_tvalue()))
    }
}

/// The sum of `xs` in eight running lanes, which the compiler vectorises (one running sum
/// it cannot: floating-point addition is not reordered).
fn sum(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += x;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

impl TypedOp for SpatialMean {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].datum_type == f32::datum_type(), "GlobalAveragePool: f32 only");
        ensure!(inputs[0].rank() >= 3, "GlobalAveragePool needs spatial axes");
        let mut shape: TVec<TDim> = inputs[0].shape.to_tvec();
        shape.iter_mut().skip(2).for_each(|d| *d = 1.into());
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_sum_adds_every_element_whatever_the_length() {
        for n in [0usize, 1, 7, 8, 9, 17, 256, 300] {
            let xs: Vec<f32> = (0..n).map(|i| (i % 13) as f32 - 4.0).collect();
            let expected: f32 = xs.iter().map(|&x| x as f64).sum::<f64>() as f32;
            assert_eq!(sum(&xs), expected, "length {n}");
        }
    }

    #[test]
    fn means_per_image_and_channel() {
        // N=2, C=2, 1x3: planes [1 2 3], [4 5 6], [7 8 9], [10 11 12].
        let x = Tensor::from_shape(&[2, 2, 1, 3], &(1..=12).map(|v| v as f32).collect::<Vec<_>>()).unwrap();
        let out = SpatialMean.eval(&EvalContext::out_of_plan(), tvec!(x.into_tvalue())).unwrap();
        assert_eq!(out[0].shape(), &[2, 2, 1, 1]);
        assert_eq!(out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect::<Vec<_>>(), vec![2.0, 5.0, 8.0, 11.0]);
    }
}
