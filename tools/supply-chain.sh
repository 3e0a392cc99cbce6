#!/usr/bin/env bash
# Supply chain: what enters the build and what the page may do.
#  - cargo-deny over Cargo.lock: licences (deny.toml allow-list), bans (no wildcard
#    versions), sources (crates.io only); RustSec advisories when the database can be
#    fetched (it lives on GitHub).
#  - package-lock.json: every npm package from registry.npmjs.org with an integrity hash;
#    `npm audit` when the registry's audit endpoint answers.
#  - dist/ (after `npm run build`): no string evaluated as code, and the CSP forbids every
#    connection and eval.
# Exits 1 on any finding. A check that cannot run here (no network to its database) is
# reported as NOT RUN with the reason, never as passed.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
not_run=()

if ! cargo deny --version >/dev/null 2>&1; then
    echo "supply-chain: installing cargo-deny"
    cargo install cargo-deny --locked --version 0.20.2 >/dev/null || { echo "supply-chain: cannot install cargo-deny" >&2; exit 2; }
fi
echo "== cargo deny: licenses bans sources"
cargo deny --log-level error check licenses bans sources || failed+=("cargo-deny licenses/bans/sources")

echo "== cargo deny: advisories"
if timeout 10 git ls-remote https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
    cargo deny --log-level error check advisories || failed+=("cargo-deny advisories")
else
    not_run+=("RustSec advisories: github.com (the advisory database) is not reachable from this machine")
fi

echo "== package-lock.json: sources, integrity, licences"
node -e '
const lock = require("./package-lock.json");
// Permissive licences only (as deny.toml for the crates).
const allowed = new Set(["MIT", "ISC", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "CC0-1.0", "BlueOak-1.0.0", "MIT OR Apache-2.0", "(MIT OR CC0-1.0)", "Unlicense"]);
const bad = [];
let n = 0;
for (const [path, p] of Object.entries(lock.packages || {})) {
  if (path === "" || p.link) continue;
  n++;
  // No "resolved" means the default registry (registry.npmjs.org); anything else is refused.
  if (p.resolved && !p.resolved.startsWith("https://registry.npmjs.org/")) bad.push(`${path}: resolved from ${p.resolved}`);
  if (!p.integrity || !p.integrity.startsWith("sha512-")) bad.push(`${path}: no sha512 integrity`);
  // CC-BY-4.0: caniuse-lite'"'"'s browser data, a build tool'"'"'s input that never reaches dist/.
  const ok = allowed.has(p.license) || (p.dev && p.license === "CC-BY-4.0");
  if (!ok) bad.push(`${path}: licence ${p.license}${p.dev ? "" : " (shipped)"}`);
}
if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
console.log(`${n} packages: registry.npmjs.org, sha512 integrity, permissive licences`);
' || failed+=("package-lock")

echo "== npm audit"
audit_out=$(timeout 120 npm audit --audit-level=high 2>&1); audit_rc=$?
if [ $audit_rc -eq 0 ]; then
    echo "$audit_out" | tail -1
elif echo "$audit_out" | grep -qE "audit endpoint returned an error|ENOTFOUND|ECONNREFUSED|network|405"; then
    not_run+=("npm audit: the registry's audit endpoint did not answer ($(echo "$audit_out" | grep -m1 -oE '[0-9]{3} [A-Za-z ]+ - POST|ENOTFOUND|ECONNREFUSED'))")
else
    echo "$audit_out"; failed+=("npm audit")
fi

echo "== dist/: no string evaluated as code, CSP"
if [ -d dist ]; then
    hits=$(grep -lE '(^|[^A-Za-z0-9_$.])eval\(|new Function\(|set(Timeout|Interval)\(\s*["'\'']' dist/*.js dist/*.html 2>/dev/null)
    [ -z "$hits" ] || { echo "string evaluation in: $hits"; failed+=("eval in dist"); }
    for page in dist/index.html dist/dicom-deid.html; do
        csp=$(grep -o 'Content-Security-Policy" content="[^"]*' "$page" | head -1)
        echo "$csp" | grep -q "connect-src 'none'" || { echo "$page: no connect-src 'none'"; failed+=("CSP $page"); }
        echo "$csp" | grep -q "'unsafe-eval'" && { echo "$page: CSP allows unsafe-eval"; failed+=("CSP $page"); }
    done
    echo "dist: checked"
else
    not_run+=("dist/ checks: no dist/ (run npm run build first)")
fi

for n in "${not_run[@]}"; do echo "supply-chain: NOT RUN: $n"; done
if [ ${#failed[@]} -gt 0 ]; then
    echo "supply-chain: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "supply-chain: passed (${#not_run[@]} check(s) not run, listed above)"
