#!/usr/bin/env python3
"""onnxruntime (CPU, 1 intra-op and 1 inter-op thread) inference time of the text detector.

    python tools/bench/ort_bench.py [--model target/model/det.onnx] [--runs 10] [--warmup 2]
                                    [--sizes 512x512,1024x768,640x480] [--json]

Sizes are WxH of the frame; the model input is NCHW [1,3,H,W] (H, W multiples of 32, as the
core feeds it). The input is random, ImageNet-normalised data (the time does not depend on
the content). Prints the median (and min) ms per size, or one JSON object with --json.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="target/model/det.onnx")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--sizes", default="512x512,1024x768,640x480")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(a.model, sess_options=so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1000
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(0)
    mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)

    result = {"onnxruntime": ort.__version__, "threads": 1, "load_ms": round(load_ms, 1), "sizes": {}}
    for size in a.sizes.split(","):
        w, h = (int(v) for v in size.lower().split("x"))
        x = ((rng.random((1, 3, h, w), dtype=np.float32) - mean) / std).astype(np.float32)
        for _ in range(a.warmup):
            sess.run(None, {name: x})
        times = []
        for _ in range(a.runs):
            t = time.perf_counter()
            sess.run(None, {name: x})
            times.append((time.perf_counter() - t) * 1000)
        result["sizes"][size] = {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
                                 "runs": a.runs}
        if not a.json:
            print(f"{size:>10}  median {statistics.median(times):8.1f} ms  min {min(times):8.1f} ms  ({a.runs} runs)",
                  file=sys.stderr)
    if a.json:
        print(json.dumps(result))
    else:
        print(f"onnxruntime {ort.__version__}, 1 thread, session load {load_ms:.0f} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
