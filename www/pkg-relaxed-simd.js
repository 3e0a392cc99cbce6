// Which build of the dicom-deid core an engine can run. The package holds two builds of the
// same core with the same JS glue: dicom_deid_bg.wasm (simd128, every current engine) and
// dicom_deid_relaxed_bg.wasm (simd128 and relaxed SIMD: the text detector's matrix kernels
// use fused multiply-add, about 15% faster in Chromium). An engine without relaxed SIMD
// rejects the second one, so it is chosen only where this probe validates.

// A module of one function that uses f32x4.relaxed_madd.
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // function 0 of that type
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code: one body of 59 bytes, no locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array(16).fill(0)]), // v128.const 0, three times
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd
  0x0b, // end
]);

/** True where the engine validates relaxed SIMD (Chromium 114+, Node 22+). */
export function hasRelaxedSimd() {
  try {
    return WebAssembly.validate(PROBE);
  } catch (_) {
    return false;
  }
}

/** The URL of the faster core build this engine runs, beside this module: pass it to
 * `init({ module_or_path })`, or read it (Node) and pass the bytes to `initSync`. */
export function coreUrl() {
  return hasRelaxedSimd() ? new URL("dicom_deid_relaxed_bg.wasm", import.meta.url) : new URL("dicom_deid_bg.wasm", import.meta.url);
}
