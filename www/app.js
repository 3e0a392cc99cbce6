// The page: file intake (files, folders, .zip), a pool of workers running the dicom-deid
// core, the two passes (harvest every file in every worker, then de-identify), the list,
// the preview and the downloads. No rule lives here: every decision is the core's.
import { Zip, ZipPassThrough, ZipDeflate, Unzip, UnzipInflate, zipSync, strToU8 } from "fflate";

const $ = (id) => document.getElementById(id);
const INLINE = globalThis.DEID_INLINE || null; // set by the single-file build

// ---------------------------------------------------------------- state
/** @type {{id:number, path:string, blob:Blob, status:string, reason?:string, report?:any, output?:Blob, row?:HTMLTableRowElement}[]} */
const files = [];
let nextId = 1;
let pool = null; // {workers: W[], key: string, cfg, started: Promise (every worker's init)}
let defaultPolicy = null;
let running = false;
let pendingBatch = [];
let currentRun = { cancelled: false }; // one per runBatches(); cancel() marks it
let selectedId = null;
const sessionSecret = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
const FINISHED = new Set(["done", "withheld", "failed", "skipped", "cancelled"]);

// ---------------------------------------------------------------- wasm + workers
let wasmModulePromise = null;
function wasmModule() {
  if (!INLINE) return Promise.resolve(undefined); // served build: each worker loads the .wasm beside it
  if (!wasmModulePromise) {
    const bin = atob(INLINE.wasm);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    wasmModulePromise = WebAssembly.compile(bytes);
  }
  return wasmModulePromise;
}
let servedCore = null; // Promise of {module, core} (or null), from the first served worker
// The single file carries the text detector inline; decoded once, copied to each worker.
let modelBuffer = null;
function inlineModel() {
  if (!INLINE || !INLINE.model) return undefined;
  if (!modelBuffer) {
    const bin = atob(INLINE.model);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    modelBuffer = bytes.buffer;
  }
  return modelBuffer.slice(0);
}
let workerUrl = null;
function newWorkerObject() {
  if (!workerUrl) workerUrl = INLINE ? URL.createObjectURL(new Blob([INLINE.worker], { type: "text/javascript" })) : "worker.js";
  return new Worker(workerUrl);
}

function workerCount() {
  const n = parseInt($("workers").value, 10);
  return Math.max(1, Math.min(64, Number.isFinite(n) ? n : navigator.hardwareConcurrency || 2));
}

/** One worker, promise-based. Requests are keyed (init, harvest, mappings, or the file id
 * for de-identification), so that a worker can hold two files: it reads the next while
 * it de-identifies the current one. */
const replyKey = { ready: "init", error: "init", harvestDone: "harvest", harvested: "harvest", mappings: "mappings", preview: "preview" };
class W {
  /** `prepare`: plan the text detector for common image sizes once ready (idle pools only). */
  constructor(cfg, prepare = false) {
    this.w = newWorkerObject();
    this.reset(cfg, prepare);
    this.pending = new Map(); // key -> {resolve, reject, onHarvested}
    this.dead = false;
    this.w.onmessage = (ev) => this.onMessage(ev.data);
    this.w.onerror = (ev) => {
      ev.preventDefault();
      this.die("worker error: " + (ev.message || "unknown"));
    };
    this.w.onmessageerror = () => this.die("worker message error");
  }
  /** New settings for the next `init` (a new core instance in the same worker: nothing of
   * the old one's files is kept, its text detector's plans are). */
  reset(cfg, prepare = false) {
    this.cfg = cfg;
    this.prepare = prepare;
    this.harvested = new Set();
    this.generation = (this.generation || 0) + 1; // "prepared" of an older init is not counted
    return this;
  }
  async init() {
    const model = inlineModel();
    const init = (core) =>
      this.request("init", { type: "init", ...core, model, prepare: this.prepare, generation: this.generation, ...this.cfg }, undefined, model ? [model] : []);
    const inline = await wasmModule();
    if (inline) return init({ module: inline });
    // Served build: the first worker compiles the core it fetches and hands the module back;
    // every later one (new pools included) instantiates that module: one fetch and one
    // compile of the 24 MB core per page.
    if (servedCore) {
      const core = await servedCore;
      if (core) return init(core);
    }
    let resolve;
    servedCore = new Promise((r) => (resolve = r));
    try {
      const reply = await init({ shareModule: true });
      resolve(reply.module ? { module: reply.module, core: reply.core } : null);
      return reply;
    } catch (e) {
      servedCore = null;
      resolve(null);
      throw e;
    }
  }
  request(key, msg, onHarvested, transfer = []) {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(Object.assign(new Error(this.deathReason || "worker stopped"), { trap: true }));
      this.pending.set(key, { resolve, reject, onHarvested });
      this.w.postMessage(msg, transfer);
    });
  }
  onMessage(m) {
    if (m.type === "trap") return this.die(m.message, m.id);
    if (m.type === "split") return helpWith(this, m);
    if (m.type === "prepared") return m.generation === this.generation && notePrepared(this, m.plans);
    const key = m.type === "share" ? `p${m.id}:${m.part}` : replyKey[m.type] || "d" + m.id;
    const p = this.pending.get(key);
    if (!p) return;
    if (m.type === "harvested") {
      this.harvested.add(m.id);
      p.onHarvested?.(m.id);
      return;
    }
    this.pending.delete(key);
    if (m.type === "error") p.reject(new Error(m.message));
    else p.resolve(m);
  }
  rejectAll(err) {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
  /** The worker trapped or crashed: stop it; `id` is the file it was working on. */
  die(reason, id) {
    if (this.dead) return;
    this.dead = true;
    this.deathReason = reason;
    this.w.terminate();
    this.rejectAll(Object.assign(new Error(reason), { trap: true, id }));
  }
  terminate() {
    this.dead = true;
    this.deathReason = "cancelled";
    this.w.terminate();
    this.rejectAll(Object.assign(new Error("cancelled"), { cancelled: true }));
  }
}

// ---------------------------------------------------------------- settings
function currentPolicy() {
  if (!defaultPolicy) return null;
  const p = JSON.parse(JSON.stringify(defaultPolicy));
  for (const input of $("options").querySelectorAll("input")) p.options[input.name] = input.checked;
  p.date_shift.min_days = parseInt($("min-days").value, 10);
  p.date_shift.max_days = parseInt($("max-days").value, 10);
  p.date_shift.shift_times = $("shift-times").checked;
  p.pixels.mode = $("pixel-mode").value;
  p.pixels.output = $("pixel-output").value;
  p.pixels.keep_jpeg = $("keep-jpeg").checked;
  p.text.languages = [...$("languages").querySelectorAll("input:checked")].map((i) => i.name);
  if (p.text.languages.length === 0) p.text.languages = ["en"];
  return JSON.stringify(p);
}
function currentConfig() {
  const pass = $("passphrase").value;
  return { policy: currentPolicy(), secret: pass || sessionSecret, recordMappings: $("record-mappings").checked };
}

const OPTION_LABELS = {
  retain_safe_private: "Retain Safe Private",
  retain_uids: "Retain UIDs",
  retain_device_identity: "Retain Device Identity",
  retain_institution_identity: "Retain Institution Identity",
  retain_patient_characteristics: "Retain Patient Characteristics",
  retain_longitudinal_full_dates: "Retain Longitudinal Temporal Information, Full Dates",
  retain_longitudinal_modified_dates: "Retain Longitudinal Temporal Information, Modified Dates",
  clean_descriptors: "Clean Descriptors",
  clean_structured_content: "Clean Structured Content",
  clean_graphics: "Clean Graphics",
  clean_recognizable_visual_features: "Clean Recognizable Visual Features (recorded only)",
};
const LANGUAGES = { en: "English", it: "Italian", de: "German", fr: "French", es: "Spanish" };

function fillSettings(policy) {
  const opts = $("options");
  opts.textContent = "";
  for (const [k, v] of Object.entries(policy.options)) {
    const l = document.createElement("label");
    l.className = "opt";
    const i = document.createElement("input");
    i.type = "checkbox";
    i.name = k;
    i.checked = v;
    i.addEventListener("change", () => {
      // The two longitudinal options exclude each other (the core rejects both).
      if (i.checked && k === "retain_longitudinal_full_dates") opts.querySelector('[name="retain_longitudinal_modified_dates"]').checked = false;
      if (i.checked && k === "retain_longitudinal_modified_dates") opts.querySelector('[name="retain_longitudinal_full_dates"]').checked = false;
    });
    l.append(i, " " + (OPTION_LABELS[k] || k));
    opts.append(l);
  }
  $("min-days").value = policy.date_shift.min_days;
  $("max-days").value = policy.date_shift.max_days;
  $("shift-times").checked = policy.date_shift.shift_times;
  $("pixel-mode").value = policy.pixels.mode;
  $("pixel-output").value = policy.pixels.output;
  $("keep-jpeg").checked = policy.pixels.keep_jpeg;
  const langs = $("languages");
  langs.textContent = "";
  const on = policy.text.languages.length ? policy.text.languages : Object.keys(LANGUAGES);
  for (const [k, name] of Object.entries(LANGUAGES)) {
    const l = document.createElement("label");
    l.style.marginRight = "1rem";
    const i = document.createElement("input");
    i.type = "checkbox";
    i.name = k;
    i.checked = on.includes(k);
    l.append(i, " " + name);
    langs.append(l);
  }
}

function loadRemembered() {
  try {
    const p = localStorage.getItem("dicom-deid-passphrase");
    if (p) {
      $("passphrase").value = p;
      $("remember").checked = true;
    }
  } catch (_) {
    /* storage unavailable (file://, private mode) */
  }
}
function saveRemembered() {
  try {
    if ($("remember").checked && $("passphrase").value) localStorage.setItem("dicom-deid-passphrase", $("passphrase").value);
    else localStorage.removeItem("dicom-deid-passphrase");
  } catch (_) {
    /* ignore */
  }
}

// ---------------------------------------------------------------- pool
function poolKey(cfg) {
  return JSON.stringify(cfg) + "|" + workerCount();
}
/** The pool for the current settings (built when they changed). `prepare`: the pool is
 * built ahead of any file, so its workers spend the wait planning the detector. */
async function ensurePool(prepare = false) {
  const cfg = currentConfig();
  const key = poolKey(cfg);
  if (pool && pool.key === key) {
    const p = pool;
    await p.started;
    for (const w of p.workers.filter((w) => w.dead)) await (w.replacing ||= replaceWorker(p, w));
    return p;
  }
  // The old pool's live and idle workers take the new settings in place: they keep the
  // compiled core and the text detector with its plans (a new worker would plan again).
  const n = workerCount();
  const kept = pool ? pool.workers.filter((w) => !w.dead && !w.pending.size).slice(0, n) : [];
  if (pool) pool.workers.filter((w) => !kept.includes(w)).forEach((w) => w.terminate());
  const workers = [...kept.map((w) => w.reset(cfg, prepare)), ...Array.from({ length: n - kept.length }, () => new W(cfg, prepare))];
  const p = (pool = { key, cfg, workers, started: Promise.all(workers.map((w) => w.init())) });
  // For the tests and the benchmark: pools made, workers kept, plans (no file data).
  const d = document.documentElement.dataset;
  Object.assign(d, { pools: Number(d.pools || 0) + 1, keptWorkers: kept.length, preparedPlans: 0 });
  await p.started;
  return p;
}

/** While no batch runs (the page waits for files), the pool for the current settings is
 * built now rather than when files arrive; its errors are reported by the next batch. */
let idlePoolTimer = 0;
function prepareIdlePool() {
  clearTimeout(idlePoolTimer);
  idlePoolTimer = setTimeout(() => {
    if (!running && defaultPolicy) ensurePool(true).catch(() => {});
  }, 500);
}

/** For the tests and the benchmark: how many detector plans the current pool's workers
 * made ahead of any file. */
function notePrepared(w, plans) {
  if (!pool || !pool.workers.includes(w)) return;
  pool.preparedPlans = (pool.preparedPlans || 0) + (plans || 0);
  document.documentElement.dataset.preparedPlans = pool.preparedPlans;
}

/** Worker `from` asks for parts 1..parts-1 of the detection of file `id` (a clip, when the
 * queue is empty): the other live workers make them after what they already hold, and it
 * always gets an answer (a part that did not come back, it runs itself). */
async function helpWith(from, { id, parts }) {
  let shares = [];
  try {
    const f = files.find((x) => x.id === id);
    const helpers = f && pool ? pool.workers.filter((w) => w !== from && !w.dead).slice(0, parts - 1) : [];
    const ask = (w, part) => w.request(`p${id}:${part}`, { type: "detectPart", id, blob: f.blob, part, parts });
    shares = await Promise.all(helpers.map((w, i) => ask(w, i + 1).then((m) => m.share, () => null)));
    // For the tests and the benchmark: how many files were shared out (no file data).
    const d = document.documentElement.dataset;
    if (helpers.length) d.splitFiles = Number(d.splitFiles || 0) + 1;
  } finally {
    if (!from.dead) from.w.postMessage({ type: "shares", id, shares: shares.filter(Boolean) });
  }
}

/** A fresh worker for a dead one; it joins the pool only once it has harvested every file. */
async function replaceWorker(p, dead) {
  const w = new W(p.cfg);
  await w.init();
  await harvestAll(w);
  const i = p.workers.indexOf(dead);
  if (i >= 0) p.workers[i] = w;
  else w.terminate(); // the pool was cancelled or rebuilt meanwhile
  return w;
}

/** Every file of the list not yet harvested by this worker. */
function harvestAll(w, onOne) {
  const todo = files.filter((f) => !w.harvested.has(f.id) && f.status !== "skipped").map((f) => ({ id: f.id, blob: f.blob }));
  if (!todo.length) return Promise.resolve();
  return w.request("harvest", { type: "harvest", files: todo }, onOne);
}

// ---------------------------------------------------------------- batches
function setStatus(text) {
  $("status").textContent = text;
}
function updateCounts() {
  const by = {};
  for (const f of files) by[f.status] = (by[f.status] || 0) + 1;
  const fin = files.filter((f) => FINISHED.has(f.status)).length;
  $("progress").max = Math.max(1, files.length);
  $("progress").value = fin;
  $("counts").textContent = files.length
    ? `${fin}/${files.length} finished` + ["done", "withheld", "failed", "skipped", "cancelled"].filter((s) => by[s]).map((s) => ` · ${by[s]} ${s}`).join("")
    : "";
  const anyOut = files.some((f) => f.output);
  $("download-all").disabled = running || !anyOut;
  $("clear").disabled = running || !files.length;
  $("cancel").disabled = !running;
}

function setFileStatus(f, status, reason) {
  f.status = status;
  f.reason = reason;
  const cell = f.row.cells[1];
  cell.className = "st-" + status;
  cell.textContent = reason ? `${status}: ${reason}` : status;
  if (f.output && !f.row.cells[2].firstChild) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "Save";
    b.setAttribute("aria-label", "Save " + f.path);
    b.addEventListener("click", (e) => {
      e.stopPropagation();
      downloadBlob(f.output, f.path.split("/").pop());
    });
    f.row.cells[2].append(b);
  }
  if (selectedId === f.id) showPreview(f);
}

function addFiles(list) {
  const tbody = $("files").tBodies[0];
  const taken = new Set(files.map((f) => f.path));
  for (const { path, blob } of list) {
    let p = path.replace(/^\/+/, "");
    for (let n = 2; taken.has(p); n++) p = path.replace(/(\.[^./]*)?$/, (ext) => `~${n}${ext || ""}`);
    taken.add(p);
    const f = { id: nextId++, path: p, blob, status: "queued" };
    const tr = document.createElement("tr");
    tr.tabIndex = 0;
    tr.setAttribute("aria-selected", "false");
    const name = document.createElement("td");
    name.className = "name";
    name.textContent = p;
    tr.append(name, document.createElement("td"), document.createElement("td"));
    tr.addEventListener("click", () => select(f));
    tr.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        select(f);
      }
    });
    f.row = tr;
    tbody.append(tr);
    files.push(f);
    setFileStatus(f, "queued");
    pendingBatch.push(f);
  }
  updateCounts();
  if (!running && pendingBatch.length) runBatches();
}

async function runBatches() {
  running = true;
  const run = (currentRun = { cancelled: false });
  updateCounts();
  saveRemembered();
  try {
    while (pendingBatch.length && !run.cancelled) {
      const batch = pendingBatch;
      pendingBatch = [];
      await runBatch(batch, run);
    }
  } catch (e) {
    if (run.cancelled) return; // cancel() has reset the state (a new run may own it now)
    setStatus("Error: " + e.message);
    running = false;
    updateCounts();
    return;
  }
  if (run.cancelled) return;
  running = false;
  updateCounts();
  const ok = files.every((f) => FINISHED.has(f.status));
  setStatus(ok ? "Done" : "Stopped");
  $("download-mappings").hidden = !(pool && pool.cfg.recordMappings && files.some((f) => f.output));
  $("download-all").focus({ preventScroll: true });
}

async function runBatch(batch, run) {
  setStatus("Starting workers…");
  const p = await ensurePool();
  // Pass 1: every worker reads every file's identifiers (each has its own vocabulary).
  const total = p.workers.length * files.filter((f) => f.status !== "skipped").length;
  let seen = p.workers.reduce((n, w) => n + w.harvested.size, 0);
  setStatus(`Reading identifiers… 0%`);
  const t0 = performance.now();
  for (const f of batch) setFileStatus(f, "queued", "reading identifiers");
  await Promise.all(
    p.workers.map((w) =>
      harvestAll(w, () => {
        seen++;
        setStatus(`Reading identifiers… ${Math.floor((100 * seen) / Math.max(1, total))}%`);
      }).catch((e) => {
        if (e.cancelled) return;
        if (e.trap) return (w.replacing ||= replaceWorker(p, w)); // harvest trapped: a fresh worker retries
        throw e;
      }),
    ),
  );
  if (run.cancelled) return;
  for (const f of batch) if (f.status === "queued") setFileStatus(f, "queued");
  const t1 = performance.now();
  // Pass 2: de-identify, one file per worker at a time.
  const queue = batch.filter((f) => f.status === "queued");
  let done = 0;
  setStatus(`Working… 0/${queue.length}`);
  // Two lanes per worker: it reads the next file while it de-identifies the current one.
  const LANES = 2;
  const loop = async (lane) => {
    const slot = Math.floor(lane / LANES);
    while (queue.length && !run.cancelled) {
      let w = p.workers[slot];
      if (w.dead) {
        if (!w.replacing) w.replacing = replaceWorker(p, w);
        w = await w.replacing;
        if (!queue.length || run.cancelled) break;
      }
      const f = queue.shift();
      setFileStatus(f, "working");
      try {
        // With nothing left to queue, the other workers may take part in this file's detection.
        const helpers = queue.length ? 0 : p.workers.length - 1;
        const m = await w.request("d" + f.id, { type: "deidentify", id: f.id, blob: f.blob, helpers });
        if (m.type === "result") {
          f.output = new Blob([m.bytes], { type: "application/dicom" });
          f.report = m.report;
          setFileStatus(f, "done");
        } else {
          const [kind] = m.message.split(":", 1);
          const status = kind === "verification" ? "withheld" : kind === "not_dicom" ? "skipped" : "failed";
          setFileStatus(f, status, m.message);
        }
      } catch (e) {
        if (e.cancelled || run.cancelled) {
          setFileStatus(f, "cancelled");
          return;
        }
        if (e.trap && e.id !== undefined && e.id !== f.id && !f.retried) {
          // The worker trapped on the other file it held: this one goes back in the queue.
          f.retried = true;
          setFileStatus(f, "queued");
          queue.unshift(f);
          continue;
        }
        setFileStatus(f, "failed", e.message); // the worker trapped: it is replaced on the next turn
      }
      done++;
      setStatus(`Working… ${done}/${queue.length + done}`);
      updateCounts();
    }
  };
  await Promise.all(Array.from({ length: p.workers.length * LANES }, (_, i) => loop(i)));
  // Timings of the last batch (for the benchmark; no file data).
  Object.assign(document.documentElement.dataset, { harvestMs: Math.round(t1 - t0), deidentifyMs: Math.round(performance.now() - t1) });
}

function cancel() {
  if (!running) return;
  currentRun.cancelled = true;
  if (pool) pool.workers.forEach((w) => w.terminate());
  pool = null;
  for (const f of files) if (!FINISHED.has(f.status)) setFileStatus(f, "cancelled");
  pendingBatch = [];
  running = false;
  setStatus("Cancelled");
  updateCounts();
  prepareIdlePool();
}

// ---------------------------------------------------------------- intake
async function expandZip(path, blob, out) {
  const base = path.replace(/\.zip$/i, "");
  const entries = [];
  const uz = new Unzip((entry) => {
    if (entry.name.endsWith("/")) return;
    const chunks = [];
    entries.push(
      new Promise((resolve, reject) => {
        entry.ondata = (err, dat, final) => {
          if (err) return reject(err);
          chunks.push(dat);
          if (final) {
            out.push({ path: base + "/" + entry.name, blob: new Blob(chunks) });
            resolve();
          }
        };
      }),
    );
    entry.start();
  });
  uz.register(UnzipInflate);
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    uz.push(value, false);
  }
  uz.push(new Uint8Array(0), true);
  await Promise.all(entries);
}

async function intake(list) {
  setStatus("Reading…");
  const out = [];
  for (const { path, blob } of list) {
    if (/\.zip$/i.test(path)) {
      try {
        await expandZip(path, blob, out);
      } catch (e) {
        out.push({ path, blob, zipError: e.message });
      }
    } else out.push({ path, blob });
  }
  addFiles(out);
}

function fromFileList(fl) {
  return [...fl].map((f) => ({ path: f.webkitRelativePath || f.name, blob: f }));
}

async function fromDataTransfer(dt) {
  const items = [...dt.items].filter((i) => i.kind === "file");
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  if (entries.some((e) => !e)) return fromFileList(dt.files);
  const out = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ path: entry.fullPath.replace(/^\//, ""), blob: file });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  for (const e of entries) await walk(e);
  return out;
}

// ---------------------------------------------------------------- preview
function select(f) {
  selectedId = f.id;
  for (const r of $("files").tBodies[0].rows) r.setAttribute("aria-selected", r === f.row ? "true" : "false");
  showPreview(f);
}
function showPreview(f) {
  const note = $("preview-note");
  const wrap = $("preview-wrap");
  const tbody = $("changes").tBodies[0];
  tbody.textContent = "";
  if (!f.report) {
    note.textContent = `${f.path}: ${f.status}${f.reason ? " (" + f.reason + ")" : ""}.`;
    wrap.hidden = true;
    return;
  }
  const r = f.report;
  const px = r.pixels;
  const pixNote = !px
    ? ""
    : px.kept_because
      ? ` Pixels kept: ${px.kept_because}.`
      : ` Pixels: ${px.boxes.length} box(es) masked on ${px.frames} frame(s), detector run on ${px.frames_detected}.`;
  const repairNote = r.input_repairs ? ` Read after repair: ${r.input_repairs.join("; ")}.` : "";
  note.textContent = `${f.path}: ${r.elements.length} elements changed; patient ${r.patient}; verified ${r.verification.values_checked} values against ${r.verification.vocabulary_entries} identifiers.${pixNote}${repairNote}`;
  showPixels(f);
  for (const e of r.elements) {
    const tr = document.createElement("tr");
    const cells = [`${e.path} ${e.tag}`, e.vr, e.action, `${e.source}: ${e.rule}` + (e.findings ? ` (found: ${e.findings.map((x) => x.kind).join(", ")})` : "")];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.append(td);
    }
    tbody.append(tr);
  }
  wrap.hidden = false;
}

/** Before/after of the first frame, the masked boxes drawn on "before"; rendered by a
 * worker (the core decodes both files). */
async function showPixels(f) {
  const box = $("pixel-preview");
  box.hidden = true;
  const px = f.report && f.report.pixels;
  const w = pool && pool.workers.find((w) => !w.dead);
  if (!px || px.kept_because || !w || !f.output) return;
  let m;
  try {
    m = await w.request("preview", { type: "preview", id: f.id, before: f.blob, after: f.output });
  } catch (_) {
    return; // the worker went away (cancel, clear): no preview
  }
  if (selectedId !== f.id) return;
  const draw = (canvas, img, boxes) => {
    if (!img || img.error) {
      canvas.hidden = true;
      return;
    }
    canvas.hidden = false;
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    ctx.putImageData(new ImageData(new Uint8ClampedArray(img.rgba.buffer || img.rgba), img.width, img.height), 0, 0);
    ctx.strokeStyle = "#ff2020";
    ctx.lineWidth = Math.max(1, Math.round(img.width / 400));
    for (const b of boxes) ctx.strokeRect(b.x0 + 0.5, b.y0 + 0.5, b.x1 - b.x0 - 1, b.y1 - b.y0 - 1);
  };
  const first = px.boxes.filter((b) => b.frame === 0);
  draw($("before-canvas"), m.before, first);
  draw($("after-canvas"), m.after, []);
  $("pixel-caption").textContent = `Frame 1 of ${px.frames}: ${first.length} masked box(es) outlined in red.`;
  box.hidden = false;
}

// ---------------------------------------------------------------- downloads
function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The ZIP, streamed with fflate's Zip: each output is read once to checksum it, and the
 * archive Blob references the outputs' Blobs instead of copying their bytes. */
async function downloadAll() {
  const parts = [];
  let pushed = null;
  let pushedBlob = null;
  let failure = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else parts.push(chunk === pushed ? pushedBlob : chunk);
  });
  $("download-all").disabled = true;
  try {
    for (const f of files) {
      if (!f.output) continue;
      const entry = new ZipPassThrough(f.path);
      zip.add(entry);
      pushed = new Uint8Array(await f.output.arrayBuffer());
      pushedBlob = f.output;
      entry.push(pushed, true);
      pushed = pushedBlob = null;
      if (failure) throw failure;
    }
    const report = files.map((f) => ({ file: f.path, status: f.status, ...(f.reason ? { reason: f.reason } : {}), ...(f.report ? { report: f.report } : {}) }));
    const r = new ZipDeflate("report.json", { level: 6 });
    zip.add(r);
    r.push(strToU8(JSON.stringify(report, null, 1)), true);
    zip.end();
    if (failure) throw failure;
    downloadBlob(new Blob(parts, { type: "application/zip" }), "dicom-deid-output.zip");
  } catch (e) {
    setStatus("Error: cannot build the ZIP: " + (e.message || e));
  } finally {
    updateCounts();
  }
}

async function downloadMappings() {
  if (!pool) return;
  const ok = confirm(
    "The mapping tables link every new UID and pseudonym to the original one: anyone who has them can re-identify the files. Download them?",
  );
  if (!ok) return;
  const uids = new Map();
  const ids = new Map();
  for (const w of pool.workers) {
    if (w.dead) continue;
    const m = (await w.request("mappings", { type: "mappings" })).mappings;
    if (!m) continue;
    for (const [k, v] of Object.entries(m.uids)) uids.set(k, v);
    for (const [k, v] of Object.entries(m.patientIds)) ids.set(k, v);
  }
  const csv = (map) => "id_old,id_new\n" + [...map].sort().map(([a, b]) => `${a},${b}`).join("\n") + "\n";
  const z = zipSync({ "uid_mapping.csv": strToU8(csv(uids)), "patient_id_mapping.csv": strToU8(csv(ids)) });
  downloadBlob(new Blob([z], { type: "application/zip" }), "dicom-deid-mappings.zip");
}

function clearList() {
  if (running) return;
  files.length = 0;
  $("files").tBodies[0].textContent = "";
  selectedId = null;
  $("changes").tBodies[0].textContent = "";
  $("preview-wrap").hidden = true;
  $("pixel-preview").hidden = true;
  $("preview-note").textContent = "No file selected.";
  // The workers forget the old vocabulary with their core instance: the next pool gives
  // them new ones (and keeps their detector plans).
  if (pool) pool.key = null;
  $("download-mappings").hidden = true;
  setStatus("Ready");
  updateCounts();
  prepareIdlePool();
}

// ---------------------------------------------------------------- wiring
function wire() {
  $("file-input").addEventListener("change", (e) => {
    const list = fromFileList(e.target.files);
    e.target.value = "";
    intake(list);
  });
  $("folder-input").addEventListener("change", (e) => {
    const list = fromFileList(e.target.files);
    e.target.value = "";
    intake(list);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    intake(await fromDataTransfer(e.dataTransfer));
  });
  // A file dropped outside the zone must not navigate away (and show the file).
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  $("cancel").addEventListener("click", cancel);
  $("download-all").addEventListener("click", downloadAll);
  $("download-mappings").addEventListener("click", downloadMappings);
  $("clear").addEventListener("click", clearList);
  $("remember").addEventListener("change", saveRemembered);
  $("settings").addEventListener("change", prepareIdlePool);
  $("sample").addEventListener("click", loadSample);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && running) cancel();
  });
}

async function loadSample() {
  // The single-file and served builds embed a small synthetic study (fake PHI) made by
  // the project's own code (tools/make-sample) as base64 in DEID_SAMPLE.
  const b64 = globalThis.DEID_SAMPLE;
  if (!b64 || running) return;
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  intake([{ path: "sample.zip", blob: new Blob([bytes]) }]);
}

async function boot() {
  const t0 = performance.now();
  $("workers").value = navigator.hardwareConcurrency || 2;
  $("sample").hidden = !globalThis.DEID_SAMPLE;
  wire();
  loadRemembered();
  try {
    // Start the pool with the core's default policy, then fill the settings form from it.
    const cfg = { policy: null, secret: $("passphrase").value || sessionSecret, recordMappings: false };
    // The page waits for files now: these workers plan the detector meanwhile.
    const workers = Array.from({ length: workerCount() }, () => new W(cfg, true));
    const started = Promise.all(workers.map((w) => w.init()));
    const ready = await started;
    defaultPolicy = JSON.parse(ready[0].defaultPolicy);
    fillSettings(defaultPolicy);
    pool = { key: poolKey(currentConfig()), cfg, workers, started };
    document.documentElement.dataset.readyMs = String(Math.round(performance.now() - t0));
    document.documentElement.dataset.coreBuild = ready[0].core;
    setStatus("Ready");
  } catch (e) {
    setStatus("Error: cannot start the de-identifier: " + e.message);
    return;
  }
  updateCounts();
}

boot();
