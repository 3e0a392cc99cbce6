#!/usr/bin/env node
// Large inputs through the page in headless Chromium, against the native CLI in the same
// run: each folder given is one batch (e.g. the 1 GB big corpus of make_corpus.py --mode
// big, or a folder holding one 1 GB multi-frame file). For each: the served page with 2
// workers (pixels in the default detect mode), wall time to Done, statuses, the ZIP
// downloaded (streamed by the page) and its entry count, the peak memory of all Chromium
// processes (sampled every 0.5 s), console errors; then `dicom-deid --jobs 2` on the same
// folder, wall time and peak RSS, and `dicom-deid verify` of the page's outputs against
// the originals. Prints a Markdown table; exits 1 if a batch did not finish with every
// file done, a console error, or a failed verification. Not part of tests/run_all.sh
// (it takes minutes and gigabytes); the figures are in docs/robustness.md.
//
//   node tests/browser/big.mjs /tmp/big/input /tmp/big1g/in
// Environment: CLI (default target/release/dicom-deid, else target/test-release/dicom-deid),
// CHROMIUM (/usr/bin/chromium), WORK_DIR, PAGE_WORKERS (the page's workers, default 2),
// IDLE_FIRST=1 (the files are given only once the page's idle workers have planned the
// detector for the common sizes, as when a person sets the passphrase and then picks files;
// by default they are given at once, and the pool is built then, as the CLI starts cold).
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { serve } from "../../tools/serve.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
process.chdir(root);
const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error("usage: node tests/browser/big.mjs DIR [DIR...]");
  process.exit(2);
}
const WORK = process.env.WORK_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "deid-big-"));
const CLI = process.env.CLI || ["target/release/dicom-deid", "target/test-release/dicom-deid"].find((p) => fs.existsSync(p));
const PASSPHRASE = "dicom-deid big-input run";
const WORKERS = parseInt(process.env.PAGE_WORKERS || "2", 10);
const IDLE_FIRST = process.env.IDLE_FIRST === "1";
let failures = 0;

function filesOf(dir) {
  return fs
    .readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile())
    .sort();
}

/** Sum of the resident memory of every Chromium process, in MB. */
function chromiumRssMb() {
  const out = spawnSync("ps", ["-C", "chromium", "-o", "rss="], { encoding: "utf8" }).stdout || "";
  return out.split("\n").reduce((a, l) => a + (parseInt(l, 10) || 0), 0) / 1024;
}

/** The largest value of `sample()` until `stop()` is called. */
function peakOf(sample) {
  let peak = 0;
  const t = setInterval(() => (peak = Math.max(peak, sample())), 500);
  return () => (clearInterval(t), peak);
}

/** A fresh browser per batch: after a 1 GB batch, Playwright's connection to the old
 * one was found closed. */
const launch = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"],
  });
const server = await serve("dist", 0);
const url = `http://127.0.0.1:${server.address().port}/`;
const rows = [];

for (const dir of dirs) {
  const inputs = filesOf(dir);
  const mb = inputs.reduce((a, f) => a + fs.statSync(f).size, 0) / 1e6;
  const row = { dir, files: inputs.length, mb };
  const browser = await launch();
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Ready", null, { timeout: 120000 });
    await page.$eval("#settings", (d) => (d.open = true));
    await page.fill("#workers", String(WORKERS));
    await page.fill("#passphrase", PASSPHRASE);
    if (IDLE_FIRST) {
      const tIdle = Date.now();
      const pools = await page.evaluate(() => Number(document.documentElement.dataset.pools || 0));
      await page.dispatchEvent("#passphrase", "change"); // the user leaves the field
      // The new settings' pool (the page counts the current pool's plans): two plans per
      // worker (COMMON_IMAGE_SIZES in src/detect), kept from the page's first pool when its
      // workers are kept.
      await page.waitForFunction((p) => Number(document.documentElement.dataset.pools || 0) > p, pools, { timeout: 10000 });
      await page.waitForFunction((n) => Number(document.documentElement.dataset.preparedPlans || 0) >= n, 2 * WORKERS, { timeout: 120000 });
      row.idlePrepareS = (Date.now() - tIdle) / 1000; // includes the page's 0.5 s debounce
    }
    const stopPeak = peakOf(chromiumRssMb);
    // The page notes when its status turns final: the waiting below polls once a second.
    await page.$eval('[data-testid="status"]', (s) => {
      new MutationObserver(() => {
        const t = s.textContent;
        if (!window.finishedAt && (["Done", "Cancelled"].includes(t) || t.startsWith("Error"))) window.finishedAt = Date.now();
      }).observe(s, { childList: true, characterData: true, subtree: true });
    });
    const t0 = Date.now();
    await page.setInputFiles('[data-testid="file-input"]', inputs);
    await page.waitForFunction(
      () => ["Done", "Cancelled"].includes(document.querySelector('[data-testid="status"]')?.textContent) || document.querySelector('[data-testid="status"]')?.textContent.startsWith("Error"),
      null,
      { timeout: 3600000, polling: 1000 },
    );
    row.pageS = (((await page.evaluate(() => window.finishedAt)) || Date.now()) - t0) / 1000;
    row.status = await page.textContent('[data-testid="status"]');
    row.counts = (await page.textContent("#counts")).trim();
    row.workers = WORKERS;
    row.idleFirst = IDLE_FIRST;
    row.splitFiles = await page.evaluate(() => Number(document.documentElement.dataset.splitFiles || 0));
    const zipPath = path.join(WORK, `page-${path.basename(dir)}.zip`);
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 1800000 }), page.click('[data-testid="download-all"]')]);
    await download.saveAs(zipPath);
    row.peakMb = stopPeak();
    row.zipMb = fs.statSync(zipPath).size / 1e6;
    const out = path.join(WORK, `page-out-${path.basename(dir)}`);
    fs.rmSync(out, { recursive: true, force: true });
    execFileSync("unzip", ["-q", "-o", zipPath, "-d", out]);
    const outputs = filesOf(out).filter((f) => !f.endsWith("report.json"));
    row.outputs = outputs.length;
    const report = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8"));
    row.done = report.filter((r) => r.status === "done").length;
    const notDone = report.filter((r) => r.status !== "done");
    if (notDone.length) row.notDone = notDone.slice(0, 3).map((r) => `${r.file}: ${r.status} ${r.reason || ""}`).join("; ");
  } catch (e) {
    row.error = e.message.split("\n")[0];
  }
  row.consoleErrors = errors.length;
  await browser.close().catch(() => {});

  if (CLI) {
    const cliOut = path.join(WORK, `cli-out-${path.basename(dir)}`);
    fs.rmSync(cliOut, { recursive: true, force: true });
    const keyFile = path.join(WORK, "key");
    fs.writeFileSync(keyFile, PASSPHRASE + "\n");
    const t0 = Date.now();
    const r = spawnSync("/usr/bin/time", ["-f", "%M", CLI, dir, "--out", cliOut, "--jobs", "2", "--quiet", "--secret-file", keyFile], { encoding: "utf8" });
    row.cliS = (Date.now() - t0) / 1000;
    row.cliPeakMb = parseInt(r.stderr.trim().split("\n").pop(), 10) / 1024;
    row.cliStatus = r.status;
    // The page's outputs, checked by the CLI's independent verification against the originals.
    const pageOut = path.join(WORK, `page-out-${path.basename(dir)}`);
    if (fs.existsSync(pageOut) && inputs.length === 1) {
      const outFile = filesOf(pageOut).find((f) => !f.endsWith("report.json"));
      const v = spawnSync(CLI, ["verify", "--original", inputs[0], "--deidentified", outFile], { encoding: "utf8" });
      row.verify = v.status === 0 ? "ok" : `FAILED: ${(v.stderr || v.stdout).trim().split("\n").pop()}`;
    }
  }
  const ok = !row.error && row.status === "Done" && row.done === row.files && row.outputs === row.files && row.consoleErrors === 0 && (!row.verify || row.verify === "ok");
  if (!ok) failures++;
  row.ok = ok;
  rows.push(row);
  console.log(JSON.stringify(row));
}
server.close();

const f = (v, d = 1) => (typeof v === "number" ? v.toFixed(d) : "-");
console.log(`\n| input | files | MB | page (${WORKERS} workers${IDLE_FIRST ? ", files given once idle workers planned" : ""}) s | page peak memory, all Chromium processes (MB) | CLI --jobs 2 s | CLI peak RSS (MB) | page / CLI | outputs | ZIP MB | result |`);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of rows) {
  const result = r.ok ? `ok${r.verify ? " (verify ok)" : ""}${r.splitFiles ? `, ${r.splitFiles} shared out` : ""}` : `FAILED: ${r.error || r.notDone || r.status || ""}${r.consoleErrors ? `, ${r.consoleErrors} console errors` : ""}${r.verify && r.verify !== "ok" ? ", " + r.verify : ""}`;
  console.log(`| ${r.dir} | ${r.files} | ${f(r.mb)} | ${f(r.pageS)} | ${f(r.peakMb, 0)} | ${f(r.cliS)} | ${f(r.cliPeakMb, 0)} | ${r.pageS && r.cliS ? f(r.pageS / r.cliS, 2) + "x" : "-"} | ${r.outputs ?? "-"} | ${f(r.zipMb)} | ${result} |`);
}
console.log(`\nnode tests/browser/big.mjs ${dirs.join(" ")}; ${new Date().toISOString()}; ${os.cpus().length} CPUs; load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; CLI ${CLI}`);
process.exit(failures ? 1 : 0);
