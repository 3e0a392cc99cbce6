// Builds the page into dist/: index.html + app.js + worker.js + dicom_deid_bg.wasm (and
// dicom_deid_relaxed_bg.wasm, which the workers load where relaxed SIMD validates) + det.onnx
// (served from any static server), and ONE self-contained dist/dicom-deid.html (app, worker,
// wasm and model inlined; the worker is started from a Blob URL) that works when opened from disk.
// Needs pkg/ (bash tools/build-wasm.sh).
const path = require("path");
const fs = require("fs");
const crypto = require("crypto");

const dist = path.resolve(__dirname, "dist");
const www = path.resolve(__dirname, "www");

// The page's Content-Security-Policy: no network connection at all (connect-src 'none');
// 'wasm-unsafe-eval' compiles the core; blob: runs the single file's worker.
const CSP =
  "default-src 'none'; connect-src 'none'; script-src 'self' 'wasm-unsafe-eval' blob:; " +
  "worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; " +
  "base-uri 'none'; form-action 'none'";

const common = {
  context: __dirname,
  devtool: false,
  performance: { hints: false },
  experiments: { asyncWebAssembly: false },
  resolve: { extensions: [".js", ".mjs"] },
  // No `global` shim: webpack's falls back to `new Function("return this")`, a string
  // evaluated as code (blocked by the CSP anyway); workers and pages have globalThis.
  node: { global: false },
};

const worker = {
  ...common,
  name: "worker",
  target: "webworker",
  entry: { worker: "./www/worker.js" },
  output: {
    path: dist,
    filename: "[name].js",
    // The .wasm keeps its name; the worker resolves it beside itself.
    assetModuleFilename: "[name][ext]",
    publicPath: "",
    clean: false,
  },
  module: { rules: [{ test: /\.wasm$/, type: "asset/resource" }] },
};

// The "Try a sample" study (tools/make-sample, run by tools/build-wasm.sh), zipped.
function sampleZip() {
  const dir = path.resolve(__dirname, "target/sample");
  if (!fs.existsSync(dir)) return null;
  const { zipSync } = require("fflate");
  const files = {};
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".dcm")).sort()) files[f] = fs.readFileSync(path.join(dir, f));
  return Object.keys(files).length ? Buffer.from(zipSync(files, { level: 9, mtime: new Date("2024-01-01") })) : null;
}

class SingleFilePlugin {
  apply(compiler) {
    compiler.hooks.thisCompilation.tap("SingleFile", (compilation) => {
      const { sources, Compilation } = compiler.webpack;
      compilation.hooks.processAssets.tap({ name: "SingleFile", stage: Compilation.PROCESS_ASSETS_STAGE_REPORT }, () => {
        const template = fs.readFileSync(path.join(www, "index.html"), "utf8");
        const app = compilation.getAsset("app.js").source.source().toString();
        const workerJs = fs.readFileSync(path.join(dist, "worker.js"), "utf8");
        const wasm = fs.readFileSync(path.join(dist, "dicom_deid_bg.wasm"));
        const sample = sampleZip();
        // The text detector (tools/fetch-model.sh): beside the worker, and inline in the single file.
        const modelPath = path.resolve(__dirname, "target/model/det.onnx");
        if (!fs.existsSync(modelPath)) throw new Error("target/model/det.onnx is missing: run tools/fetch-model.sh");
        const model = fs.readFileSync(modelPath);
        compilation.emitAsset("det.onnx", new sources.RawSource(model));
        // (functions as replacements: a string one would expand "$&" and the like in the code)
        // Already final: an HTML minimizer must not rewrite the inline script (its hash).
        const done = { minimized: true };
        const fill = (csp, scripts) => template.replace("%CSP%", () => csp).replace("%SCRIPTS%", () => scripts);

        // Served page: scripts from its own origin.
        if (sample) compilation.emitAsset("sample.js", new sources.RawSource(`globalThis.DEID_SAMPLE=${JSON.stringify(sample.toString("base64"))};\n`));
        const tags = (sample ? '<script src="sample.js"></script>\n' : "") + '<script src="app.js"></script>';
        compilation.emitAsset("index.html", new sources.RawSource(fill(CSP, tags)), done);

        // Single file: one inline script, allowed by its hash (file:// has no 'self').
        const safe = (s) => s.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
        let inline =
          `globalThis.DEID_INLINE={worker:${safe(JSON.stringify(workerJs))},wasm:"${wasm.toString("base64")}",model:"${model.toString("base64")}"};\n` +
          (sample ? `globalThis.DEID_SAMPLE="${sample.toString("base64")}";\n` : "") +
          app;
        if (/<\/script/i.test(app) || /<!--/.test(app)) throw new Error("app.js contains </script or <!--: cannot inline it");
        const hash = crypto.createHash("sha256").update(inline, "utf8").digest("base64");
        const csp = CSP.replace("script-src 'self'", `script-src 'self' 'sha256-${hash}'`);
        compilation.emitAsset("dicom-deid.html", new sources.RawSource(fill(csp, `<script>${inline}</script>`)), done);
      });
    });
  }
}

const app = {
  ...common,
  name: "app",
  dependencies: ["worker"],
  target: "web",
  entry: { app: "./www/app.js" },
  output: { path: dist, filename: "[name].js", publicPath: "", clean: false },
  plugins: [new SingleFilePlugin()],
};

module.exports = [worker, app];
