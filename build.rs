//! Embeds the text detection model in native builds with the "pixels" feature when it has
//! been fetched (tools/fetch-model.sh writes target/model/det.onnx; DICOM_DEID_MODEL points
//! elsewhere). The WebAssembly build never embeds it: the page loads it from its bundle.
use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(embedded_model)");
    println!("cargo:rerun-if-env-changed=DICOM_DEID_MODEL");
    let path = match std::env::var_os("DICOM_DEID_MODEL") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("target/model/det.onnx"),
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let pixels = std::env::var_os("CARGO_FEATURE_PIXELS").is_some();
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    if pixels && !wasm && path.is_file() {
        println!("cargo:rustc-cfg=embedded_model");
        println!("cargo:rustc-env=DICOM_DEID_MODEL_PATH={}", path.display());
    }
}
