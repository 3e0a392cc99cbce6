#!/usr/bin/env bash
# Pixel-cleaner benchmark, one command, same inputs, same run:
#   onnxruntime (PyPI, CPU, 1 thread) inference of the text detector alone, against
#   the whole pipeline of dicom-deid with tract: the native CLI (--jobs 1) and the wasm32
#   (simd128) package under Node, on a 512x512 CT, a 1024x768 RGB secondary capture and a
#   120-frame 640x480 RGB ultrasound clip (frames sampled, the default, and every frame),
#   and the clip's detections shared out over two threads under Node, as the page does.
# Prints one markdown table (plus the machine, date and command) on stdout; progress and
# raw JSON go to stderr / the work dir.
#
#   bash tools/bench-pixels.sh                    # defaults below
#   RUNS=5 CLI=target/release/dicom-deid bash tools/bench-pixels.sh
#
# Environment: PYTHON (a Python with pydicom, numpy, Pillow; onnxruntime is pip-installed
# into it when missing; default /tmp/evalenv/bin/python, else python3), CLI
# (target/test-release/dicom-deid), PKG (pkg), MODEL (target/model/det.onnx), RUNS (3),
# FRAMES (120), SERIES (20: slices of the 512x512 CT series the native CLI runs as one
# batch), KEEP=1 keeps the work dir (inputs and raw JSON).
# Needs: the model (tools/fetch-model.sh), the CLI built with the pixel cleaner, pkg/ built
# by tools/build-wasm.sh. A missing part is reported in the table as "n/a" with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
CMDLINE="bash tools/bench-pixels.sh${*:+ $*}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x /tmp/evalenv/bin/python ]; then PYTHON=/tmp/evalenv/bin/python; else PYTHON=python3; fi
fi
CLI=${CLI:-target/test-release/dicom-deid}
PKG=${PKG:-pkg}
MODEL=${MODEL:-target/model/det.onnx}
RUNS=${RUNS:-3}
FRAMES=${FRAMES:-120}
SERIES=${SERIES:-20}
WORK=$(mktemp -d /tmp/bench-pixels.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
say() { echo "bench-pixels: $*" >&2; }

[ -f "$MODEL" ] || { say "no model at $MODEL (run tools/fetch-model.sh)"; exit 1; }
if ! "$PYTHON" -c "import onnxruntime" 2>/dev/null; then
  say "installing onnxruntime into $PYTHON"
  "$PYTHON" -m pip install -q onnxruntime >&2 || say "cannot install onnxruntime"
fi

say "inputs -> $WORK/in"
"$PYTHON" tools/bench/pixel_clip.py "$WORK/in" --frames "$FRAMES" --ct-series "$SERIES" || { say "input generation failed"; exit 1; }
IN="$WORK/in"

say "onnxruntime (1 thread)"
"$PYTHON" tools/bench/ort_bench.py --model "$MODEL" --runs $((RUNS * 3)) --sizes 512x512,1024x768,640x480 --json \
  >"$WORK/ort.json" 2>"$WORK/ort.err" || say "onnxruntime failed: $(tail -3 "$WORK/ort.err")"

say "native CLI ($CLI)"
if [ -x "$CLI" ]; then
  "$PYTHON" tools/bench/native_bench.py --cli "$CLI" --model "$MODEL" --runs "$RUNS" --nopixels "$IN/nopixels.dcm" \
    --every "$IN/us_clip.dcm" --series "$IN/ct_series" "$IN/ct_512.dcm" "$IN/sc_1024x768.dcm" "$IN/us_clip.dcm" \
    >"$WORK/native.json" 2>"$WORK/native.err" || say "native failed: $(tail -3 "$WORK/native.err")"
else
  echo "{\"error\": \"no executable $CLI\"}" >"$WORK/native.json"
fi

say "wasm under Node ($PKG)"
node tools/bench/wasm_bench.mjs --pkg "$PKG" --model "$MODEL" --runs "$RUNS" --json --every "$IN/us_clip.dcm" \
  "$IN/ct_512.dcm" "$IN/sc_1024x768.dcm" "$IN/us_clip.dcm" >"$WORK/wasm.json" 2>"$WORK/wasm.err" \
  || say "wasm reported errors (see the table)"
say "wasm under Node, cold: a fresh process, the clip as its first file"
node tools/bench/wasm_bench.mjs --pkg "$PKG" --model "$MODEL" --runs 1 --json "$IN/us_clip.dcm" \
  >"$WORK/wasm_cold.json" 2>"$WORK/wasm_cold.err" || say "wasm (cold) reported errors"
if [ -f "$PKG/dicom_deid_relaxed_bg.wasm" ]; then
  # Node 20 has relaxed SIMD behind a flag (on by default from Node 22, and in Chromium).
  RELAXED_FLAG=$(node --v8-options | grep -q -- '--experimental-wasm-relaxed-simd' && echo --experimental-wasm-relaxed-simd)
  say "wasm under Node, the relaxed-SIMD build${RELAXED_FLAG:+ ($RELAXED_FLAG)}"
  node $RELAXED_FLAG tools/bench/wasm_bench.mjs --pkg "$PKG" --wasm "$PKG/dicom_deid_relaxed_bg.wasm" --model "$MODEL" \
    --runs "$RUNS" --json "$IN/ct_512.dcm" "$IN/sc_1024x768.dcm" "$IN/us_clip.dcm" >"$WORK/wasm_relaxed.json" 2>"$WORK/wasm_relaxed.err" \
    || say "wasm (relaxed SIMD) reported errors"
  say "wasm under Node, the clip's detections shared out over 2 threads (relaxed-SIMD build, as in the page)"
  WASM="$PKG/dicom_deid_relaxed_bg.wasm" MODEL="$MODEL" node $RELAXED_FLAG tools/bench/wasm_split_threads.mjs --json \
    "$IN/us_clip.dcm" 2 $((RUNS + 1)) >"$WORK/wasm_split.json" 2>"$WORK/wasm_split.err" || say "wasm (split) reported errors"
fi
[ -s "$WORK/wasm.json" ] || echo "{\"errors\": [{\"stage\": \"node\", \"error\": $("$PYTHON" -c 'import json,sys;print(json.dumps(sys.stdin.read()[-800:]))' <"$WORK/wasm.err")}]}" >"$WORK/wasm.json"

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
REV=$(git rev-parse --short HEAD 2>/dev/null)$( [ -n "$(git status --porcelain -uno 2>/dev/null)" ] && echo "+dirty")
WORK="$WORK" CPU="$CPU" LOAD="$LOAD" REV="$REV" CMDLINE="$CMDLINE" NPROC=$(nproc) RUNS="$RUNS" FRAMES="$FRAMES" \
"$PYTHON" - <<'EOF'
import json, os, datetime, subprocess

w = os.environ["WORK"]
def load(n):
    try:
        with open(os.path.join(w, n)) as f:
            return json.load(f)
    except Exception as e:
        return {"error": f"{n}: {e}"}

ort, nat, was, cold = load("ort.json"), load("native.json"), load("wasm.json"), load("wasm_cold.json")
frames = int(os.environ["FRAMES"])
def find(res, name, variant="sampled"):
    for r in res.get("files", []):
        if r.get("file") == name and r.get("variant", "sampled") == variant:
            return r
    return None
def ms(x):
    return "n/a" if x is None else (f"{x:.0f}" if x >= 100 else f"{x:.1f}")
def ratio(a, b):
    return "n/a" if a is None or b is None or not b else f"{a / b:.2f}x"

ort_ms = lambda s: ort.get("sizes", {}).get(s, {}).get("median_ms")
su = (nat.get("startup_model") or {}).get("median_ms")
su0 = (nat.get("startup_nomodel") or {}).get("median_ms")

rows = [
    ("512x512 CT, 1 frame", "ct_512.dcm", "sampled", "512x512", 1),
    ("1024x768 RGB SC, 1 frame", "sc_1024x768.dcm", "sampled", "1024x768", 1),
    (f"{frames}-frame 640x480 US clip, sampled (default)", "us_clip.dcm", "sampled", "640x480", frames),
    (f"{frames}-frame 640x480 US clip, frames: every", "us_clip.dcm", "every", "640x480", frames),
    (f"{frames}-frame 640x480 US clip, sampled, wasm cold (fresh Node process, first call)", "us_clip.dcm", "cold", "640x480", frames),
]
print("| input | onnxruntime 1 thread, inference only (ms/frame) | tract native, whole file (ms) | native net of start-up (ms) | tract wasm (Node, simd128), whole file (ms) | frames detected (native / wasm) | native net / ORT, per frame | wasm / ORT, per frame |")
print("|---|---|---|---|---|---|---|---|")
notes, mins = [], []
for label, name, var, size, nf in rows:
    o = ort_ms(size)
    n = find(nat, name, "sampled" if var == "cold" else var)
    wv = find(cold, name, "sampled") if var == "cold" else find(was, name, var)
    nraw = n.get("median_ms") if n else None
    nnet = nraw - su if nraw is not None and su is not None else None
    wm = wv.get("median_ms") if wv else None
    det = f"{(n or {}).get('frames_detected', 'n/a')} / {(wv or {}).get('frames_detected', 'n/a')} of {nf}"
    per = lambda x: None if x is None else x / nf
    cell = lambda x: ms(x) if nf == 1 or x is None else f"{ms(x)} ({ms(x / nf)}/frame)"
    ocell = ms(o) if nf == 1 else f"{ms(o)} (x{nf} = {ms(o * nf if o else None)})"
    print(f"| {label} | {ocell} | {cell(nraw)} | {cell(nnet)} | {cell(wm)} | {det} | {ratio(per(nnet), o)} | {ratio(per(wm), o)} |")
    mins.append(f"{label}: native {ms((n or {}).get('min_ms'))}, wasm {ms((wv or {}).get('min_ms'))}"
                + (f" (wasm warm-up run {ms(wv['first_ms'])})" if wv and wv.get("first_ms") else ""))
    for src, r in (("native", n), ("wasm", wv)):
        if r and r.get("error"):
            notes.append(f"{src} {name} [{var}]: {r['error']}")
        if r and r.get("kept_because"):
            notes.append(f"{src} {name} [{var}]: pixels kept: {r['kept_because']}")

print()
print(f"- native start-up (header-only file, model loaded): {ms(su)} ms; with pixels.mode off (no model): {ms(su0)} ms; "
      f"wasm: module init {ms(was.get('init_ms'))} ms, model load {ms(was.get('model_load_ms'))} ms (once per Deidentifier, not in the wasm column)")
for what, clip in (("warm", find(was, "us_clip.dcm")), ("cold", find(cold, "us_clip.dcm"))):
    if clip and clip.get("median_ms") is not None:
        ok = clip["median_ms"] < 3000
        print(f"- goal, {frames}-frame clip in wasm under 3 s ({what}): {'met' if ok else 'NOT met'} ({ms(clip['median_ms'])} ms)")
single = [(s, find(nat, f), find(was, f)) for s, f in (("512x512", "ct_512.dcm"), ("1024x768", "sc_1024x768.dcm"))]
for s, n, wv in single:
    o = ort_ms(s)
    if o and n and n.get("median_ms") is not None and su is not None:
        print(f"- goal, {s} pipeline <= onnxruntime inference: native net {'met' if n['median_ms'] - su <= o else 'NOT met'}"
              f", wasm {'met' if wv and wv.get('median_ms') is not None and wv['median_ms'] <= o else 'NOT met'}")
series, ct1 = nat.get("series") or {}, find(nat, "ct_512.dcm")
if series.get("median_ms") is not None and ct1 and ct1.get("median_ms") is not None and series.get("files", 0) > 1:
    # The series in one process, less the same slice alone (start-up, model load, the plan
    # for 512x512, one slice): what each further slice costs, the whole pipeline.
    per = (series["median_ms"] - ct1["median_ms"]) / (series["files"] - 1)
    o = ort_ms("512x512")
    print(f"- native, a series of {series['files']} 512x512 CT slices in one process (`--jobs 1`): {ms(series['median_ms'])} ms; "
          f"each slice beyond the first {ms(per)} ms (whole pipeline: parse, harvest, detect, mask, verify, write), "
          f"{ratio(per, o)} of onnxruntime's inference alone: goal {'met' if o and per <= o else 'NOT met'}")
elif series.get("error"):
    notes.append(f"native series: {series['error']}")
print("- fastest run (ms): " + "; ".join(mins))
relaxed = load("wasm_relaxed.json")
if relaxed.get("files"):
    cells = []
    for label, name, size, nf in (("512x512 CT", "ct_512.dcm", "512x512", 1), ("1024x768 SC", "sc_1024x768.dcm", "1024x768", 1),
                                  (f"{frames}-frame clip, sampled", "us_clip.dcm", "640x480", frames)):
        r = find(relaxed, name)
        m = r.get("median_ms") if r else None
        cells.append(f"{label} {ms(m)} ms" + (f" ({ratio(m / nf, ort_ms(size))} of onnxruntime per frame)" if m is not None else ""))
    clip = find(relaxed, "us_clip.dcm")
    print(f"- wasm, relaxed-SIMD build (what the page's workers load where the engine validates it; "
          f"relaxed_simd in target_features: {relaxed.get('relaxed_simd')}): " + "; ".join(cells)
          + (f"; goal, clip under 3 s (warm): {'met' if clip['median_ms'] < 3000 else 'NOT met'}" if clip and clip.get("median_ms") is not None else ""))
split = load("wasm_split.json")
if split.get("rounds"):
    r = split["rounds"]
    fresh, warm = r[0]["split_ms"], sorted(x["split_ms"] for x in r[1:])
    wm = warm[len(warm) // 2] if warm else None
    alone = sorted(x["alone_ms"] for x in r)[len(r) // 2]
    print(f"- wasm, the {frames}-frame clip's detections shared out over {split['threads']} threads (relaxed-SIMD build, one "
          f"instance per thread as in the page's workers): first round (instances that never planned) {ms(fresh)} ms, "
          f"later rounds {', '.join(ms(x) for x in warm)} ms (median {ms(wm)}); one thread alone in the same rounds: median "
          f"{ms(alone)} ms; goal, clip under 3 s: warm {'met' if wm is not None and wm < 3000 else 'NOT met'}, "
          f"first round {'met' if fresh < 3000 else 'NOT met'}")
elif os.path.exists(os.path.join(w, "wasm_split.json")):
    print(f"- wasm, the clip shared out over 2 threads: no figures ({split.get('error')})")
elif os.path.exists(os.path.join(w, "wasm_relaxed.json")):
    print(f"- wasm, relaxed-SIMD build: no figures ({relaxed.get('error') or relaxed.get('errors')})")
print(f"- runs: median of {os.environ['RUNS']} (single-frame files: after a warm-up run; onnxruntime: "
      f"{3 * int(os.environ['RUNS'])} runs after 2 warm-ups; frames: every: 1 run; wasm: one Deidentifier for all "
      "files, so the clip rows are warm except the cold row); "
      "native = fresh process per run (parse, harvest, model load, detect, mask, verify, write)")
ver = ort.get("onnxruntime", "?")
print(f"- onnxruntime {ver} (CPUExecutionProvider, intra/inter-op threads 1), Node {was.get('node', '?')}, "
      f"wasm target_features simd128: {was.get('simd128', '?')}, dicom-deid {os.environ['REV']}")
print(f"- machine: {os.environ['NPROC']} CPUs, {os.environ['CPU']}; load average at the end {os.environ['LOAD']}")
print(f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; command: `{os.environ['CMDLINE']}`")
for k, src in (("error", ort), ("error", nat)):
    if src.get(k):
        notes.append(src[k])
for e in was.get("errors", []) + cold.get("errors", []):
    notes.append("wasm " + " ".join(f"{k}={v}" for k, v in e.items()))
for n in notes:
    print(f"- problem: {n}")
EOF
