#!/usr/bin/env node
// A clip's shared-out detection measured with real threads under Node: the calling thread
// plays the page's cleaning worker (the parts from the header, so that the helpers start at
// once; parse, its own part, then deidentifyParsed with the shares: one parse of the file)
// and PARTS-1 worker threads play the helpers (each reads the file and runs its
// part), every thread with its own instance of one compiled module, as in the page.
// Round 1 starts from instances that have never planned a detection (a fresh page); the
// later rounds reuse them (a page that has cleaned a file before). For comparison each round
// also times `deidentify` alone on the calling thread. Prints every round's wall time (with
// --json, one JSON object for tools/bench-pixels.sh).
//
//   node --experimental-wasm-relaxed-simd tools/bench/wasm_split_threads.mjs [--json] FILE [PARTS] [ROUNDS]
// Environment: WASM (default pkg/dicom_deid_relaxed_bg.wasm), MODEL (target/model/det.onnx),
// FROM_BYTES=1: the cleaning thread's calls each take the bytes (detectionParts, detectPart,
// deidentify: three parses, as the page did before session 16), for comparison.
import fs from "node:fs";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { initSync, Deidentifier } from "../../pkg/dicom_deid.js";

const SECRET = "wasm_split_threads";

function instance(module, modelPath) {
  initSync({ module });
  const deid = new Deidentifier(null, SECRET);
  deid.loadModel(fs.readFileSync(modelPath));
  return deid;
}

if (!isMainThread) {
  const deid = instance(workerData.module, workerData.model);
  parentPort.on("message", ({ file, part, parts }) => {
    const share = deid.detectPart(fs.readFileSync(file), part, parts);
    parentPort.postMessage(share);
  });
  parentPort.postMessage("ready");
} else {
  const args = process.argv.slice(2);
  const json = args[0] === "--json";
  const [file, partsArg, roundsArg] = json ? args.slice(1) : args;
  if (!file) {
    console.error("usage: node tools/bench/wasm_split_threads.mjs [--json] FILE [PARTS] [ROUNDS]");
    process.exit(2);
  }
  const parts = parseInt(partsArg || "2", 10);
  const rounds = parseInt(roundsArg || "3", 10);
  const wasmPath = process.env.WASM || "pkg/dicom_deid_relaxed_bg.wasm";
  const model = process.env.MODEL || "target/model/det.onnx";
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const deid = instance(module, model);
  const helpers = await Promise.all(
    Array.from({ length: parts - 1 }, () => new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { module, model } });
      w.once("message", () => resolve(w));
      w.once("error", reject);
    })),
  );
  const ask = (w, part) => new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
    w.postMessage({ file, part, parts });
  });
  const bytes = fs.readFileSync(file);
  const log = (m) => (json ? console.error(m) : console.log(m));
  const fromBytes = process.env.FROM_BYTES === "1";
  const result = { file, threads: parts, wasm: wasmPath, node: process.version, from_bytes: fromBytes, rounds: [] };
  log(`${file}, ${parts} threads, ${wasmPath}${fromBytes ? ", each call from the bytes" : ", parsed once"}`);
  for (let round = 1; round <= rounds; round++) {
    const t0 = performance.now();
    let out;
    if (fromBytes) {
      deid.detectionParts(bytes, parts - 1);
      const asked = helpers.map((w, i) => ask(w, i + 1));
      const own = deid.detectPart(bytes, 0, parts);
      out = deid.deidentify(bytes, [own, ...(await Promise.all(asked))]);
    } else {
      deid.detectionPartsOfHeader(bytes.subarray(0, 4 << 20), parts - 1);
      const asked = helpers.map((w, i) => ask(w, i + 1));
      const parsed = deid.parse(bytes);
      const own = deid.detectPartOf(parsed, 0, parts);
      out = deid.deidentifyParsed(parsed, [own, ...(await Promise.all(asked))]);
    }
    const splitMs = performance.now() - t0;
    const px = out.report.pixels;
    if (px.detections_shared !== px.frames_detected) {
      throw new Error(`only ${px.detections_shared} of ${px.frames_detected} runs came from the shares`);
    }
    const t1 = performance.now();
    deid.deidentify(bytes);
    const aloneMs = performance.now() - t1;
    result.rounds.push({ split_ms: splitMs, alone_ms: aloneMs, detections: px.frames_detected, shared: px.detections_shared });
    log(`round ${round}: split over ${parts} threads ${splitMs.toFixed(0)} ms (${px.detections_shared} runs shared); deidentify alone ${aloneMs.toFixed(0)} ms`);
  }
  await Promise.all(helpers.map((w) => w.terminate()));
  if (json) console.log(JSON.stringify(result));
}
