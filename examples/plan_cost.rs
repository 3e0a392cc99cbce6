//! What a text-detector plan costs per new input size, the detector's way against tract's
//! stock way, in the same process:
//!
//!     bash tools/fetch-model.sh
//!     cargo run --release --features pixels --example plan_cost [-- MODEL.onnx]
//!
//! For each size (the first two in the order the detector sees them are built from the ONNX
//! model; later ones re-type the shared graph): the detector's first call (plan + run) and
//! second call (run only), so plan = first - second; then a plan built by stock tract
//! (`tract_onnx::onnx()`, its own GlobalAveragePool) and one run of it. Times in ms.
//! Without the feature this example only prints how to run it (so default builds pass).

#[cfg(not(feature = "pixels"))]
fn main() {
    eprintln!("plan_cost needs the pixels feature: cargo run --release --features pixels --example plan_cost");
    std::process::exit(2);
}

#[cfg(feature = "pixels")]
fn main() -> tract_onnx::prelude::TractResult<()> {
    cost::run()
}

#[cfg(feature = "pixels")]
mod cost {
    use dicom_deid::detect::{DetectOptions, Detector};
    use std::time::Instant;
    use tract_onnx::prelude::*;

    fn ms(t: Instant) -> f64 {
        t.elapsed().as_secs_f64() * 1000.0
    }

    pub fn run() -> TractResult<()> {
        let path = std::env::args().nth(1).unwrap_or_else(|| "target/model/det.onnx".into());
        let bytes = std::fs::read(&path).map_err(|e| TractError::msg(format!("{path}: {e} (run tools/fetch-model.sh)")))?;
        let det = Detector::from_bytes(&bytes, DetectOptions::default()).map_err(TractError::msg)?;
        let stock = tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut std::io::Cursor::new(&bytes))?;
        println!("| input (w x h) | detector: plan | detector: run | stock tract: plan | stock tract: run |");
        println!("|---|---:|---:|---:|---:|");
        for (w, h) in [(512u32, 512u32), (640, 480), (128, 128), (1024, 768), (224, 192), (320, 1280)] {
            let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
            let t = Instant::now();
            det.probability_map(&rgb, w, h).map_err(TractError::msg)?;
            let first = ms(t);
            let t = Instant::now();
            det.probability_map(&rgb, w, h).map_err(TractError::msg)?;
            let run = ms(t);
            let t = Instant::now();
            let plan = stock.clone().with_input_fact(0, f32::fact([1, 3, h as usize, w as usize]).into())?.into_optimized()?.into_runnable()?;
            let stock_plan = ms(t);
            let input = Tensor::zero::<f32>(&[1, 3, h as usize, w as usize])?;
            plan.run(tvec!(input.clone().into()))?;
            let t = Instant::now();
            plan.run(tvec!(input.into()))?;
            let stock_run = ms(t);
            println!("| {w}x{h} | {:.0} | {run:.0} | {stock_plan:.0} | {stock_run:.0} |", first - run);
        }
        println!("\nmodel {path}; command: cargo run --release --features pixels --example plan_cost");
        Ok(())
    }
}
