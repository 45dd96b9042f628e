#!/usr/bin/env bash
# coverage-report.sh BUILD_DIR: after `make test PRESET=coverage`, merge
# the raw profiles the tests wrote and print a per-file line-coverage
# summary of the project's own sources (not of the tests).
set -euo pipefail
build=${1:-build/coverage}
profdata=llvm-profdata-14
cov=llvm-cov-14
shopt -s nullglob
raws=("$build"/tests/*/*.profraw "$build"/tests/*/default.profraw)
[[ ${#raws[@]} -gt 0 ]] || { echo "coverage: no .profraw under $build/tests" >&2; exit 1; }
$profdata merge -sparse "${raws[@]}" -o "$build/xpv.profdata"
bins=()
for t in "$build"/tests/*/test_* "$build"/tests/support/xpv-selftest; do
	[[ -x "$t" && -f "$t" ]] && bins+=("$t")
done
args=("${bins[0]}")
for b in "${bins[@]:1}"; do args+=(-object "$b"); done
$cov report "${args[@]}" -instr-profile="$build/xpv.profdata" \
	-ignore-filename-regex='(tests/|/usr/)' | tail -n 25
