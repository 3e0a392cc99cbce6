#!/usr/bin/env python3
"""The native CLI's whole-process wall time per file (`--jobs 1`, one process per run).

    python tools/bench/native_bench.py --cli target/test-release/dicom-deid
        [--model target/model/det.onnx] [--runs 3] [--every FILE] [--nopixels FILE] [--series DIR] FILE...

Each run is a fresh process: parse, harvest, model load, detection, masking, verification and
writing, i.e. everything. With --nopixels FILE (a header-only file), the start-up cost is
measured twice: the default policy (so the model is loaded) and pixels.mode "off" (no model).
With --every FILE, that file is also run under {"pixels": {"frames": "every"}}. With --series
DIR, the folder is run as one batch in one process (the detector plans each size once).
Prints one JSON object on stdout.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def pixels_of(report_path):
    """The "pixels" object of the (single) report line, wherever it sits."""
    with open(report_path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    for obj in lines:
        stack = [obj]
        while stack:
            o = stack.pop()
            if isinstance(o, dict):
                if isinstance(o.get("pixels"), dict) and "frames" in o["pixels"]:
                    return o["pixels"], obj
                stack.extend(v for v in o.values() if isinstance(v, (dict, list)))
            elif isinstance(o, list):
                stack.extend(v for v in o if isinstance(v, (dict, list)))
    return None, (lines[0] if lines else None)


def run(cli, model, path, config, runs, tmp):
    times, px, line, err, statuses = [], None, None, None, []
    for r in range(runs):
        out = tempfile.mkdtemp(dir=tmp)
        rep = os.path.join(out, "report.jsonl")
        cmd = [cli, path, "--out", os.path.join(out, "out"), "--jobs", "1", "--quiet", "--report", rep]
        if model:
            cmd += ["--model", model]
        if config:
            cmd += ["--config", config]
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        dt = (time.perf_counter() - t) * 1000
        if p.returncode != 0:
            err = f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-600:]}"
            shutil.rmtree(out, ignore_errors=True)
            break
        times.append(dt)
        if os.path.exists(rep):
            px, line = pixels_of(rep)
            with open(rep) as f:
                statuses = [json.loads(l).get("status") for l in f if l.strip()]
        shutil.rmtree(out, ignore_errors=True)
    rec = {"file": os.path.basename(path), "runs": len(times)}
    if os.path.isdir(path):
        rec["files"] = len(os.listdir(path))
        rec["files_ok"] = statuses.count("ok") if times else 0
        if rec["files_ok"] != rec["files"]:
            err = err or f"{rec['files_ok']} of {rec['files']} files ok"
    if times:
        rec["median_ms"] = round(statistics.median(times), 1)
        rec["min_ms"] = round(min(times), 1)
    if px:
        rec.update(frames=px.get("frames"), frames_detected=px.get("frames_detected"),
                   boxes=len(px.get("boxes", [])), kept_because=px.get("kept_because"))
    if isinstance(line, dict) and line.get("status"):
        rec["status"] = line["status"]
        if line["status"] != "ok":
            rec["error"] = f"status {line['status']}: {line.get('reason')}"
    if err:
        rec["error"] = err
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="target/test-release/dicom-deid")
    ap.add_argument("--model", default="target/model/det.onnx")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--every", action="append", default=[])
    ap.add_argument("--nopixels")
    ap.add_argument("--series")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="deid-native-bench-")
    try:
        cfg_every = os.path.join(tmp, "every.json")
        cfg_off = os.path.join(tmp, "off.json")
        with open(cfg_every, "w") as f:
            json.dump({"pixels": {"frames": "every"}}, f)
        with open(cfg_off, "w") as f:
            json.dump({"pixels": {"mode": "off"}}, f)
        res = {"cli": a.cli, "files": []}
        if a.nopixels:
            res["startup_model"] = run(a.cli, a.model, a.nopixels, None, a.runs + 2, tmp)
            res["startup_nomodel"] = run(a.cli, a.model, a.nopixels, cfg_off, a.runs + 2, tmp)
        for f in a.files:
            r = run(a.cli, a.model, f, None, a.runs, tmp)
            r["variant"] = "sampled"
            res["files"].append(r)
            print(f"native {r['file']}: {r}", file=sys.stderr)
        for f in a.every:
            r = run(a.cli, a.model, f, cfg_every, 1, tmp)
            r["variant"] = "every"
            res["files"].append(r)
            print(f"native {r['file']} [every]: {r}", file=sys.stderr)
        if a.series:
            res["series"] = run(a.cli, a.model, a.series, None, a.runs, tmp)
            print(f"native series: {res['series']}", file=sys.stderr)
        print(json.dumps(res))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
