#!/usr/bin/env bash
# fuzz-campaign.sh: a time-boxed fuzz campaign over one or all fuzz targets
# with libFuzzer or AFL++, then crash triage (minimise, deduplicate by
# oracle and top project frames, compare with corpus/regressions/) and a
# merge of new coverage into corpus/NAME/. fuzz/README.md "Campaigns" has
# the walk-through; `--help` the options.
#
# Exit status: 0 no new crash (and, if the canary ran, it crashed);
# 1 a new crash, or a canary that did not crash; 2 bad usage; 3 set-up or
# engine failure (build, a fuzzer that would not start, a bad merge).
# Engine steps are called by name ("${ENGINE}_start"), which shellcheck
# cannot follow.
# shellcheck disable=SC2317
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# An input running longer than this (wall clock) is a hang. In the runs
# behind fuzz/README.md the slowest took under a second (libFuzzer's
# stat::slowest_unit_time_sec 0), ASan and UBSan included.
TIMEOUT_S=10
# Crash inputs triaged per target; AFL++ can save hundreds for one bug.
MAX_TRIAGE=100
# libFuzzer: seconds per -minimize_crash step, and for the whole minimisation.
MIN_STEP_S=10
MIN_TOTAL_S=90
SYMBOLIZER=/usr/bin/llvm-symbolizer-14

ENGINE=libfuzzer
BUDGET=600
JOBS=$(nproc)
SEED=1
OUT=
BUILD=
MERGE=1
TARGETS=()

usage() {
	cat <<EOF
usage: scripts/fuzz-campaign.sh [options] [TARGET...]

Fuzzes each TARGET (default: every fuzz/fuzz_NAME.c except the canary) in
turn for its share of the budget, on all cores, then minimises and
deduplicates the crashes, reports the new ones and merges new coverage
into corpus/TARGET/.

  --engine libfuzzer|afl   engine (default libfuzzer)
  --time SECONDS           fuzzing budget for all targets together, split
                           evenly; time a target leaves unused (it stopped
                           at a crash) goes to the ones after it (default 600)
  --jobs N                 fuzzer processes per target (default: nproc, $(nproc))
  --seed N                 seed of the first process; process i gets N+i (default 1)
  --out DIR                output directory (default build/campaign-ENGINE);
                           emptied first, so it must be one this script made
  --build DIR              engine build (default build/fuzz or build/afl);
                           configured from the preset and built if needed
  --no-merge               leave corpus/ alone
  -h, --help               this text

Exit status: 0 no new crash; 1 a new crash (inputs in OUT/crashes/), or the
canary did not crash; 2 bad usage; 3 set-up or engine failure.
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'fuzz-campaign: %s\n' "$*" >&2; }
die() { warn "$*"; exit 3; }
usage_error() { warn "$*"; warn "run with --help for the options"; exit 2; }
now() { date +%s; }
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# ---- options ---------------------------------------------------------------

want_number() {
	[[ "$2" =~ ^[0-9]+$ ]] || usage_error "$1 '$2': want a whole number"
}

known_targets() {
	local f
	for f in "$ROOT"/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		echo "${f%.c}"
	done
}

parse_args() {
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--engine) [[ $# -ge 2 ]] || usage_error "--engine needs a value"
			ENGINE=$2; shift 2 ;;
		--time) [[ $# -ge 2 ]] || usage_error "--time needs a value"
			want_number --time "$2"; BUDGET=$2; shift 2 ;;
		--jobs) [[ $# -ge 2 ]] || usage_error "--jobs needs a value"
			want_number --jobs "$2"; JOBS=$2; shift 2 ;;
		--seed) [[ $# -ge 2 ]] || usage_error "--seed needs a value"
			want_number --seed "$2"; SEED=$2; shift 2 ;;
		--out) [[ $# -ge 2 ]] || usage_error "--out needs a value"
			OUT=$2; shift 2 ;;
		--build) [[ $# -ge 2 ]] || usage_error "--build needs a value"
			BUILD=$2; shift 2 ;;
		--no-merge) MERGE=0; shift ;;
		-h|--help) usage; exit 0 ;;
		-*) usage_error "unknown option '$1'" ;;
		*) TARGETS+=("$1"); shift ;;
		esac
	done
	case "$ENGINE" in
	libfuzzer) BUILD=${BUILD:-$ROOT/build/fuzz} ;;
	afl) BUILD=${BUILD:-$ROOT/build/afl} ;;
	*) usage_error "--engine '$ENGINE': want libfuzzer or afl" ;;
	esac
	OUT=$(realpath -m "${OUT:-$ROOT/build/campaign-$ENGINE}")
	BUILD=$(realpath -m "$BUILD")
	[[ $JOBS -ge 1 ]] || usage_error "--jobs must be at least 1"
	# libFuzzer takes -seed=0 as "pick one at random".
	[[ $SEED -ge 1 ]] || usage_error "--seed must be at least 1"
	pick_targets
	[[ $BUDGET -ge ${#TARGETS[@]} ]] ||
		usage_error "--time $BUDGET: less than a second for each of ${#TARGETS[@]} targets"
}

pick_targets() {
	local all t
	all=$(known_targets)
	if [[ ${#TARGETS[@]} -eq 0 ]]; then
		mapfile -t TARGETS < <(grep -vx canary <<<"$all")
		return
	fi
	for t in "${TARGETS[@]}"; do
		grep -qx "$t" <<<"$all" ||
			usage_error "unknown target '$t' (have: $(tr '\n' ' ' <<<"$all"))"
	done
}

# ---- set-up ----------------------------------------------------------------

need_tools() {
	local t tools=(cmake sha1sum setarch "$SYMBOLIZER")
	[[ $ENGINE == afl ]] && tools+=(afl-fuzz afl-tmin afl-showmap)
	for t in "${tools[@]}"; do
		command -v "$t" >/dev/null ||
			die "$t not found: run scripts/deps.sh (as root) first"
	done
}

# Configures BUILD from the engine's preset when it has no cache yet (the
# presets' own directory is just the default), then brings the targets up
# to date: a stale binary would fuzz yesterday's code.
ensure_build() {
	local preset=fuzz cache=$BUILD/CMakeCache.txt have log
	[[ $ENGINE == afl ]] && preset=afl
	log=$(mktemp)
	if [[ ! -f $cache ]]; then
		say "building: cmake --preset $preset -B $BUILD"
		(cd "$ROOT" && cmake --preset "$preset" -B "$BUILD") >"$log" 2>&1 ||
			{ cat "$log" >&2; rm -f "$log"; die "configuring $BUILD failed"; }
	fi
	have=$(sed -n 's/^XPV_FUZZ_ENGINE:STRING=//p' "$cache")
	[[ $have == "$ENGINE" ]] ||
		die "$BUILD is configured for engine '${have:-none}', not $ENGINE: pass --build DIR"
	cmake --build "$BUILD" --target fuzz-targets >"$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; rm -f "$log"; die "building the targets in $BUILD failed"; }
	rm -f "$log"
	SRC_ROOT=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
}

# The output directory is emptied before each run, so refuse one that this
# script did not make (its marker file says so).
prepare_out() {
	if [[ -e $OUT && ! -e $OUT/.fuzz-campaign ]] &&
		[[ -n $(ls -A "$OUT" 2>/dev/null) ]]; then
		die "$OUT exists and was not made by this script: give another --out"
	fi
	rm -rf "$OUT"
	mkdir -p "$OUT/crashes"
	touch "$OUT/.fuzz-campaign"
}

# The session targets leave image files behind when they crash.
remove_scratch() {
	rm -rf "$OUT"/*/tmp
}

# setarch -R turns address randomisation off for the fuzzers: libFuzzer
# records compared values, pointers among them, so with randomisation on
# the same seed gives different mutations in each run.
NORAND=()
check_norand() {
	if setarch -R true 2>/dev/null; then
		NORAND=(setarch -R)
	else
		warn "setarch -R refused here: runs with one seed will differ more"
	fi
}

# ---- processes -------------------------------------------------------------

PIDS=()
stop_workers() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	PIDS=()
}

on_signal() {
	warn "interrupted: stopping the fuzzers"
	stop_workers
	exit 130
}

any_alive() {
	local p
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

# Waits for every worker; returns the first non-zero status among them.
wait_workers() {
	local p rc first=0
	for p in "${PIDS[@]}"; do
		rc=0
		wait "$p" || rc=$?
		[[ $first -eq 0 ]] && first=$rc
	done
	PIDS=()
	return "$first"
}

# Prints a progress line every few seconds while workers run.
monitor() {
	local name=$1 start=$2 secs=$3 every next t
	every=$((secs / 8))
	((every < 5)) && every=5
	((every > 60)) && every=60
	next=$((start + every))
	while any_alive; do
		sleep 1
		t=$(now)
		((t < next)) && continue
		next=$((t + every))
		progress_line "$name" "$start" "$secs" "$t"
	done
}

progress_line() {
	local name=$1 start=$2 secs=$3 t=$4 left campaign_left stats
	left=$((start + secs - t))
	((left < 0)) && left=0
	campaign_left=$((BUDGET - USED - (t - start)))
	((campaign_left < 0)) && campaign_left=0
	stats=$("${ENGINE}_progress" "$name")
	say "[$name $(mmss $((t - start)))/$(mmss "$secs"), left $(mmss $left), campaign left $(mmss $campaign_left)] $stats"
}

# ---- libFuzzer -------------------------------------------------------------

# Seeds: corpus/NAME and the regression inputs (fixed bugs, so inputs
# near past failures). A regression input that crashes today is an open
# bug: libFuzzer would stop on it before fuzzing, so it is left out
# (triage still compares findings with it). The canary's regressions are
# inputs that must crash: never seeds.
prepare_seeds() {
	local name=$1 dir=$OUT/$1/seeds f rc
	mkdir -p "$dir" "$OUT/$name/logs" "$OUT/$name/tmp"
	find "$ROOT/corpus/$name" -maxdepth 1 -type f ! -name '.*' -exec cp -t "$dir" {} +
	[[ $name == canary || ! -d $ROOT/corpus/regressions/$name ]] && return 0
	for f in "$ROOT/corpus/regressions/$name"/*; do
		[[ -f $f ]] || continue
		rc=$(replay "$name" "$f" "$OUT/$name/logs/seed-check-${f##*/}.log")
		if [[ $rc -eq 0 ]]; then
			cp "$f" "$dir/"
		else
			warn "$name: corpus/regressions/$name/${f##*/} crashes (an open bug): not a seed"
		fi
	done
}

dict_of() {
	local d=$ROOT/fuzz/dict/$1.dict
	[[ -f $d ]] && echo "$d"
	return 0
}

# libFuzzer's -jobs would give every job the same -seed, and the jobs would
# repeat one another; so the script starts the N processes itself, as -jobs
# does (same flags, one log each, one shared corpus directory that each
# process re-reads), with seeds SEED..SEED+N-1.
libfuzzer_start() {
	local name=$1 secs=$2 dir=$OUT/$1 bin=$BUILD/fuzz/fuzz_$1 i reload=1
	local args dict
	mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/logs" "$dir/tmp"
	# One process has nobody to re-read from; re-reading its own
	# directory only reorders its work with the wall clock.
	[[ $JOBS -eq 1 ]] && reload=0
	args=(-max_total_time="$secs" -timeout="$TIMEOUT_S" -rss_limit_mb=2048
		-print_final_stats=1 -reload="$reload" -artifact_prefix="$dir/artifacts/")
	dict=$(dict_of "$name")
	[[ -n $dict ]] && args+=(-dict="$dict")
	prepare_seeds "$name"
	for ((i = 0; i < JOBS; i++)); do
		TMPDIR=$dir/tmp "${NORAND[@]}" "$bin" -seed=$((SEED + i)) "${args[@]}" \
			"$dir/corpus" "$dir/seeds" >"$dir/logs/fuzz-$i.log" 2>&1 &
		PIDS+=($!)
	done
}

# Last status line of each worker ("#N NEW cov: C ft: F ... exec/s: E"),
# summed (runs, exec/s) or the best of them (cov, ft).
libfuzzer_status() {
	local dir=$OUT/$1 log
	for log in "$dir"/logs/fuzz-*.log; do
		grep -a '^#[0-9]' "$log" | tail -n 1 || true
	done | awk '{
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^#[0-9]+$/) runs += substr($i, 2)
			if ($i == "cov:" && $(i+1) > cov) cov = $(i+1)
			if ($i == "ft:" && $(i+1) > ft) ft = $(i+1)
			if ($i == "exec/s:") eps += $(i+1)
		}
	} END { printf "%d %d %d %d\n", runs, eps, cov, ft }'
}

libfuzzer_progress() {
	local dir=$OUT/$1 runs eps cov ft corpus crashes
	read -r runs eps cov ft < <(libfuzzer_status "$1")
	corpus=$(find "$dir/corpus" -type f | wc -l)
	crashes=$(find "$dir/artifacts" -type f | wc -l)
	echo "runs $runs, $eps exec/s, cov $cov, ft $ft, corpus +$corpus, crashes $crashes"
}

# Final numbers: executed units from -print_final_stats (the status lines
# only appear on events, so they undercount).
libfuzzer_final() {
	local name=$1 secs=$2 dir=$OUT/$1 execs runs eps cov ft
	execs=$(cat "$dir"/logs/fuzz-*.log |
		awk '/^stat::number_of_executed_units:/ { n += $2 } END { print n + 0 }')
	read -r runs eps cov ft < <(libfuzzer_status "$name")
	((execs < runs)) && execs=$runs
	stat_set "$name" execs "$execs"
	stat_set "$name" cov "$cov (edges), ft $ft"
	stat_set "$name" corpus "$(find "$dir/corpus" -type f | wc -l)"
}

libfuzzer_findings() {
	find "$OUT/$1/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \)
}

# A worker that stopped with no artifact and a non-zero status did not
# fuzz (bad flag, seed directory missing, ...): show why.
libfuzzer_check_exit() {
	local name=$1 rc=$2 log
	[[ $rc -eq 0 ]] && return 0
	[[ -n $(libfuzzer_findings "$name") ]] && return 0
	for log in "$OUT/$name"/logs/fuzz-*.log; do
		tail -n 15 "$log" >&2
	done
	die "$name: libFuzzer stopped with status $rc and no crash file"
}

# ---- AFL++ -----------------------------------------------------------------

afl_env() {
	AFL_ENV=(AFL_NO_UI=1 AFL_TRY_AFFINITY=1 AFL_SKIP_CPUFREQ=1)
	# A core_pattern that pipes to a crash handler makes afl-fuzz refuse
	# to start; it only slows crash detection down.
	if [[ $(cat /proc/sys/kernel/core_pattern 2>/dev/null) == \|* ]]; then
		AFL_ENV+=(AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1)
	fi
}

# One main (-M) and JOBS-1 secondaries (-S), seeds SEED..SEED+JOBS-1, all
# stopped by -V, with the seeds of prepare_seeds. The canary stops at its
# first crash.
afl_start() {
	local name=$1 secs=$2 dir=$OUT/$1 bin=$BUILD/fuzz/fuzz_$1 i role dict args
	local -a env=("${AFL_ENV[@]}")
	mkdir -p "$dir/afl"
	prepare_seeds "$name"
	args=(-i "$dir/seeds" -o "$dir/afl" -V "$secs" -t $((TIMEOUT_S * 1000)))
	dict=$(dict_of "$name")
	[[ -n $dict ]] && args+=(-x "$dict")
	[[ $name == canary ]] && env+=(AFL_BENCH_UNTIL_CRASH=1)
	for ((i = 0; i < JOBS; i++)); do
		role=(-S "sec$i")
		[[ $i -eq 0 ]] && role=(-M main)
		env "${env[@]}" TMPDIR="$dir/tmp" afl-fuzz "${role[@]}" -s $((SEED + i)) \
			"${args[@]}" -- "$bin" >"$dir/logs/afl-$i.log" 2>&1 &
		PIDS+=($!)
	done
}

# Sums (execs, execs/s) and maxima (edges, time of the last update) over
# the instances' fuzzer_stats.
afl_status() {
	local f
	for f in "$OUT/$1"/afl/*/fuzzer_stats; do
		[[ -f $f ]] && cat "$f"
	done | awk -F' *: *' '
		$1 == "execs_done" { execs += $2 }
		$1 == "execs_per_sec" { eps += $2 }
		$1 == "edges_found" && $2 > edges { edges = $2 }
		$1 == "total_edges" { total = $2 }
		$1 == "last_update" && $2 > last { last = $2 }
		$1 == "run_time" && $2 > run { run = $2 }
		END { printf "%.0f %.0f %d %d %d %d\n", execs, eps, edges, total, last, run }'
}

# afl-fuzz 4.04c rewrites fuzzer_stats about once a minute: queue, crash
# and hang counts come from the directories (always current), execs and
# edges from the statistics, with their age.
afl_progress() {
	local dir=$OUT/$1 execs eps edges total last run queue=0 q crashes hangs
	read -r execs eps edges total last run < <(afl_status "$1")
	for q in "$dir"/afl/*/queue; do
		q=$(find "$q" -maxdepth 1 -name 'id:*' | wc -l)
		((q > queue)) && queue=$q
	done
	crashes=$(find "$dir/afl" -path '*/crashes/id:*' | wc -l)
	hangs=$(find "$dir/afl" -path '*/hangs/id:*' | wc -l)
	if [[ $run -eq 0 ]]; then
		echo "queue $queue, crashes $crashes, hangs $hangs (execs and edges: AFL++ writes them after a minute)"
		return
	fi
	echo "queue $queue, crashes $crashes, hangs $hangs; execs $execs, $eps exec/s, edges $edges/$total (as of $(($(now) - last)) s ago)"
}

afl_final() {
	local name=$1 dir=$OUT/$1 execs eps edges total last run f sum
	read -r execs eps edges total last run < <(afl_status "$name")
	stat_set "$name" execs "$execs"
	stat_set "$name" cov "$edges of $total edges (AFL map)"
	# The campaign's corpus, named by content like corpus/NAME.
	mkdir -p "$dir/corpus"
	for f in "$dir"/afl/*/queue/id:*; do
		[[ -f $f ]] || continue
		sum=$(sha1sum "$f" | cut -d' ' -f1)
		cp "$f" "$dir/corpus/$sum"
	done
	stat_set "$name" corpus "$(find "$dir/corpus" -type f | wc -l)"
}

afl_findings() {
	find "$OUT/$1/afl" -type f \( -path '*/crashes/id:*' -o -path '*/hangs/id:*' \)
}

# afl-fuzz says why it gave up on a "PROGRAM ABORT" line (in colour).
afl_check_exit() {
	local name=$1 rc=$2 log why
	[[ $rc -eq 0 ]] && return 0
	for log in "$OUT/$name"/logs/afl-*.log; do
		tail -n 15 "$log" | sed 's/\x1b\[[0-9;]*[a-zA-Z]//g' >&2
	done
	why=$(cat "$OUT/$name"/logs/afl-*.log | sed 's/\x1b\[[0-9;]*[a-zA-Z]//g' |
		sed -n 's/.*PROGRAM ABORT : *//p' | head -n 1)
	die "$name: afl-fuzz stopped with status $rc${why:+: $why} (logs in $OUT/$name/logs)"
}

# ---- per-target statistics ---------------------------------------------------

stat_set() { echo "$2=$3" >>"$OUT/$1/stats"; }
stat_get() { sed -n "s/^$2=//p" "$OUT/$1/stats" | tail -n 1; }

# ---- fuzzing ---------------------------------------------------------------

USED=0
fuzz_target() {
	local name=$1 secs=$2 start rc=0 took
	say ""
	say "== $name: $ENGINE, $JOBS process(es), seeds $SEED..$((SEED + JOBS - 1)), $secs s"
	mkdir -p "$OUT/$name"
	: >"$OUT/$name/stats"
	start=$(now)
	"${ENGINE}_start" "$name" "$secs"
	monitor "$name" "$start" "$secs"
	wait_workers || rc=$?
	took=$(($(now) - start))
	USED=$((USED + took))
	"${ENGINE}_check_exit" "$name" "$rc"
	"${ENGINE}_final" "$name" "$secs"
	stat_set "$name" seconds "$took"
	say "$name: $(stat_get "$name" execs) execs in $took s ($(($(stat_get "$name" execs) / (took > 0 ? took : 1))) per second), coverage $(stat_get "$name" cov)"
}

# ---- triage ------------------------------------------------------------------

# Replays one input in the engine build (ASan + UBSan) with symbolised
# stacks and writes the log; abort() is made an ASan report too, so oracle
# failures and assertions get a stack.
replay() {
	local name=$1 input=$2 log=$3 bin=$BUILD/fuzz/fuzz_$1 rc=0
	local -a env=(TMPDIR="$OUT/$name/tmp" ASAN_SYMBOLIZER_PATH="$SYMBOLIZER"
		ASAN_OPTIONS=handle_abort=1:symbolize=1:detect_leaks=1
		UBSAN_OPTIONS=print_stacktrace=1:symbolize=1:halt_on_error=1)
	if [[ $ENGINE == libfuzzer ]]; then
		env "${env[@]}" timeout -k 5 $((TIMEOUT_S * 3)) "$bin" \
			-timeout=$TIMEOUT_S -rss_limit_mb=2048 "$input" >"$log" 2>&1 || rc=$?
	else
		# SIGABRT on a hang makes ASan print where the input was stuck.
		env "${env[@]}" timeout -s ABRT -k 5 $TIMEOUT_S "$bin" "$input" \
			>"$log" 2>&1 || rc=$?
	fi
	echo "$rc"
}

# Reads a replay log; prints the crash kind on line 1 and the top three
# frames in the project's sources on line 2 ("func file:line | ...").
# Kind, strongest first: the fuzz oracle that fired (with the checkers
# that counted violations), a frontend assertion, a UBSan or ASan/LSan
# error, a libFuzzer timeout or memory limit, a hang, a plain abort.
parse_replay() {
	local log=$1 rc=$2
	awk -v root="$SRC_ROOT/" -v rc="$rc" '
	function set(p, k) { if (p > prio) { prio = p; kind = k } }
	function norm(s) {
		gsub(/0x[0-9a-fA-F]+/, "ADDR", s); gsub(/[0-9]+/, "N", s)
		gsub(/\047[^\047]*\047/, "T", s); return substr(s, 1, 60)
	}
	/fuzz oracle [^ ]+ failed/ {
		n = split($0, w, " ")
		for (i = 1; i < n; i++) if (w[i] == "oracle") o = w[i+1]
		set(7, "oracle " o); checkers = (o == "checkers"); next
	}
	# In the order the report lists them, so equal sets read the same.
	checkers && /^  [a-z0-9-]+ +[0-9]+$/ {
		if (!($1 in fired)) list = list (list == "" ? "" : ",") $1
		fired[$1] = 1; next
	}
	/frontend assertion failed: / {
		s = $0; sub(/.*frontend assertion failed: /, "", s)
		sub(/ \([^)]*\)$/, "", s); set(6, "assertion " s); next
	}
	/runtime error: / {
		s = $0; sub(/.*runtime error: /, "", s); set(5, "ubsan " norm(s))
	}
	/ERROR: LeakSanitizer:/ { set(4, "leak") }
	/ERROR: AddressSanitizer: / {
		s = $0; sub(/.*ERROR: AddressSanitizer: /, "", s); split(s, w, " ")
		if (w[1] == "ABRT") set(1, "abort"); else set(4, "asan " w[1])
	}
	/ERROR: libFuzzer: timeout/ { set(3, "timeout") }
	/ERROR: libFuzzer: out-of-memory/ { set(3, "out-of-memory") }
	/ERROR: libFuzzer: malloc/ { set(3, "malloc-limit") }
	/ERROR: libFuzzer: deadly signal/ { set(1, "abort") }
	# The first stack only: frames in the project, not the reporting helpers.
	/^ *#[0-9]+ 0x[0-9a-f]+ in / && !done {
		stack = 1
		if (index($5, root) != 1) next
		f = substr($5, length(root) + 1); sub(/:[0-9]+$/, "", f)
		if ($4 == "fuzz_fail" || $4 == "xpv_assert_fail" || f ~ /^fuzz\/support\//) next
		if (nf < 3) frames[++nf] = $4 " " f
		next
	}
	stack && !/^ *#/ { done = 1 }
	END {
		if (rc == 124) set(3, "hang")
		if (kind == "" && rc == 0) kind = "no crash on replay"
		if (kind == "") kind = "exit status " rc
		if (kind == "oracle checkers") kind = kind " [" list "]"
		print kind
		s = ""; for (i = 1; i <= nf; i++) s = s (i > 1 ? " | " : "") frames[i]
		print (s == "" ? "(no frame in the project)" : s)
	}' "$log"
}

# The grouping key: kind plus function and file of each frame (line
# numbers move with every edit; a function rarely changes its name).
signature_key() {
	awk 'NR == 1 { k = $0 } NR == 2 && !/^\(/ { n = split($0, f, " [|] ")
		for (i = 1; i <= n; i++) { split(f[i], p, " "); sub(/:[0-9]+$/, "", p[2]); k = k " < " p[1] "@" p[2] } }
		END { print k }'
}

# Shrinks one crash input, keeping any crash; the caller checks that the
# result still fails the same way. Timeouts and hangs are kept as found.
minimise() {
	local name=$1 input=$2 out=$3 kind=$4 bin=$BUILD/fuzz/fuzz_$1
	local log=$OUT/$1/logs/minimise-${input##*/}.log
	case "$kind" in timeout|hang|out-of-memory) return 1 ;; esac
	if [[ $ENGINE == libfuzzer ]]; then
		TMPDIR=$OUT/$name/tmp timeout -k 5 $MIN_TOTAL_S "$bin" -minimize_crash=1 \
			-max_total_time=$MIN_STEP_S -timeout=$TIMEOUT_S \
			-exact_artifact_path="$out" "$input" >"$log" 2>&1 || true
	else
		TMPDIR=$OUT/$name/tmp timeout -k 5 $MIN_TOTAL_S afl-tmin -i "$input" -o "$out" \
			-t $((TIMEOUT_S * 1000)) -- "$bin" >"$log" 2>&1 || true
	fi
	[[ -s $out ]]
}

# Signatures of the regression inputs that crash today (a fixed bug that
# came back), each with its file: a finding with one of them is not new,
# but the report says the bug is back.
regression_keys() {
	local name=$1 f rc dir=$ROOT/corpus/regressions/$1 log
	[[ -d $dir ]] || return 0
	for f in "$dir"/*; do
		[[ -f $f ]] || continue
		log=$OUT/$name/triage/regression-${f##*/}.log
		rc=$(replay "$name" "$f" "$log")
		[[ $rc -eq 0 ]] && continue
		printf '%s\t%s\n' "$(parse_replay "$log" "$rc" | signature_key)" "${f##*/}"
	done
}

is_regression_file() {
	local name=$1 file=$2
	[[ -f $ROOT/corpus/regressions/$name/$(sha1sum "$file" | cut -d' ' -f1) ]]
}

# Groups the findings of one target by signature, minimises the smallest
# input of each group, and sorts the groups into new, known and (for the
# canary) expected. Writes OUT/NAME/triage/groups and counts.
triage_target() {
	local name=$1 dir=$OUT/$1 tri=$OUT/$1/triage f rc log key i=0 total
	mkdir -p "$tri"
	: >"$tri/findings"
	mapfile -t files < <("${ENGINE}_findings" "$name" | xargs -r ls -S -r)
	total=${#files[@]}
	stat_set "$name" findings "$total"
	if [[ $total -eq 0 ]]; then
		stat_set "$name" new 0
		stat_set "$name" known 0
		stat_set "$name" expected 0
		return
	fi
	[[ $total -gt $MAX_TRIAGE ]] &&
		warn "$name: $total crash inputs, triaging the $MAX_TRIAGE smallest"
	say "$name: triage of $total crash input(s)"
	for f in "${files[@]:0:$MAX_TRIAGE}"; do
		i=$((i + 1))
		log=$tri/replay-$i.log
		rc=$(replay "$name" "$f" "$log")
		parse_replay "$log" "$rc" >"$tri/sig-$i"
		key=$(signature_key <"$tri/sig-$i")
		printf '%s\t%s\t%s\n' "$key" "$i" "$f" >>"$tri/findings"
	done
	classify_groups "$name"
}

# One representative per signature: the smallest input (the findings are
# sorted by size), minimised if the minimised input fails the same way.
classify_groups() {
	local name=$1 tri=$OUT/$1/triage key i f seen="" status known_keys
	known_keys=$(regression_keys "$name")
	: >"$tri/groups"
	# fd 3: the fuzz binaries run inside must not eat the list.
	while IFS=$'\t' read -r -u 3 key i f; do
		grep -qxF "$key" <<<"$seen" && continue
		seen+=$key$'\n'
		represent_group "$name" "$key" "$i" "$f" "$known_keys" </dev/null
	done 3<"$tri/findings"
	for status in new known expected; do
		stat_set "$name" "$status" "$(awk -F'\t' -v s=$status '$1 == s' "$tri/groups" | wc -l)"
	done
}

represent_group() {
	local name=$1 key=$2 i=$3 f=$4 known_keys=$5 tri=$OUT/$1/triage
	local kind min input status reason sum count rc again
	kind=$(head -n 1 "$tri/sig-$i")
	count=$(awk -F'\t' -v k="$key" '$1 == k' "$tri/findings" | wc -l)
	input=$f
	min=$tri/min-$i
	if minimise "$name" "$f" "$min" "$kind"; then
		rc=$(replay "$name" "$min" "$tri/replay-min-$i.log")
		if [[ $(parse_replay "$tri/replay-min-$i.log" "$rc" | signature_key) == "$key" ]]; then
			input=$min
		else
			say "$name: the minimised input fails differently; keeping the original"
		fi
	fi
	sum=$(sha1sum "$input" | cut -d' ' -f1)
	again=$(awk -F'\t' -v k="$key" '$1 == k { print $2; exit }' <<<"$known_keys")
	status=known
	if [[ $name == canary ]]; then
		status=expected reason="the canary crashes on purpose"
	elif is_regression_file "$name" "$f" || is_regression_file "$name" "$input"; then
		reason="the input is in corpus/regressions/$name"
	elif [[ -n $again ]]; then
		reason="as corpus/regressions/$name/$again, which crashes today: an open bug (ctest fuzz-regression fails too)"
		warn "$name: regression input $again crashes today"
	else
		status=new reason="not in corpus/regressions/$name"
	fi
	if [[ $status != known ]]; then
		mkdir -p "$OUT/crashes/$name"
		cp "$input" "$OUT/crashes/$name/$sum"
		crash_note "$name" "$i" "$f" "$input" "$count" >"$OUT/crashes/$name/$sum.txt"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$status" "$sum" "$count" "$kind" \
		"$(sed -n 2p "$tri/sig-$i")" "$(stat -c %s "$input")" "$reason" "$input" >>"$tri/groups"
	say "$name: $status crash ($count input(s)): $(head -n 1 "$tri/sig-$i")"
	say "    at $(sed -n 2p "$tri/sig-$i")"
}

# The text kept beside a crash input: what failed, where, and how to see
# it again.
crash_note() {
	local name=$1 i=$2 raw=$3 input=$4 count=$5 tri=$OUT/$1/triage sum
	sum=$(sha1sum "$input" | cut -d' ' -f1)
	cat <<EOF
target:    $name
kind:      $(sed -n 1p "$tri/sig-$i")
frames:    $(sed -n 2p "$tri/sig-$i")
inputs:    $count with this signature; this one $(stat -c %s "$input") bytes (found: $(stat -c %s "$raw") bytes, $raw)
reproduce: $BUILD/fuzz/fuzz_$name $OUT/crashes/$name/$sum
           build/default/fuzz/fuzz_$name $OUT/crashes/$name/$sum   (from the repository: gcc replay build)
EOF
	if [[ $name == scsifront* ]]; then
		echo "           XPV_FUZZ_LOG=1 build/default/fuzz/fuzz_$name $OUT/crashes/$name/$sum   (frontend log and trace)"
	fi
	cat <<EOF
keep:      scripts/corpus-add.sh regressions/$name $OUT/crashes/$name/$sum

replay log (first 60 lines):
EOF
	head -n 60 "$tri/replay-$i.log"
}

# ---- merge -------------------------------------------------------------------

list_corpus() { find "$1" -maxdepth 1 -type f ! -name '.*' -printf '%f\n' | sort; }

# Every file merged into corpus/NAME must be named by the SHA-1 of its
# content (the corpus rule; libFuzzer's merge names files that way).
check_names() {
	local dir=$1 f sum
	shift
	for f in "$@"; do
		sum=$(sha1sum "$dir/$f" | cut -d' ' -f1)
		[[ $sum == "$f" ]] || die "merge wrote $dir/$f, whose SHA-1 is $sum"
	done
}

merge_target() {
	local name=$1 dest=$ROOT/corpus/$1 before after added
	if [[ $MERGE -eq 0 || $name == canary ]]; then
		stat_set "$name" merged "-"
		return
	fi
	before=$(list_corpus "$dest")
	"${ENGINE}_merge" "$name"
	after=$(list_corpus "$dest")
	mapfile -t added < <(comm -13 <(echo "$before") <(echo "$after"))
	check_names "$dest" "${added[@]}"
	stat_set "$name" merged "${#added[@]}"
	say "$name: merged ${#added[@]} input(s) adding coverage into corpus/$name"
}

# libFuzzer's merge adds the inputs of the campaign's corpus that add
# features (edges and hit counts) not already in corpus/NAME.
libfuzzer_merge() {
	local name=$1 dir=$OUT/$1 log=$OUT/$1/logs/merge.log
	TMPDIR=$dir/tmp "$BUILD/fuzz/fuzz_$name" -merge=1 -timeout="$TIMEOUT_S" \
		-rss_limit_mb=2048 "$ROOT/corpus/$name" "$dir/corpus" >"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "$name: libFuzzer merge failed ($log)"; }
}

# The same rule with AFL++'s own maps: afl-showmap gives each input's
# edges with hit-count classes; taken smallest first, an input is added
# when it has one that corpus/NAME and the inputs added before it lack.
afl_merge() {
	local name=$1 dir=$OUT/$1 maps=$OUT/$1/maps f sum
	rm -rf "$maps"
	mkdir -p "$maps/old" "$maps/new"
	afl_showmap "$name" "$ROOT/corpus/$name" "$maps/old"
	afl_showmap "$name" "$dir/corpus" "$maps/new"
	find "$dir/corpus" -type f -printf '%s %f\n' | sort -n | cut -d' ' -f2 |
		awk -v old="$maps/old" -v new="$maps/new" '
		BEGIN {
			cmd = "find " old " -type f"
			while ((cmd | getline f) > 0)
				while ((getline t < f) > 0) seen[t] = 1
		}
		{
			f = new "/" $1; add = 0
			while ((getline t < f) > 0) if (!(t in seen)) { seen[t] = 1; add = 1 }
			close(f)
			if (add) print $1
		}' >"$maps/added"
	while read -r f; do
		sum=$(sha1sum "$dir/corpus/$f" | cut -d' ' -f1)
		cp "$dir/corpus/$f" "$ROOT/corpus/$name/$sum"
	done <"$maps/added"
}

afl_showmap() {
	local name=$1 in=$2 out=$3 log=$OUT/$1/logs/showmap.log
	TMPDIR=$OUT/$name/tmp afl-showmap -q -i "$in" -o "$out" -t $((TIMEOUT_S * 1000)) \
		-- "$BUILD/fuzz/fuzz_$name" >>"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "$name: afl-showmap failed on $in ($log)"; }
}

# ---- report ------------------------------------------------------------------

report_row() {
	local n=$1 secs execs
	secs=$(stat_get "$n" seconds)
	execs=$(stat_get "$n" execs)
	printf '%-18s %6s %12s %9s %7s %7s %4s %6s %9s  %s\n' "$n" "$secs" "$execs" \
		"$((execs / (secs > 0 ? secs : 1)))" "$(stat_get "$n" corpus)" \
		"$(stat_get "$n" merged)" "$(stat_get "$n" new)" "$(stat_get "$n" known)" \
		"$(stat_get "$n" expected)" "$(stat_get "$n" cov)"
}

report_groups() {
	local n f status sum count kind frames size reason path
	for n in "${TARGETS[@]}"; do
		f=$OUT/$n/triage/groups
		[[ -f $f ]] || continue
		while IFS=$'\t' read -r status sum count kind frames size reason path; do
			echo "$status  $n: $kind ($count input(s))"
			echo "      at $frames"
			if [[ $status == known ]]; then
				echo "      input: $path ($size bytes)"
			else
				echo "      input: $OUT/crashes/$n/$sum ($size bytes); notes in $sum.txt"
			fi
			echo "      $reason"
		done <"$f"
	done
}

write_report() {
	local n
	{
		echo "fuzz campaign: engine $ENGINE, seeds $SEED..$((SEED + JOBS - 1)), $JOBS process(es) per target"
		echo "budget $BUDGET s for ${#TARGETS[@]} target(s), $USED s used; build $BUILD; output $OUT"
		echo "source $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
		echo ""
		printf '%-18s %6s %12s %9s %7s %7s %4s %6s %9s  %s\n' target seconds execs "execs/s" \
			corpus merged new known expected coverage
		for n in "${TARGETS[@]}"; do report_row "$n"; done
		echo ""
		echo "corpus: inputs in the campaign's corpus; merged: of them added to corpus/TARGET"
		echo "new/known/expected: crash signatures (kind + top project frames); known: the input"
		echo "or its signature is in corpus/regressions/TARGET; expected: the canary's"
		echo ""
		echo "crashes:"
		report_groups
		echo "(end)"
	} >"$OUT/report.txt"
}

# ---- verdict -----------------------------------------------------------------

verdict() {
	local n new=0 status=0
	for n in "${TARGETS[@]}"; do
		if [[ $n == canary ]]; then
			if [[ $(stat_get canary findings) -eq 0 ]]; then
				warn "the canary did not crash in $(stat_get canary seconds) s: this pipeline would not notice a crash"
				status=1
			else
				say "canary: crashed, as it must (expected, not a failure)"
			fi
			continue
		fi
		new=$((new + $(stat_get "$n" new)))
	done
	if [[ $new -gt 0 ]]; then
		warn "$new new crash signature(s): inputs and notes in $OUT/crashes/"
		status=1
	fi
	return $status
}

main() {
	local n left secs i status=0
	parse_args "$@"
	cd "$ROOT"
	bash "$ROOT/scripts/deps.sh"
	need_tools
	ensure_build
	prepare_out
	check_norand
	[[ $ENGINE == afl ]] && afl_env
	trap on_signal INT TERM
	trap remove_scratch EXIT
	say "fuzz campaign: ${TARGETS[*]}; $ENGINE, budget $BUDGET s, $JOBS process(es) per target, seed $SEED, output $OUT"
	for ((i = 0; i < ${#TARGETS[@]}; i++)); do
		n=${TARGETS[$i]}
		left=$((BUDGET - USED))
		secs=$((left / (${#TARGETS[@]} - i)))
		((secs < 1)) && secs=1
		fuzz_target "$n" "$secs"
		triage_target "$n"
		merge_target "$n"
		rm -rf "$OUT/$n/tmp"
	done
	write_report
	say ""
	cat "$OUT/report.txt"
	verdict || status=$?
	exit $status
}

main "$@"
