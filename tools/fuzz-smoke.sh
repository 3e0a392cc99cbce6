#!/usr/bin/env bash
# Short fuzz run (CI smoke): each cargo-fuzz target of fuzz/ for FUZZ_SECONDS (default 60)
# from freshly generated seeds. Exits non-zero if any target crashed, hung (-timeout) or
# ran out of memory (-rss_limit_mb); the failing inputs are left in fuzz/artifacts/<target>/.
#
#   tools/fuzz-smoke.sh                 # all targets, 60 s each
#   tools/fuzz-smoke.sh deidentify policy_json   # what tests/run_all.sh runs (no tract build)
#   FUZZ_SECONDS=1800 tools/fuzz-smoke.sh pixels
#
# Needs the nightly toolchain (cargo-fuzz builds with -Zsanitizer=address); installs
# cargo-fuzz from crates.io when missing. Builds in fuzz/target only.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$root/fuzz"
secs=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(deidentify policy_json pixels)
# Same build flags as in docs/robustness.md, so a build made there is reused.
build_flags=(--codegen-units 16)
# -malloc_limit_mb: a single allocation over 1 GiB is a finding at once (see docs/robustness.md).
fuzz_flags=(-max_total_time="$secs" -rss_limit_mb=4096 -malloc_limit_mb=1024 -timeout=20 -print_final_stats=1)
# FUZZ_RUNS=N with a fixed seed makes the run the same sequence of inputs on every machine
# (what tests/run_all.sh uses, so that CI is deterministic); longer exploratory runs leave it out.
if [ -n "${FUZZ_RUNS:-}" ]; then
    fuzz_flags+=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}")
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal >/dev/null || {
        echo "fuzz-smoke: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
        exit 2
    }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2 || exit 2
fi

"$fuzz/seeds.sh" || exit 2

cd "$fuzz" || exit 2
# Without the pixels target, build without the root crate's pixel code (no tract): much faster.
[[ " ${targets[*]} " == *" pixels "* ]] || build_flags+=(--no-default-features)
cargo +nightly fuzz build "${build_flags[@]}" || exit 2

failed=()
for t in "${targets[@]}"; do
    echo "=== fuzz-smoke: $t for ${secs}s ==="
    mkdir -p "corpus/$t"
    mkdir -p "artifacts/$t"
    marker=$(mktemp)
    if ! cargo +nightly fuzz run "${build_flags[@]}" "$t" "corpus/$t" "seeds/$t" -- "${fuzz_flags[@]}"; then
        failed+=("$t")
    fi
    # crash-, oom-, timeout- artifacts written by this run (slow-unit- ones are only reported).
    new=$(find "artifacts/$t" -type f -newer "$marker" \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \))
    rm -f "$marker"
    if [ -n "$new" ]; then
        echo "fuzz-smoke: $t: new artifacts:"; echo "$new"
        [[ " ${failed[*]} " == *" $t "* ]] || failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/; reproduce with: cd fuzz && cargo +nightly fuzz run TARGET ARTIFACT)" >&2
    exit 1
fi
echo "fuzz-smoke: ${#targets[@]} targets, ${secs}s each, no crash"
