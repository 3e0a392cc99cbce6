// What the Chromium (e2e.mjs) and Firefox (firefox.mjs) runs share: the repository root as
// working directory, the environment, the pass/fail tally, the corpus's input files, the
// check of the page's ZIP of outputs (every output and report.json there, every file done,
// then ../shared/eval/score.py and tests/e2e/check_corpus.py on the unzipped files, as for
// the CLI) and of the requests a page made.
import { unzipSync } from "fflate";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
process.chdir(root);
export const SHARED = process.env.SHARED || path.resolve(root, "../shared");
export const VENV = process.env.EVAL_VENV || "/tmp/evalenv";
export const CORPUS = process.env.CORPUS_DIR || "/tmp/corpus";
export const TIMEOUT = parseInt(process.env.BROWSER_TIMEOUT_MS || "1800000", 10);
/** The page's passphrase in every run, as the CLI runs use a fixed secret file: the outputs
 * (and any date/time offset) are then the same in every run. */
export const PASSPHRASE = "dicom-deid e2e fixed secret";

/** WORK_DIR, or a new temporary folder named after `prefix`. */
export function workDir(prefix) {
  const work = process.env.WORK_DIR || fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(work, { recursive: true });
  return work;
}

/** BROWSER_MODES, or `defaults` (comma-separated). */
export function modes(defaults) {
  return (process.env.BROWSER_MODES || defaults).split(",");
}

const tally = { passed: 0, failed: 0 };
export function check(name, ok, detail = "") {
  if (ok) tally.passed++;
  else tally.failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail !== "" ? ": " + detail : ""}`);
  return ok;
}

/** Print the tally under `name` and exit, non-zero if any check failed. */
export function finish(name) {
  console.log(`${name}: ${tally.passed} passed, ${tally.failed} failed`);
  process.exit(tally.failed ? 1 : 0);
}

/** Every file under CORPUS/input, sorted. */
export function corpusInputs() {
  return fs
    .readdirSync(path.join(CORPUS, "input"), { recursive: true })
    .map((f) => path.join(CORPUS, "input", f))
    .filter((f) => fs.statSync(f).isFile())
    .sort();
}

/** Unzip `zipBytes` into WORK/out-MODE and check it against CORPUS (score.py, check_corpus.py). */
export function checkOutputZip({ zipBytes, inputs, mode, label, work }) {
  const out = path.join(work, `out-${mode}`);
  fs.rmSync(out, { recursive: true, force: true });
  const entries = unzipSync(zipBytes);
  let report = null;
  for (const [name, data] of Object.entries(entries)) {
    if (name === "report.json") {
      report = JSON.parse(Buffer.from(data).toString("utf8"));
      continue;
    }
    const dest = path.join(out, name);
    if (!dest.startsWith(out + path.sep)) throw new Error(`unsafe path in the ZIP: ${name}`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, data);
  }
  const n = Object.keys(entries).length - (report ? 1 : 0);
  check(`${label}: ZIP has every output and report.json`, n === inputs.length && !!report, `${n}/${inputs.length} outputs, ${(zipBytes.length / 1e6).toFixed(1)} MB`);
  if (report) {
    const bad = report.filter((r) => r.status !== "done");
    check(`${label}: report.json says every file done`, bad.length === 0, bad.slice(0, 5).map((r) => `${r.file}: ${r.status} ${r.reason || ""}`).join("; "));
  }
  const scoreJson = path.join(work, `score-${mode}.json`);
  const score = spawnSync(
    path.join(VENV, "bin/python"),
    [path.join(SHARED, "eval/score.py"), "--corpus", CORPUS, "--tool", `dicom-deid-${mode}=${out}`, "--json", scoreJson, "--details"],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  process.stdout.write(score.stdout.split("\n").slice(0, 12).join("\n") + "\n");
  check(`${label}: score.py ran`, score.status === 0, score.status === 0 ? "" : score.stderr.slice(-2000));
  if (score.status === 0) {
    const cc = spawnSync(path.join(VENV, "bin/python"), ["tests/e2e/check_corpus.py", scoreJson, out, CORPUS], { encoding: "utf8", maxBuffer: 1 << 26 });
    process.stdout.write(cc.stdout.replace(/^/gm, `  ${mode}: `) + "\n");
    check(`${label}: outputs score as the CLI's (check_corpus.py)`, cc.status === 0, cc.status === 0 ? "" : cc.stderr.slice(-2000));
  }
}

/** The recorded requests that leave the page's origin (for file://, any but the page itself). */
export function foreignRequests(requests, mode, origin, url) {
  return requests.filter((u) => {
    if (u.startsWith("blob:") || u.startsWith("data:")) return false;
    if (mode === "served") return new URL(u).origin !== origin;
    return u !== url;
  });
}
