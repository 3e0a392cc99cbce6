#!/usr/bin/env bash
# Real ultrasound and colour images with real burned-in text, from PyPI packages at pinned
# versions and wheel sha256 (never committed): pydicom 3.0.2 (MIT; its test files
# examples_*.dcm) and pydicom-data 1.0.0 (MIT; OBXXXX1A*, US1_*, gdcm-US-ALOKA-16*).
# Into target/real-images/ (or the folder given). Then:
#   cargo run --release --example pixel_eval -- target/real-images OUT --all
# writes before/after PNGs with the masked boxes (docs/pixels-real-images.md).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/real-images}
. tools/lib/pypi.sh
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
PYD=$(pypi_wheel pydicom 3.0.2 "$TMP" abf971a5440f84dbaf42c4b6758e30e62480902584f8b270b9a5d146e278a07b)
DATA=$(pypi_wheel pydicom-data 1.0.0 "$TMP" 622ac97265f1d91f76b5120b5bd6eb0f57737c392ef863b72c71779c91e33637)
mkdir -p "$OUT"
python3 - "$PYD" "$DATA" "$OUT" <<'PY'
import os, re, sys, zipfile
pyd, data, out = sys.argv[1:]
wanted = re.compile(r"(examples_(palette|rgb_color|jpeg2k|ybr_color|overlay)|OBXXXX1A.*|US1_.*|gdcm-US-ALOKA-16.*)\.dcm$")
n = 0
for whl in (pyd, data):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            base = os.path.basename(name)
            if wanted.fullmatch(base):
                with z.open(name) as src, open(os.path.join(out, base), "wb") as dst:
                    dst.write(src.read())
                n += 1
print(f"fetch-real-images: {n} files in {out}")
PY
