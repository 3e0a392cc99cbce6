#!/usr/bin/env bash
# Generate the fuzz seeds (not committed) into fuzz/seeds/<target>/:
#   - DICOM fixtures built in code by tests/common/mod.rs, and small pixel layouts
#     (fuzz/seedgen, a small crate of its own);
#   - a sample of the evaluation corpus (CORPUS_DIR, default /tmp/corpus/input): the two
#     smallest files under 200 kB of each kind (file names fNNNN_<kind>.dcm), if present;
#   - policy JSON: the default policy, the examples in README.md and docs/, the JSON
#     literals of the policy and CLI tests.
# Usage: fuzz/seeds.sh [OUT_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-$here/seeds}
corpus=${CORPUS_DIR:-/tmp/corpus/input}

rm -rf "$out"
mkdir -p "$out/deidentify" "$out/pixels" "$out/policy_json"
# No debug info: a debug build of the crate and its dependencies is gigabytes otherwise.
CARGO_PROFILE_DEV_DEBUG=0 CARGO_TARGET_DIR="$here/target/seedgen" cargo run --quiet --manifest-path "$here/seedgen/Cargo.toml" -- "$root" "$out"

if [ -d "$corpus" ]; then
    n=0
    # size name kind, smallest first; keep two per kind.
    while read -r _size path; do
        cp "$path" "$out/deidentify/"
        cp "$path" "$out/pixels/"
        n=$((n + 1))
    done < <(find "$corpus" -maxdepth 1 -type f -name '*.dcm' -size -200k -printf '%s %p\n' \
        | sort -n \
        | awk '{ f = $2; sub(/.*\/f[0-9]+_/, "", f); sub(/\.dcm$/, "", f); if (seen[f]++ < 2) print $1, $2 }')
    echo "seeds.sh: $n files sampled from $corpus"
else
    echo "seeds.sh: no evaluation corpus at $corpus; fixtures only"
fi
for t in deidentify pixels policy_json; do
    echo "seeds.sh: $t: $(find "$out/$t" -type f | wc -l) seeds, $(du -sh "$out/$t" | cut -f1)"
done
