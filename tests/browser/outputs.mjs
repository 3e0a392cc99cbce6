// The page's ZIP of outputs, checked as the CLI's are: every output and report.json there,
// every file done, then ../shared/eval/score.py and tests/e2e/check_corpus.py on the
// unzipped files. Shared by the Chromium (e2e.mjs) and Firefox (firefox.mjs) runs.
import { unzipSync } from "fflate";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";

/** Unzip `zipBytes` into WORK/out-MODE and check it; `check(name, ok, detail)` records. */
export function checkOutputZip({ zipBytes, inputs, mode, label, check, work, corpus, shared, venv }) {
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
    path.join(venv, "bin/python"),
    [path.join(shared, "eval/score.py"), "--corpus", corpus, "--tool", `dicom-deid-${mode}=${out}`, "--json", scoreJson, "--details"],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  process.stdout.write(score.stdout.split("\n").slice(0, 12).join("\n") + "\n");
  check(`${label}: score.py ran`, score.status === 0, score.status === 0 ? "" : score.stderr.slice(-2000));
  if (score.status === 0) {
    const cc = spawnSync(path.join(venv, "bin/python"), ["tests/e2e/check_corpus.py", scoreJson, out, corpus], { encoding: "utf8", maxBuffer: 1 << 26 });
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
