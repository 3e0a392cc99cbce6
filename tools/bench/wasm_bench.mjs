// The WebAssembly core (pkg/, wasm32 + simd128) under Node: whole-file de-identification time
// with the pixel cleaner (text detector via tract), per file.
//
//   node tools/bench/wasm_bench.mjs [--pkg pkg] [--wasm pkg/dicom_deid_bg.wasm] [--model target/model/det.onnx] [--runs 3]
//        [--every FILE] [--every-runs 1] [--json] FILE...
//
// For each FILE: harvest + deidentify, `--runs` times after one warm-up run (the warm-up is
// skipped for files > 50 MB, whose single run takes seconds: the median is then over the
// runs alone; the warm-up's time is reported as first_ms: V8 tiers the module up and tract
// plans each new input shape on first use); prints the median wall ms, frames,
// frames_detected and ms per frame. With --every FILE, that file is also run
// (--every-runs times, no warm-up) under the policy {"pixels": {"frames": "every"}}.
// Also reports the module instantiation time and the model load time.
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { webcrypto } from "node:crypto";
import { pathToFileURL } from "node:url";

if (!globalThis.crypto) globalThis.crypto = webcrypto;

const args = process.argv.slice(2);
const opt = { pkg: "pkg", model: "target/model/det.onnx", runs: 3, everyRuns: 1, every: [], json: false, files: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--pkg") opt.pkg = args[++i];
  else if (a === "--model") opt.model = args[++i];
  else if (a === "--wasm") opt.wasm = args[++i];
  else if (a === "--runs") opt.runs = Number(args[++i]);
  else if (a === "--every") opt.every.push(args[++i]);
  else if (a === "--every-runs") opt.everyRuns = Number(args[++i]);
  else if (a === "--json") opt.json = true;
  else opt.files.push(a);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x) => Math.round(x * 10) / 10;
const log = (...m) => { if (!opt.json) console.error(...m); };

const out = { node: process.version, files: [], errors: [] };
const js = await import(pathToFileURL(path.resolve(opt.pkg, "dicom_deid.js")).href);
const wasmBytes = fs.readFileSync(opt.wasm || path.join(opt.pkg, "dicom_deid_bg.wasm"));
{
  const mod = new WebAssembly.Module(wasmBytes);
  const tf = WebAssembly.Module.customSections(mod, "target_features");
  // The target_features section lists "+simd128" when the module was built with it.
  out.simd128 = tf.length ? Buffer.from(tf[0]).toString("latin1").includes("simd128") : null;
  out.relaxed_simd = tf.length ? Buffer.from(tf[0]).toString("latin1").includes("relaxed-simd") : null;
}
let t = performance.now();
js.initSync({ module: wasmBytes });
out.init_ms = round(performance.now() - t);
out.has_previewFrame = typeof js.previewFrame === "function";
out.has_loadModel = typeof js.Deidentifier.prototype.loadModel === "function";
log(`node ${process.version}; wasm init ${out.init_ms} ms; simd128 in target_features: ${out.simd128}`);

const model = fs.readFileSync(opt.model);
function make(policy) {
  const d = new js.Deidentifier(policy ? JSON.stringify(policy) : null, "secret", false, false);
  const t0 = performance.now();
  d.loadModel(model);
  return { d, loadMs: performance.now() - t0 };
}

const explain = (e) => {
  let msg = e && e.message ? e.message : String(e);
  try {
    const p = js.lastPanic && js.lastPanic();
    if (p) msg += ` (last panic: ${p})`;
  } catch (_) { /* the module may be poisoned after a trap */ }
  return msg;
};

let sampled;
try {
  sampled = make(null);
  out.model_load_ms = round(sampled.loadMs);
  log(`model load ${out.model_load_ms} ms (${model.length} bytes)`);
} catch (e) {
  out.errors.push({ stage: "loadModel", error: explain(e) });
}

let every = null;
const jobs = [];
for (const f of opt.files) jobs.push({ file: f, variant: "sampled" });
for (const f of opt.every) jobs.push({ file: f, variant: "every" });

for (const job of jobs) {
  const bytes = new Uint8Array(fs.readFileSync(job.file));
  const name = path.basename(job.file);
  let deid;
  try {
    if (job.variant === "every") {
      every ??= make({ pixels: { frames: "every" } });
      deid = every.d;
    } else deid = sampled?.d;
    if (!deid) throw new Error("no Deidentifier (model load failed)");
  } catch (e) {
    out.errors.push({ file: name, variant: job.variant, stage: "new/loadModel", error: explain(e) });
    continue;
  }
  const warm = job.variant === "sampled" && bytes.length <= 50e6 ? 1 : 0;
  const runs = job.variant === "every" ? opt.everyRuns : opt.runs;
  const times = [], harvestTimes = [];
  let first = null;
  let report = null;
  try {
    for (let r = 0; r < warm + runs; r++) {
      const t0 = performance.now();
      deid.harvest(bytes);
      const t1 = performance.now();
      const res = deid.deidentify(bytes);
      const t2 = performance.now();
      report = res.report;
      if (r >= warm) { times.push(t2 - t0); harvestTimes.push(t1 - t0); } else first = t2 - t0;
    }
  } catch (e) {
    out.errors.push({ file: name, variant: job.variant, stage: "deidentify", error: explain(e) });
    log(`${name} [${job.variant}]: ERROR ${explain(e)}`);
    continue;
  }
  const px = report && report.pixels;
  const frames = px ? px.frames : 0;
  const rec = {
    file: name,
    variant: job.variant,
    bytes: bytes.length,
    runs: times.length,
    median_ms: round(median(times)),
    min_ms: round(Math.min(...times)),
    first_ms: first === null ? null : round(first),
    harvest_ms: round(median(harvestTimes)),
    frames,
    frames_detected: px ? px.frames_detected : null,
    boxes: px ? px.boxes.length : null,
    ms_per_frame: frames ? round(median(times) / frames) : null,
    kept_because: px ? px.kept_because ?? null : null,
  };
  out.files.push(rec);
  log(`${name} [${job.variant}]: median ${rec.median_ms} ms (min ${rec.min_ms}, harvest ${rec.harvest_ms}) ` +
      `frames ${frames} detected ${rec.frames_detected} boxes ${rec.boxes}` +
      (frames ? ` -> ${rec.ms_per_frame} ms/frame` : ""));
}

if (opt.json) console.log(JSON.stringify(out));
process.exitCode = out.errors.length ? 1 : 0;
