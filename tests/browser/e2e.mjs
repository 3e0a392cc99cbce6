#!/usr/bin/env node
// End to end in headless Chromium (Debian's /usr/bin/chromium through playwright-core):
// the built page, served from dist/ on 127.0.0.1 and opened as the single file from
// file://, de-identifies the evaluation corpus loaded through the file input; the ZIP it
// downloads is scored with ../shared/eval/score.py and checked like the CLI's outputs
// (tests/e2e/check_corpus.py). Fails on any console error, and on any request that does
// not go to the page's own origin (none at all for file://).
//
//   node tests/browser/e2e.mjs            # needs dist/ (npm run build)
// Environment: CORPUS_DIR (default /tmp/corpus, generated if missing), WORK_DIR,
// SHARED (../shared), EVAL_VENV (/tmp/evalenv), CHROMIUM (/usr/bin/chromium),
// BROWSER_MODES (sample,settings,recovery,split,served,file), SCREENSHOT (docs/screenshots/finished.png).
import { chromium } from "playwright-core";
import { unzipSync, zipSync } from "fflate";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { serve } from "../../tools/serve.mjs";
import { CORPUS, PASSPHRASE, SHARED, TIMEOUT, VENV, check, checkOutputZip, corpusInputs, finish, foreignRequests, modes, workDir } from "./shared.mjs";

const WORK = workDir("deid-browser-");
const MODES = modes("sample,settings,recovery,split,served,file");
const SCREENSHOT = process.env.SCREENSHOT || "docs/screenshots/finished.png";

if (!fs.existsSync(path.join("dist", "index.html")) || !fs.existsSync(path.join("dist", "dicom-deid.html"))) {
  check("dist/ is built (npm run build)", false);
  finish("browser");
}
if (!fs.existsSync(path.join(CORPUS, "manifest.json"))) {
  console.log(`generating the corpus in ${CORPUS}`);
  execFileSync(path.join(VENV, "bin/python"), [path.join(SHARED, "eval/make_corpus.py"), "--out", CORPUS], { stdio: "inherit" });
}
const inputs = corpusInputs();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
  ],
});

async function runMode(mode) {
  const label = mode === "served" ? "served page" : "single file (file://)";
  let server = null;
  let url;
  if (mode === "served") {
    server = await serve("dist", 0);
    url = `http://127.0.0.1:${server.address().port}/`;
  } else {
    url = pathToFileURL(path.resolve("dist/dicom-deid.html")).href;
  }
  const origin = mode === "served" ? new URL(url).origin : null;
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const requests = [];
  const errors = [];
  context.on("request", (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  page.on("worker", (w) => requests.push(w.url()));
  try {
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Ready", null, { timeout: 120000 });
    const readyMs = await page.evaluate(() => Number(document.documentElement.dataset.readyMs));
    const workers = await page.evaluate(() => Number(document.getElementById("workers").value));
    console.log(`${label}: ready in ${readyMs} ms after load (${Date.now() - t0} ms from navigation), ${workers} workers`);
    // Chromium has relaxed SIMD: the served page's workers load that build; the single
    // file carries the baseline build only.
    const core = await page.evaluate(() => document.documentElement.dataset.coreBuild);
    const wantCore = mode === "served" ? "simd128+relaxed-simd" : "simd128";
    check(`${label}: core build ${core}`, core === wantCore, `expected ${wantCore}`);

    // While the page waits for files, its workers plan the detector for the common image
    // sizes (two, COMMON_IMAGE_SIZES in src/detect). A settings change makes a new pool of the
    // same workers (new core instances), which keep those plans (the page counts the current
    // pool's plans).
    const preparedPlans = (n) =>
      page
        .waitForFunction((n) => Number(document.documentElement.dataset.preparedPlans || 0) >= n, n, { timeout: 120000 })
        .then(() => true, () => false);
    check(`${label}: idle workers planned the detector`, await preparedPlans(2 * workers));
    await page.$eval("#settings", (d) => (d.open = true));
    await page.fill("#passphrase", PASSPHRASE);
    const pools = await page.evaluate(() => Number(document.documentElement.dataset.pools || 0));
    await page.dispatchEvent("#passphrase", "change"); // as when the user leaves the field
    await page.waitForFunction((p) => Number(document.documentElement.dataset.pools || 0) > p, pools, { timeout: 10000 }); // the new pool
    const kept = await page.evaluate(() => document.documentElement.dataset.keptWorkers);
    check(`${label}: the new settings' pool kept the idle workers`, kept === String(workers), `kept ${kept} of ${workers}`);
    check(`${label}: the new settings' idle pool has the detector planned`, await preparedPlans(2 * workers));
    const t1 = Date.now();
    await page.setInputFiles('[data-testid="file-input"]', inputs);
    await page.waitForFunction(
      () => {
        const s = document.querySelector('[data-testid="status"]')?.textContent || "";
        return s === "Done" || s.startsWith("Error") || s === "Cancelled";
      },
      null,
      { timeout: TIMEOUT, polling: 250 },
    );
    const wallMs = Date.now() - t1;
    const status = await page.textContent('[data-testid="status"]');
    check(`${label}: status reads Done`, status === "Done", status);
    const counts = await page.textContent("#counts");
    const phases = await page.evaluate(() => ({ ...document.documentElement.dataset }));
    console.log(`${label}: ${inputs.length} files in ${(wallMs / 1000).toFixed(1)} s (${((inputs.length * 1000) / wallMs).toFixed(1)} files/s; harvest pass ${phases.harvestMs} ms, de-identification pass ${phases.deidentifyMs} ms): ${counts}`);

    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 600000 }), page.click('[data-testid="download-all"]')]);
    const zipPath = path.join(WORK, `${mode}.zip`);
    await download.saveAs(zipPath);
    checkOutputZip({ zipBytes: new Uint8Array(fs.readFileSync(zipPath)), inputs, mode, label, work: WORK });
    if (mode === "served") {
      // The first worker compiles the core and the page hands the module to the others, the
      // new pool's included (the passphrase changed): one fetch of a .wasm in the whole run.
      const fetched = requests.filter((u) => u.split("?")[0].endsWith(".wasm")).length;
      check(`${label}: the core fetched and compiled once for every worker`, fetched === 1, `${fetched} requests for a .wasm`);
      // The finished page, with the first file's header changes in the preview.
      await page.click("#files tbody tr");
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: false });
    }

    return { readyMs, wallMs, harvestMs: Number(phases.harvestMs), deidentifyMs: Number(phases.deidentifyMs) };
  } catch (e) {
    check(`${label}: ran to the end`, false, e.message);
    return null;
  } finally {
    const foreign = foreignRequests(requests, mode, origin, url);
    check(`${label}: no request beyond the page's origin`, foreign.length === 0, `${requests.length} recorded (${[...new Set(requests.map((u) => (u.startsWith("blob:") ? "blob:" : u.split("?")[0])))].join(", ")})` + (foreign.length ? `; foreign: ${[...new Set(foreign)].slice(0, 5).join(", ")}` : ""));
    check(`${label}: no console error`, errors.length === 0, errors.slice(0, 5).join(" | "));
    await context.close();
    server?.close();
  }
}

/** Runs a scenario's `body`, then records whether it ran to the end and whether its pages
 * logged a console error, and closes its browser context and server. */
async function scenario(label, { context, server, errors }, body) {
  try {
    await body();
  } catch (e) {
    check(`${label}: ran to the end`, false, e.message);
  } finally {
    check(`${label}: no console error`, errors.length === 0, errors.slice(0, 5).join(" | "));
    await context.close();
    server.close();
  }
}

/** The "Try a sample" button, the preview, and the empty page's screenshot. */
async function runSample() {
  const label = "sample study";
  const server = await serve("dist", 0);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  await scenario(label, { context, server, errors }, async () => {
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Ready", null, { timeout: 120000 });
    await page.screenshot({ path: path.join(path.dirname(SCREENSHOT), "empty.png") });
    // Keyboard only: Tab to the sample button and press Enter.
    await page.focus("#sample");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Done", null, { timeout: 120000 });
    const statuses = await page.$$eval("#files tbody tr td:nth-child(2)", (tds) => tds.map((t) => t.textContent));
    check(`${label}: every file done`, statuses.length > 0 && statuses.every((t) => t === "done"), statuses.join(", "));
    await page.focus("#files tbody tr");
    await page.keyboard.press("Enter");
    const rows = await page.$$eval("#changes tbody tr", (trs) => trs.length);
    const text = await page.textContent("#changes");
    check(`${label}: preview lists the header changes`, rows > 10 && /PatientName/.test(text), `${rows} rows`);
    check(`${label}: the preview shows no PHI`, !/Testperson|Quentin|555-0142/.test(await page.textContent("body")));
    // The sample's first image carries burned-in text: before/after with the boxes drawn.
    const shown = await page.waitForSelector("#pixel-preview:not([hidden])", { timeout: 60000 }).then(() => true, () => false);
    const caption = shown ? await page.textContent("#pixel-caption") : "";
    check(`${label}: the preview shows the image before and after with the masked boxes`, shown && /[1-9]\d* masked box/.test(caption), caption);
    await page.screenshot({ path: path.join(path.dirname(SCREENSHOT), "sample-preview.png") });
    // Drag and drop of a .zip (built from corpus files) onto the drop zone.
    const names = inputs.slice(0, 3).map((f) => path.basename(f));
    const zipped = Buffer.from(zipSync(Object.fromEntries(inputs.slice(0, 3).map((f) => ["in/" + path.basename(f), fs.readFileSync(f)])))).toString("base64");
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], "dropped.zip", { type: "application/zip" }));
      document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, zipped);
    await page.waitForFunction((n) => document.querySelectorAll("#files tbody tr").length === n, 3 + names.length, { timeout: 60000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Done", null, { timeout: 120000 });
    const dropped = await page.$$eval("#files tbody tr", (trs) => trs.slice(3).map((tr) => tr.cells[0].textContent + " " + tr.cells[1].textContent));
    check(`${label}: a dropped .zip is expanded and processed`, dropped.length === names.length && dropped.every((t, i) => t === `dropped/in/${names[i]} done`), dropped.join(", "));
  });
}

/** A file that cannot be read is reported failed; a worker whose core traps (simulated:
 * the next read of one file throws WebAssembly.RuntimeError inside the worker, which is
 * what a Rust panic looks like from JavaScript) is replaced, its file is reported failed,
 * and the batch still finishes with the same number of workers. */
async function runRecovery() {
  const label = "recovery";
  const dir = fs.mkdtempSync(path.join(WORK, "recovery-"));
  const bySize = new Map();
  for (const f of inputs) bySize.set(fs.statSync(f).size, (bySize.get(fs.statSync(f).size) || []).concat(f));
  const unique = inputs.filter((f) => bySize.get(fs.statSync(f).size).length === 1);
  const target = unique[0];
  const picked = [target, ...inputs.filter((f) => f !== target).slice(0, 6)].map((f) => {
    const dest = path.join(dir, path.basename(f));
    fs.copyFileSync(f, dest);
    return dest;
  });
  const gone = path.join(dir, "zz-vanishes.dcm");
  fs.copyFileSync(inputs.find((f) => fs.statSync(f).size !== fs.statSync(target).size), gone);
  const server = await serve("dist", 0);
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Ready", null, { timeout: 120000 });
    const before = page.workers().length;
    const size = fs.statSync(target).size;
    for (const w of page.workers()) {
      await w.evaluate((size) => {
        let reads = 0;
        const orig = Blob.prototype.arrayBuffer;
        Blob.prototype.arrayBuffer = function () {
          // 1st read: the harvest; 2nd: de-identification (only in the worker that gets it).
          if (this.size === size && ++reads === 2) return Promise.reject(new WebAssembly.RuntimeError("unreachable (simulated)"));
          return orig.call(this);
        };
      }, size);
    }
    await page.setInputFiles('[data-testid="file-input"]', [...picked, gone]);
    fs.rmSync(gone);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Done", null, { timeout: 120000 });
    const statuses = Object.fromEntries(await page.$$eval("#files tbody tr", (trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])));
    const t = path.basename(target);
    check(`${label}: an unreadable file is reported failed`, /^failed: io: /.test(statuses["zz-vanishes.dcm"]), statuses["zz-vanishes.dcm"]);
    check(`${label}: a trapped worker's file is reported failed`, /^failed: internal error/.test(statuses[t]), statuses[t]);
    const others = Object.entries(statuses).filter(([n]) => n !== t && n !== "zz-vanishes.dcm");
    check(`${label}: the other files are done`, others.every(([, s]) => s === "done"), others.map((s) => s[1]).join(", "));
    // The trapped worker was replaced: the same file goes through on a second try.
    await page.setInputFiles('[data-testid="file-input"]', [target]);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Done", null, { timeout: 120000 });
    const again = await page.$$eval("#files tbody tr", (trs) => trs[trs.length - 1].cells[1].textContent);
    check(`${label}: the pool works after the trap`, again === "done" && page.workers().length === before, `${again}, ${page.workers().length}/${before} workers`);
  } catch (e) {
    const state = await page.$$eval("#files tbody tr", (trs) => trs.map((tr) => tr.cells[1].textContent).join(", ")).catch(() => "");
    check(`${label}: ran to the end`, false, `${e.message} (status ${await page.textContent('[data-testid="status"]').catch(() => "?")}; ${state})`);
  } finally {
    await context.close();
    server.close();
  }
}

/** Settings reach the core: the passphrase makes pseudonyms repeatable across page loads
 * (and is not stored unless asked); mapping tables only on request, after a warning;
 * cancel stops a batch and the page stays usable. */
async function runSettings() {
  const label = "settings";
  const server = await serve("dist", 0);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const context = await browser.newContext({ acceptDownloads: true });
  const errors = [];
  const ready = (page) => page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Ready", null, { timeout: 120000 });
  const done = (page) => page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Done", null, { timeout: 120000 });
  const pseudonym = async (passphrase, mappings = false) => {
    const page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(url);
    await ready(page);
    await page.click("#settings summary");
    if (passphrase) await page.fill("#passphrase", passphrase);
    if (mappings) await page.check("#record-mappings");
    await page.click("#sample");
    await done(page);
    await page.click("#files tbody tr");
    const note = await page.textContent("#preview-note");
    return { page, patient: (note.match(/patient (\S+);/) || [])[1] };
  };
  await scenario(label, { context, server, errors }, async () => {
    const a = await pseudonym("correct horse battery staple");
    const b = await pseudonym("correct horse battery staple", true);
    const c = await pseudonym("");
    check(`${label}: same passphrase, same pseudonym across page loads`, a.patient && a.patient === b.patient, `${a.patient} ${b.patient}`);
    check(`${label}: no passphrase, another pseudonym`, c.patient && c.patient !== a.patient, c.patient);
    const stored = await a.page.evaluate(() => localStorage.getItem("dicom-deid-passphrase"));
    check(`${label}: the passphrase is not stored unless asked`, stored === null);
    check(`${label}: no mapping tables unless asked`, await a.page.isHidden("#download-mappings"));
    let warned = false;
    b.page.on("dialog", (d) => {
      warned = /re-identify/.test(d.message());
      d.accept();
    });
    const [dl] = await Promise.all([b.page.waitForEvent("download"), b.page.click("#download-mappings")]);
    const tables = unzipSync(new Uint8Array(fs.readFileSync(await dl.path())));
    const uids = Buffer.from(tables["uid_mapping.csv"] || []).toString();
    check(`${label}: mapping tables after a warning`, warned && uids.startsWith("id_old,id_new\n") && uids.split("\n").length > 3 && "patient_id_mapping.csv" in tables);
    // Cancel in the middle of the corpus, then the sample still goes through.
    const page = c.page;
    await page.setInputFiles('[data-testid="file-input"]', inputs);
    await page.waitForFunction(() => /^(Working|Reading)/.test(document.querySelector('[data-testid="status"]')?.textContent), null, { timeout: 60000, polling: 20 });
    await page.keyboard.press("Escape");
    const st = await page.textContent('[data-testid="status"]');
    const cancelledRows = await page.$$eval("#files tbody tr td:nth-child(2)", (tds) => tds.filter((t) => t.textContent === "cancelled").length);
    check(`${label}: Escape cancels the batch`, st === "Cancelled" && cancelledRows > 0, `${st}, ${cancelledRows} cancelled`);
    await page.click("#sample");
    await done(page);
    check(`${label}: the page works after a cancel`, true);
  });
}

/** A clip alone in the batch: with two workers its detection is shared out between them
 * (the page records it), and the output is byte for byte the one a single worker makes. */
async function runSplit() {
  const label = "clip shared out";
  const clip = inputs.find((f) => /_mf_/.test(path.basename(f)));
  const server = await serve("dist", 0);
  const context = await browser.newContext({ acceptDownloads: true });
  const errors = [];
  const once = async (workers) => {
    const page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Ready", null, { timeout: 120000 });
    await page.$eval("#settings", (d) => (d.open = true));
    await page.fill("#passphrase", PASSPHRASE);
    await page.fill("#workers", String(workers));
    await page.setInputFiles('[data-testid="file-input"]', [clip]);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Done", null, { timeout: 300000 });
    const split = await page.evaluate(() => Number(document.documentElement.dataset.splitFiles || 0));
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-all"]')]);
    const entries = unzipSync(new Uint8Array(fs.readFileSync(await download.path())));
    const report = JSON.parse(Buffer.from(entries["report.json"]).toString("utf8"));
    await page.close();
    return { split, bytes: entries[path.basename(clip)], report: report[0] };
  };
  await scenario(label, { context, server, errors }, async () => {
    if (!check(`${label}: the corpus has a multi-frame file`, !!clip)) return;
    const one = await once(1);
    const two = await once(2);
    const px = two.report?.report?.pixels || {};
    check(`${label}: shared out with two workers only`, one.split === 0 && two.split === 1, `${one.split}, ${two.split} files shared out`);
    // Both parts (its own and the other worker's) were used: no detection was run again.
    check(
      `${label}: done, both workers' parts used`,
      two.report?.status === "done" && px.frames_detected >= 4 && px.detections_shared === px.frames_detected,
      `${two.report?.status}, ${px.detections_shared} of ${px.frames_detected} detections taken from the parts`,
    );
    const same = !!one.bytes && !!two.bytes && Buffer.from(one.bytes).equals(Buffer.from(two.bytes));
    check(`${label}: the same output as one worker's`, same, `${one.bytes?.length} and ${two.bytes?.length} bytes`);
  });
}

const timings = {};
for (const mode of MODES) {
  if (mode === "sample") await runSample();
  else if (mode === "split") await runSplit();
  else if (mode === "recovery") await runRecovery();
  else if (mode === "settings") await runSettings();
  else timings[mode] = await runMode(mode);
}
await browser.close();
fs.writeFileSync(path.join(WORK, "browser-timings.json"), JSON.stringify(timings, null, 1));
finish("browser");
