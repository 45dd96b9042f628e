#!/usr/bin/env bash
# fuzz-coverage.sh: how much of drivers/ the fuzz inputs reach. Replays the
# shipped corpus (and the corpora of fuzz-campaign.sh runs given with
# --campaign) through each target's replay binary in the coverage preset
# (clang source-based coverage), merges the profiles, writes llvm-cov HTML
# and prints a line and branch summary of drivers/. fuzz/README.md
# "Coverage" shows it in use; `--help` the options.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFDATA=llvm-profdata-14
COV=llvm-cov-14
BUILD=$ROOT/build/coverage
OUT=$ROOT/build/fuzz-coverage
CAMPAIGNS=()
TARGETS=()

usage() {
	cat <<EOF
usage: scripts/fuzz-coverage.sh [options] [TARGET...]

Replays corpus/TARGET/ and corpus/regressions/TARGET/ (and, for each
--campaign DIR, DIR/TARGET/corpus/) through the coverage build of each
TARGET (default: every target except the canary), then prints the line and
branch coverage of drivers/ and writes an HTML report of the project's
sources.

  --build DIR       coverage build (default build/coverage); configured
                    from the coverage preset and built if needed
  --out DIR         profiles, HTML and summary (default build/fuzz-coverage);
                    emptied first, so it must be one this script made
  --campaign DIR    also replay the corpora of a fuzz-campaign.sh output
                    directory (repeatable)
  -h, --help        this text
EOF
}

say() { printf '%s\n' "$*"; }
die() { printf 'fuzz-coverage: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'fuzz-coverage: %s (see --help)\n' "$*" >&2; exit 2; }

parse_args() {
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--build) [[ $# -ge 2 ]] || usage_error "--build needs a value"
			BUILD=$2; shift 2 ;;
		--out) [[ $# -ge 2 ]] || usage_error "--out needs a value"
			OUT=$2; shift 2 ;;
		--campaign) [[ $# -ge 2 ]] || usage_error "--campaign needs a value"
			[[ -f $2/.fuzz-campaign ]] ||
				usage_error "--campaign $2: not an output directory of fuzz-campaign.sh"
			CAMPAIGNS+=("$(realpath "$2")"); shift 2 ;;
		-h|--help) usage; exit 0 ;;
		-*) usage_error "unknown option '$1'" ;;
		*) TARGETS+=("$1"); shift ;;
		esac
	done
	BUILD=$(realpath -m "$BUILD")
	OUT=$(realpath -m "$OUT")
	pick_targets
}

pick_targets() {
	local all t f
	for f in "$ROOT"/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		all+="${f%.c}"$'\n'
	done
	if [[ ${#TARGETS[@]} -eq 0 ]]; then
		mapfile -t TARGETS < <(grep -vx canary <<<"${all%$'\n'}")
		return
	fi
	for t in "${TARGETS[@]}"; do
		grep -qx "$t" <<<"$all" ||
			usage_error "unknown target '$t' (have: $(tr '\n' ' ' <<<"$all"))"
	done
}

need_tools() {
	local t
	for t in cmake "$PROFDATA" "$COV"; do
		command -v "$t" >/dev/null ||
			die "$t not found: run scripts/deps.sh (as root) first"
	done
}

# A coverage build with the replay driver: configured from the preset when
# it has no cache, and refused if it is some other kind of build.
ensure_build() {
	local cache=$BUILD/CMakeCache.txt log
	log=$(mktemp)
	if [[ ! -f $cache ]]; then
		say "building: cmake --preset coverage -B $BUILD"
		(cd "$ROOT" && cmake --preset coverage -B "$BUILD") >"$log" 2>&1 ||
			{ cat "$log" >&2; rm -f "$log"; die "configuring $BUILD failed"; }
	fi
	grep -q '^XPV_COVERAGE:BOOL=ON$' "$cache" ||
		die "$BUILD is not a coverage build (XPV_COVERAGE off): pass --build DIR"
	grep -q '^XPV_FUZZ_ENGINE:STRING=$' "$cache" ||
		die "$BUILD links a fuzzing engine; a coverage build replays with the plain driver"
	cmake --build "$BUILD" --target fuzz-targets >"$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; rm -f "$log"; die "building the targets in $BUILD failed"; }
	rm -f "$log"
}

prepare_out() {
	if [[ -e $OUT && ! -e $OUT/.fuzz-coverage ]] &&
		[[ -n $(ls -A "$OUT" 2>/dev/null) ]]; then
		die "$OUT exists and was not made by this script: give another --out"
	fi
	rm -rf "$OUT"
	mkdir -p "$OUT/profraw" "$OUT/tmp" "$OUT/logs"
	touch "$OUT/.fuzz-coverage"
}

# The inputs of one target: seeds, past crashes (fixed, so they must run
# clean), and each campaign's corpus.
inputs_of() {
	local name=$1 c
	echo "$ROOT/corpus/$name"
	echo "$ROOT/corpus/regressions/$name"
	for c in "${CAMPAIGNS[@]}"; do
		echo "$c/$name/corpus"
	done
}

# One process per target writes one raw profile at exit. An input that
# crashes (an open bug in corpus/regressions/) kills the process before it
# writes: then each input runs alone, and the crashing ones are left out
# and listed.
replay_target() {
	local name=$1 bin=$BUILD/fuzz/fuzz_$1 log=$OUT/logs/$1.log
	mapfile -t paths < <(inputs_of "$name")
	# The braces' 2>/dev/null takes bash's own "Aborted" notice.
	if { LLVM_PROFILE_FILE=$OUT/profraw/$name-%p.profraw TMPDIR=$OUT/tmp \
		"$bin" --skip-missing "${paths[@]}" >"$log" 2>&1; } 2>/dev/null; then
		tail -n 1 "$log"
		return
	fi
	rm -f "$OUT/profraw/$name"-*.profraw
	say "fuzz_$name: an input crashes ($(sed -n 's/.*crashed on input //p' "$log" | head -n 1)); replaying one input per process"
	replay_each "$name" "${paths[@]}"
}

replay_each() {
	local name=$1 bin=$BUILD/fuzz/fuzz_$1 f ran=0 crashed=0
	shift
	while read -r f; do
		ran=$((ran + 1))
		{ LLVM_PROFILE_FILE=$OUT/profraw/$name-%p.profraw TMPDIR=$OUT/tmp \
			"$bin" "$f" >>"$OUT/logs/$name-each.log" 2>&1; } 2>/dev/null && continue
		crashed=$((crashed + 1))
		echo "$f" >>"$OUT/not-measured.txt"
	done < <(find "$@" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | sort)
	say "fuzz_$name: $ran inputs ran one by one, $crashed crashed and are not measured (listed in $OUT/not-measured.txt)"
}

# A path as a literal in an llvm-cov (POSIX extended) regex.
re_escape() {
	# shellcheck disable=SC2016,SC2001  # sed: one pass over a character class; $ is literal
	sed 's/[][\.*^$()+?{}|]/\\&/g' <<<"$1"
}

# Regex for llvm-cov: every file outside drivers/ (system headers, and the
# repository's other top-level directories).
not_drivers_regex() {
	local d alts=""
	for d in "$ROOT"/*/; do
		d=$(basename "$d")
		[[ $d == drivers ]] && continue
		alts+="${alts:+|}$(re_escape "$d")"
	done
	echo "^(/usr/|$(re_escape "$ROOT")/($alts)/)"
}

object_args() {
	local t first=1
	for t in "${TARGETS[@]}"; do
		if [[ $first -eq 1 ]]; then
			echo "$BUILD/fuzz/fuzz_$t"
			first=0
		else
			echo "-object"
			echo "$BUILD/fuzz/fuzz_$t"
		fi
	done
}

report() {
	local profile=$OUT/fuzz.profdata ignore
	mapfile -t objects < <(object_args)
	$PROFDATA merge -sparse "$OUT"/profraw/*.profraw -o "$profile"
	ignore=$(not_drivers_regex)
	$COV report "${objects[@]}" -instr-profile="$profile" \
		-ignore-filename-regex="$ignore" -show-branch-summary \
		>"$OUT/drivers-report.txt"
	$COV show "${objects[@]}" -instr-profile="$profile" -format=html \
		-output-dir="$OUT/html" -show-branches=count -show-line-counts-or-regions \
		-ignore-filename-regex="^(/usr/|$(re_escape "$ROOT")/tests/)"
	cat "$OUT/drivers-report.txt"
	summary_line | tee "$OUT/summary.txt"
	if [[ -s $OUT/not-measured.txt ]]; then
		say "not measured: $(wc -l <"$OUT/not-measured.txt") crashing input(s), listed in $OUT/not-measured.txt"
	fi
	say "HTML (drivers/, sim/, fuzz/): $OUT/html/index.html"
}

# The TOTAL row ends with lines, missed lines, cover, branches, missed
# branches, cover.
summary_line() {
	awk '$1 == "TOTAL" {
		l = $(NF-5); ml = $(NF-4); b = $(NF-2); mb = $(NF-1)
		printf "drivers/: lines %d of %d (%.1f%%), branches %d of %d (%.1f%%)\n",
			l - ml, l, l ? 100 * (l - ml) / l : 0, b - mb, b, b ? 100 * (b - mb) / b : 0
	}' "$OUT/drivers-report.txt"
}

main() {
	local t
	parse_args "$@"
	cd "$ROOT"
	bash "$ROOT/scripts/deps.sh"
	need_tools
	ensure_build
	prepare_out
	trap 'rm -rf "$OUT/tmp"' EXIT
	say "replaying: ${TARGETS[*]}${CAMPAIGNS[*]:+ (with the corpora of ${CAMPAIGNS[*]})}"
	for t in "${TARGETS[@]}"; do
		replay_target "$t"
	done
	report
}

main "$@"
