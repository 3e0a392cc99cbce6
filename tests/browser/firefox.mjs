#!/usr/bin/env node
// The page in Firefox (Debian's firefox-esr through puppeteer-core over WebDriver BiDi; no
// browser download): the served page and the single file from file:// de-identify the
// evaluation corpus loaded through the file input, and the ZIP of outputs is checked as in
// the Chromium run (tests/browser/shared.mjs). Fails on any console error and on any
// request beyond the page's origin. The ZIP is read from the Blob the page's download link
// points at (a hook installed before the page loads), not from Firefox's download folder:
// the download itself is covered in Chromium (e2e.mjs).
//
//   node tests/browser/firefox.mjs        # needs dist/ (npm run build) and firefox-esr
// Environment: CORPUS_DIR (default /tmp/corpus, must exist), WORK_DIR, SHARED (../shared),
// EVAL_VENV (/tmp/evalenv), FIREFOX (/usr/bin/firefox-esr), BROWSER_MODES (served,file).
import puppeteer from "puppeteer-core";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { serve } from "../../tools/serve.mjs";
import { CORPUS, PASSPHRASE, TIMEOUT, check, checkOutputZip, corpusInputs, finish, foreignRequests, modes, workDir } from "./shared.mjs";

const WORK = workDir("deid-firefox-");
const MODES = modes("served,file");

if (!fs.existsSync(path.join("dist", "dicom-deid.html")) || !fs.existsSync(path.join(CORPUS, "manifest.json"))) {
  check("dist/ is built (npm run build) and the corpus exists", false, CORPUS);
  finish("firefox");
}
const inputs = corpusInputs();

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr",
  headless: true,
  // No update checks, telemetry or captive-portal probes from the browser itself.
  extraPrefsFirefox: { "app.update.enabled": false, "network.captive-portal-service.enabled": false, "toolkit.telemetry.enabled": false },
});

/** Runs in the page before its own scripts: the Blob behind a download link is kept for the
 * test to read instead of being saved by the browser. */
function keepDownloads() {
  const blobs = new Map();
  const create = URL.createObjectURL;
  URL.createObjectURL = function (blob) {
    const url = create.call(URL, blob);
    blobs.set(url, blob);
    return url;
  };
  const click = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function () {
    if (this.download && blobs.has(this.href)) {
      window.__download = { name: this.download, blob: blobs.get(this.href) };
      return;
    }
    return click.call(this);
  };
}

/** The kept download's bytes, in pieces (the protocol carries strings). */
async function downloadedBytes(page) {
  const size = await page.evaluate(async () => {
    window.__bytes = new Uint8Array(await window.__download.blob.arrayBuffer());
    return window.__bytes.length;
  });
  const parts = [];
  const piece = 4 << 20;
  for (let at = 0; at < size; at += piece) {
    const b64 = await page.evaluate(
      (at, n) => {
        const s = window.__bytes.subarray(at, at + n);
        let bin = "";
        for (let i = 0; i < s.length; i += 0x8000) bin += String.fromCharCode.apply(null, s.subarray(i, i + 0x8000));
        return btoa(bin);
      },
      at,
      piece,
    );
    parts.push(Buffer.from(b64, "base64"));
  }
  return new Uint8Array(Buffer.concat(parts));
}

async function runMode(mode) {
  const label = `Firefox, ${mode === "served" ? "served page" : "single file (file://)"}`;
  const server = mode === "served" ? await serve("dist", 0) : null;
  const url = server ? `http://127.0.0.1:${server.address().port}/` : pathToFileURL(path.resolve("dist/dicom-deid.html")).href;
  const origin = server ? new URL(url).origin : null;
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  try {
    await page.evaluateOnNewDocument(keepDownloads);
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === "Ready", { timeout: 120000 });
    const core = await page.evaluate(() => document.documentElement.dataset.coreBuild);
    console.log(`${label}: ready, core build ${core}`);
    await page.$eval("#settings", (d) => (d.open = true));
    await page.type("#passphrase", PASSPHRASE);
    const t0 = Date.now();
    const input = await page.$('[data-testid="file-input"]');
    await input.uploadFile(...inputs);
    await page.waitForFunction(
      () => {
        const s = document.querySelector('[data-testid="status"]')?.textContent || "";
        return s === "Done" || s.startsWith("Error") || s === "Cancelled";
      },
      { timeout: TIMEOUT, polling: 250 },
    );
    const status = await page.$eval('[data-testid="status"]', (e) => e.textContent);
    check(`${label}: status reads Done`, status === "Done", status);
    console.log(`${label}: ${inputs.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${await page.$eval("#counts", (e) => e.textContent)}`);
    await page.click('[data-testid="download-all"]');
    await page.waitForFunction(() => !!window.__download, { timeout: 600000 });
    checkOutputZip({ zipBytes: await downloadedBytes(page), inputs, mode, label, work: WORK });
  } catch (e) {
    check(`${label}: ran to the end`, false, e.message);
  } finally {
    const foreign = foreignRequests(requests, mode, origin, url);
    check(`${label}: no request beyond the page's origin`, foreign.length === 0, `${requests.length} recorded` + (foreign.length ? `; foreign: ${[...new Set(foreign)].slice(0, 5).join(", ")}` : ""));
    check(`${label}: no console error`, errors.length === 0, errors.slice(0, 5).join(" | "));
    await context.close();
    server?.close();
  }
}

for (const mode of MODES) await runMode(mode);
await browser.close();
finish("firefox");
