#!/usr/bin/env node
// The parts of a clip's shared-out detection, one after the other in one instance under
// Node: `deidentify` alone (twice: the first call includes the plan), `detectionJobs`, each
// `detectPart(bytes, i, PARTS)`, and `deidentify` with all the shares. The wall time of the
// split is about detectionJobs + the slowest part + the last deidentify when the parts run
// on separate cores (the page's workers).
//
//   node --experimental-wasm-relaxed-simd tools/bench/wasm_split_parts.mjs FILE [PARTS]
// Environment: WASM (default pkg/dicom_deid_relaxed_bg.wasm), MODEL (target/model/det.onnx).
import fs from "node:fs";
import { initSync, Deidentifier } from "../../pkg/dicom_deid.js";

const [file, partsArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: node tools/bench/wasm_split_parts.mjs FILE [PARTS]");
  process.exit(2);
}
const parts = parseInt(partsArg || "2", 10);
initSync({ module: fs.readFileSync(process.env.WASM || "pkg/dicom_deid_relaxed_bg.wasm") });
const deid = new Deidentifier(null, "wasm_split_parts");
deid.loadModel(fs.readFileSync(process.env.MODEL || "target/model/det.onnx"));
const bytes = fs.readFileSync(file);
const timed = (label, f) => {
  const t0 = performance.now();
  const r = f();
  const ms = performance.now() - t0;
  console.log(`${label}: ${ms.toFixed(0)} ms`);
  return [r, ms];
};
timed("deidentify (first call)", () => deid.deidentify(bytes));
timed("deidentify", () => deid.deidentify(bytes));
const [jobs, jobsMs] = timed("detectionJobs", () => deid.detectionJobs(bytes));
const shares = [];
let slowest = 0;
for (let i = 0; i < parts; i++) {
  const [share, ms] = timed(`detectPart ${i} of ${parts}`, () => deid.detectPart(bytes, i, parts));
  shares.push(share);
  slowest = Math.max(slowest, ms);
}
const [out, lastMs] = timed("deidentify with the shares", () => deid.deidentify(bytes, shares));
const px = out.report.pixels;
console.log(`${jobs} jobs, ${px.detections_shared} of ${px.frames_detected} taken from the shares`);
console.log(`split over ${parts} cores, about ${(jobsMs + slowest + lastMs).toFixed(0)} ms of wall time`);
