#!/usr/bin/env bash
# Fetch deid's recipe of known burned-in text regions (deid/data/deid.dicom, MIT, from
# pydicom/deid: the CTP DicomPixelAnonymizer rules and others) for
# `dicom-deid policy --deid-recipe target/deid/deid.dicom`, which turns the rules it can express
# into pixels.regions (src/policy/deid_rules.rs). The recipe ships inside deid's PyPI package: we
# download that package at a pinned version, extract the file and check its pinned sha256.
# It is never committed: it goes to target/deid/deid.dicom with the package's LICENSE.
#
#   bash tools/fetch-deid-rules.sh
#   DEID_VERSION=0.4.14 DEID_SHA256=PIN_ME bash tools/fetch-deid-rules.sh   # prints the new sha256
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/deid
PKG=deid
VER=${DEID_VERSION:-0.4.13}
MEMBER=deid/data/deid.dicom
SHA=${DEID_SHA256:-5cbb875d5db37d5f61d04ecb8afdf2dc87ef49c0219b86d915a2036ff589aacd}
mkdir -p "$OUT"
if [ -f "$OUT/deid.dicom" ] && [ -f "$OUT/deid.dicom.source" ] && [ "$(cat "$OUT/deid.dicom.source")" = "$PKG==$VER" ] \
   && echo "$SHA  $OUT/deid.dicom" | sha256sum -c --status 2>/dev/null; then
  echo "target/deid/deid.dicom is up to date ($PKG==$VER)"; exit 0
fi
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
if [ -z "${PIP:-}" ]; then
  if [ -x "${EVAL_VENV:-/tmp/evalenv}/bin/pip" ]; then PIP="${EVAL_VENV:-/tmp/evalenv}/bin/pip"
  elif command -v pip3 >/dev/null; then PIP=pip3
  else python3 -m venv /tmp/dicom-deid-pip && PIP=/tmp/dicom-deid-pip/bin/pip; fi
fi
# The wheel is pure Python: --no-deps, so neither pydicom nor matplotlib is downloaded.
"$PIP" download --quiet --no-deps --only-binary=:all: "$PKG==$VER" -d "$TMP"
WHL=$(ls "$TMP"/*.whl | head -1)
python3 - "$WHL" "$MEMBER" "$OUT" <<'PY'
import sys, zipfile, shutil, os
whl, member, out = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    names = z.namelist()
    with z.open(member) as src, open(os.path.join(out, "deid.dicom.tmp"), "wb") as dst:
        shutil.copyfileobj(src, dst)
    # deid's wheel has deid-<version>.dist-info/licenses/LICENSE (MIT).
    lic = [n for n in names if os.path.basename(n).upper().startswith(("LICENSE", "LICENCE"))]
    if not lic:
        sys.exit(f"no LICENSE file in {os.path.basename(whl)}")
    with z.open(sorted(lic, key=len)[0]) as src, open(os.path.join(out, "LICENSE"), "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
GOT=$(sha256sum "$OUT/deid.dicom.tmp" | cut -d' ' -f1)
case "$SHA" in PIN_*)
  rm -f "$OUT/deid.dicom.tmp"; echo "sha256 of $PKG==$VER $MEMBER: $GOT (not pinned yet: pin it in tools/fetch-deid-rules.sh)" >&2; exit 1 ;;
esac
if [ "$GOT" != "$SHA" ]; then
  rm -f "$OUT/deid.dicom.tmp"; echo "sha256 mismatch for $MEMBER: got $GOT, want $SHA" >&2; exit 1
fi
mv "$OUT/deid.dicom.tmp" "$OUT/deid.dicom"
echo "$PKG==$VER" > "$OUT/deid.dicom.source"
echo "target/deid/deid.dicom: $PKG==$VER $MEMBER sha256 $GOT (licence: target/deid/LICENSE)"
