// One de-identification worker: one dicom-deid core instance (its own harvested
// vocabulary), driven by messages from the page. CPU-bound work only; no network.
//
// in:  {type:"init", module?: WebAssembly.Module, core?: string, shareModule?: bool, model?: ArrayBuffer,
//       prepare?: bool, generation?: number, policy: string|null, secret: string, recordMappings: bool}
//      (module: the compiled core, with `core` its build name; without it the worker fetches
//      and compiles the core beside itself, and with `shareModule` hands the module back in
//      "ready". model: the text detector's ONNX bytes; the served page's workers read det.onnx
//      beside themselves instead, from their own origin; prepare: once ready, plan the
//      detector for common image sizes, answered by "prepared"; later messages wait for it.
//      A second init replaces the core instance; the detector's plans are kept)
//      {type:"harvest", files: [{id, blob}]}          every file of the batch (pass 1)
//      {type:"deidentify", id, blob, helpers}         one file (pass 2); `helpers`: how many
//                                                     other workers may run part of its detection
//      {type:"detectPart", id, blob, part, parts}     part of another worker's file's detection
//      {type:"shares", id, shares}                    the other workers' parts, for "split"
//      {type:"mappings"}
//      {type:"preview", id, before: Blob, after: Blob}   first frame of input and output as RGBA
// out: {type:"ready", defaultPolicy, core, module?} | {type:"error", message} (init failed)
//      {type:"prepared", plans, generation} (after "ready", when asked; plans: the common sizes
//      planned, by this instance or an earlier one of the same worker; generation: the init's)
//      {type:"harvested", id} per file | {type:"harvestDone"}
//      {type:"result", id, bytes (transferred ArrayBuffer), report} | {type:"failed", id, message}
//      {type:"split", id, parts} (asks the page for parts 1..parts-1 of this file's detection:
//                                 from its header, before the file is read, else once parsed)
//      {type:"share", id, part, share} (share: null when this part could not be made)
//      {type:"trap", id, message} (the instance is unusable: the page replaces this worker)
//      {type:"mappings", mappings}
//      {type:"preview", id, before: {width, height, rgba}|{error}, after: ...}
import { initSync, Deidentifier, lastPanic, previewFrame } from "../pkg/dicom_deid.js";
// Where the engine has relaxed SIMD, the served page runs the build whose matrix kernels use
// fused multiply-add (faster); elsewhere, and in the single file, the baseline build.
import { coreUrl, hasRelaxedSimd } from "../pkg/relaxed-simd.js";

let deid = null;
let mod = null;
// Which build of the core this worker runs (reported to the page).
let coreBuild = "simd128";

// The header is what harvest reads: a prefix is enough unless the header is bigger or
// the data set is deflated past it, in which case the whole file is read.
const HARVEST_PREFIX = 4 << 20;

function trapped(e) {
  return e instanceof WebAssembly.RuntimeError;
}

function panicMessage(e) {
  let p = null;
  try {
    p = mod && lastPanic();
  } catch (_) {
    /* the instance may be unusable */
  }
  return "internal error (the core trapped" + (p ? ": " + p : "") + ")";
}

async function harvestOne(blob) {
  const whole = blob.size <= HARVEST_PREFIX;
  const first = new Uint8Array(await (whole ? blob : blob.slice(0, HARVEST_PREFIX)).arrayBuffer());
  try {
    deid.harvest(first);
  } catch (e) {
    if (trapped(e) || whole) throw e;
    deid.harvest(new Uint8Array(await blob.arrayBuffer()));
  }
}

// A clip's detection is shared out when other workers are free: it is nearly all of its time.
const awaitingShares = new Map(); // file id -> resolve(shares)

/** Ask the page for parts 1..parts-1 of file `id`'s detection; resolves with the shares. */
function askForParts(id, parts) {
  const others = new Promise((resolve) => awaitingShares.set(id, resolve));
  self.postMessage({ type: "split", id, parts });
  return others;
}

/** Into how many parts the header of `blob` says its detection is worth sharing out (the core
 * decides), read before the whole file so that the helpers read it while this worker does.
 * 1 when the header alone cannot say: asked again once the file is parsed. */
async function partsFromHeader(blob, helpers) {
  try {
    return deid.detectionPartsOfHeader(new Uint8Array(await blob.slice(0, HARVEST_PREFIX).arrayBuffer()), helpers);
  } catch (e) {
    if (trapped(e)) throw e;
    return 1;
  }
}

/** `input` de-identified with its detection shared out among this worker and the `helpers`
 * others when it is worth it (`early`: the parts already asked for from the header). One
 * parse serves this worker's part and the cleaning (a clip is large). Throws what
 * deidentify throws. */
async function deidentifyShared(id, input, helpers, early) {
  const file = deid.parse(input);
  let spent = false;
  try {
    let { parts, others } = early;
    if (parts < 2) {
      try {
        parts = deid.partsOf(file, helpers);
      } catch (e) {
        if (trapped(e)) throw e; // otherwise deidentifyParsed reports what is wrong with the file
      }
      if (parts > 1) others = askForParts(id, parts);
    }
    let shares = null;
    if (parts > 1) {
      let own;
      try {
        own = deid.detectPartOf(file, 0, parts);
      } catch (e) {
        if (trapped(e)) throw e;
        own = null; // deidentifyParsed runs these jobs (and reports the error, if it is one)
      }
      shares = [own, ...(await others)].filter(Boolean);
    }
    spent = true; // taken by the call, whatever it returns
    return deid.deidentifyParsed(file, shares);
  } finally {
    if (!spent) file.free();
  }
}

// Messages may overlap at awaits (a worker reads its next file while it works on the
// current one); everything else waits for the instance.
let ready = null;

// The compiled core, handed back to the page when it asks (served build: the first worker
// compiles it, the others instantiate the same module).
let compiled = null;

async function initInstance(m) {
  if (!mod) {
    compiled = m.module || (await compileCore());
    if (m.module && m.core) coreBuild = m.core;
    else if (!m.module && hasRelaxedSimd()) coreBuild = "simd128+relaxed-simd";
    mod = initSync({ module: compiled });
  }
  deid?.free();
  deid = new Deidentifier(m.policy || null, m.secret || null, !!m.recordMappings, false);
  if (JSON.parse(deid.policyJson()).pixels.mode === "detect") {
    deid.loadModel(new Uint8Array(m.model || (await modelFromOrigin())));
  }
}

/** Plan the detector for the most common image sizes while the page waits for files (a
 * first image of such a size then starts at once; the first plan also readies the model for
 * every other size). Messages that come meanwhile wait for it. */
async function prepareDetector(before, generation) {
  await before;
  await new Promise((r) => setTimeout(r, 0)); // "ready" is on its way first
  let plans = 0;
  try {
    plans = deid.prepareDetector();
  } catch (e) {
    if (trapped(e)) return self.postMessage({ type: "trap", message: panicMessage(e) });
    // Otherwise the first file that needs the plan reports the error.
  }
  self.postMessage({ type: "prepared", plans, generation });
}

/** The core build this engine runs, fetched from the worker's own origin and compiled. */
async function compileCore() {
  const url = coreUrl();
  try {
    return await WebAssembly.compileStreaming(fetch(url));
  } catch (_) {
    // Served without the application/wasm type: compiled from the bytes instead.
    const r = await fetch(url);
    if (!r.ok) throw new Error("cannot load the de-identification core: HTTP " + r.status);
    return WebAssembly.compile(await r.arrayBuffer());
  }
}

// The served build's model, from the worker's own origin (read once per worker).
let modelBytes = null;
async function modelFromOrigin() {
  if (!modelBytes) {
    const r = await fetch(new URL("det.onnx", self.location.href));
    if (!r.ok) throw new Error("cannot load the text detection model det.onnx: HTTP " + r.status);
    modelBytes = await r.arrayBuffer();
  }
  return modelBytes;
}

self.onmessage = async (ev) => {
  const m = ev.data;
  let id = m.id;
  if (m.type === "shares") {
    awaitingShares.get(id)?.(m.shares);
    awaitingShares.delete(id);
    return;
  }
  try {
    if (m.type !== "init") await ready;
    if (m.type === "init") {
      let done;
      ready = new Promise((r) => (done = r));
      try {
        await initInstance(m);
      } finally {
        done();
      }
      const module = m.shareModule ? compiled : undefined;
      self.postMessage({ type: "ready", defaultPolicy: Deidentifier.defaultPolicy(), core: coreBuild, module });
      if (m.prepare) ready = prepareDetector(ready, m.generation);
    } else if (m.type === "harvest") {
      for (const f of m.files) {
        id = f.id;
        try {
          await harvestOne(f.blob);
        } catch (e) {
          if (trapped(e)) throw e;
          // Not DICOM or unreadable: reported by the second pass.
        }
        self.postMessage({ type: "harvested", id: f.id });
      }
      self.postMessage({ type: "harvestDone" });
    } else if (m.type === "deidentify") {
      const early = { parts: 1, others: null };
      if (m.helpers > 0) {
        early.parts = await partsFromHeader(m.blob, m.helpers);
        if (early.parts > 1) early.others = askForParts(id, early.parts);
      }
      let input;
      try {
        input = new Uint8Array(await m.blob.arrayBuffer());
      } catch (e) {
        if (trapped(e)) throw e;
        self.postMessage({ type: "failed", id, message: "io: cannot read the file: " + (e && e.message ? e.message : e) });
        return;
      }
      let out;
      try {
        out = m.helpers > 0 ? await deidentifyShared(id, input, m.helpers, early) : deid.deidentify(input, null);
      } catch (e) {
        if (trapped(e)) throw e;
        self.postMessage({ type: "failed", id, message: String(e && e.message ? e.message : e) });
        return;
      }
      const bytes = out.bytes;
      const buf =
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
      self.postMessage({ type: "result", id, bytes: buf, report: out.report }, [buf]);
    } else if (m.type === "detectPart") {
      let share = null;
      try {
        share = deid.detectPart(new Uint8Array(await m.blob.arrayBuffer()), m.part, m.parts);
      } catch (e) {
        if (trapped(e)) throw e;
      }
      self.postMessage({ type: "share", id, part: m.part, share });
    } else if (m.type === "mappings") {
      self.postMessage({ type: "mappings", mappings: deid.mappings() });
    } else if (m.type === "preview") {
      const render = async (blob) => {
        try {
          return previewFrame(new Uint8Array(await blob.arrayBuffer()), 0);
        } catch (e) {
          if (trapped(e)) throw e;
          return { error: String(e && e.message ? e.message : e) };
        }
      };
      const before = await render(m.before);
      const after = await render(m.after);
      const bufs = [before, after].filter((x) => x.rgba).map((x) => x.rgba.buffer);
      self.postMessage({ type: "preview", id, before, after }, bufs);
    }
  } catch (e) {
    if (trapped(e)) {
      self.postMessage({ type: "trap", id, message: panicMessage(e) });
    } else if (m.type === "init") {
      self.postMessage({ type: "error", message: String(e && e.message ? e.message : e) });
    } else {
      self.postMessage({ type: "trap", id, message: "worker error: " + String(e && e.message ? e.message : e) });
    }
  }
};
