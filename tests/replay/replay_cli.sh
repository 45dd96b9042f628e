#!/bin/sh
# replay_cli.sh XPVSIM EXAMPLES_DIR
# `xpvsim replay` as a user meets it. A PVSCSI and a PVUSB example are
# copied to a scratch directory and recorded (`xpvsim run --trace`, their
# images made there), then the configuration and the images are deleted:
# the trace alone must replay "identical" (exit 0). A copy with one
# response changed must diverge (exit 1, "divergence at ..."); a cut copy
# must be refused (exit 2, the record's byte offset named); --trace OUT
# must write a trace that replays identical again; --report must print
# the run's report before the verdict; a seed on the command line must be
# refused (exit 2). Any other output, or any output on stderr where none
# is due, fails the test.
set -eu
xpvsim=$1
examples=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-replay-cli.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() {
	echo "FAIL: $*"
	for f in out err; do
		[ -s "$scratch/$f" ] && { echo "--- std$f:"; tail -20 "$scratch/$f"; }
	done
	exit 1
}

# replay WANT_RC ARGS...: xpvsim replay ARGS, which must exit WANT_RC;
# stdout in $scratch/out, stderr in $scratch/err.
replay() {
	want=$1
	shift
	rc=0
	"$xpvsim" replay "$@" >"$scratch/out" 2>"$scratch/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "replay $*: exit $rc, want $want"
}

# no_stderr WHAT: nothing may have been written to stderr.
no_stderr() {
	[ ! -s "$scratch/err" ] || fail "$1: unexpected stderr"
}

# identical_verdict KIND TRACE: the verdict of an identical replay is
# exactly these four lines, in this order, and nothing else.
identical_verdict() {
	kind=$1 trace=$2
	no_stderr "replay $trace"
	[ "$(wc -l <"$scratch/out")" -eq 4 ] || fail "$trace: want 4 lines"
	sed -n 1p "$scratch/out" | grep -q "^xpvsim replay $trace: $kind run of .*, seed [0-9]*, frontend xpv-[a-z]*front, faults none$" ||
		fail "$trace: first line"
	sed -n 2p "$scratch/out" | grep -Eq '^trace records read: [1-9][0-9]*; Dom0 records played: [1-9][0-9]*; guest records compared: [1-9][0-9]* \([1-9][0-9]* ring requests\); Dom0 reads of guest data checked: [1-9][0-9]*$' ||
		fail "$trace: counts line"
	sed -n 3p "$scratch/out" | grep -qx 'guest side checkers: 0 violations' ||
		fail "$trace: checkers line"
	sed -n 4p "$scratch/out" | grep -qx 'identical' || fail "$trace: verdict"
}

# record NAME CONFIG: NAME.pcap from a run of a copy of CONFIG whose
# images are made in the scratch directory; then the copy and its images
# are deleted, and nothing of the run is left but the trace.
record() {
	mkdir "$scratch/run"
	cp "$2" "$scratch/run/guest.cfg"
	"$xpvsim" run "$scratch/run/guest.cfg" --trace "$scratch/$1.pcap" \
		>"$scratch/out" 2>"$scratch/err" || fail "run $2"
	no_stderr "run $2"
	grep -qx 'checkers: clean' "$scratch/out" || fail "run $2: not clean"
	[ -d "$scratch/run/images" ] || fail "run $2: no images made"
	rm -rf "$scratch/run"
	[ -s "$scratch/$1.pcap" ] || fail "run $2: no trace written"
}

# The tool that changes and cuts traces (tools/trace-edit.py).
edit() { python3 "$examples/../tools/trace-edit.py" "$@" || fail "edit $*"; }

# changed TRACE REGEX flip|set KIND N AT [FMT VALUE]: a copy with that
# change must diverge after the changed record, in the documented format,
# the rest of the line matching REGEX.
changed() {
	trace=$1 tail=$2
	shift 2
	how=$1
	shift
	changed_rec=$(edit "$how" "$scratch/$trace" "$scratch/bad.pcap" "$@" | cut -d' ' -f1)
	replay 1 "$scratch/bad.pcap"
	no_stderr "replay of the changed $trace"
	[ "$(wc -l <"$scratch/out")" -eq 3 ] || fail "changed $trace: want 3 lines"
	line=$(sed -n 3p "$scratch/out")
	echo "$line" | grep -Eq "^divergence at [0-9]+\.[0-9]{9} s: trace record [0-9]+: $tail" ||
		fail "changed $trace: $line"
	at=$(echo "$line" | sed 's/^[^:]*: trace record \([0-9]*\):.*/\1/')
	[ "$at" -gt "$changed_rec" ] ||
		fail "changed $trace: diverged at $at, before the change ($changed_rec)"
	echo "$trace, response entry of record $changed_rec changed: $line"
}

record scsi "$examples/pvscsi-disk-cdrom.cfg"
record usb "$examples/pvusb-desk.cfg"

# Identical, from the traces alone.
replay 0 "$scratch/scsi.pcap"
identical_verdict PVSCSI "$scratch/scsi.pcap"
replay 0 "$scratch/usb.pcap"
identical_verdict PVUSB "$scratch/usb.pcap"

# One response changed. PVSCSI: the low bit of the 5th response's rslt
# (offset 100), a failed command. PVUSB: the first connect reported on
# port 4 (conn entry offset 2), empty in the example; and the first URB
# (an enumeration control transfer) stalled (status, offset 4, -32).
changed scsi.pcap '.*: field [a-z_]+: expected 0x[0-9a-f]+, got 0x[0-9a-f]+$' \
	flip 1 4 100
changed usb.pcap '.*: (field [a-z_]+|entry byte [0-9]+): expected 0x[0-9a-f]+, got 0x[0-9a-f]+$' \
	set 3 0 2 '<B' 4
changed usb.pcap '.*(request|grant|xenstore|event).*' set 2 0 4 '<i' -32

# Cut in the middle of a record: the replay runs up to there and says
# where the file broke off.
for t in scsi usb; do
	where=$(edit cut "$scratch/$t.pcap" "$scratch/cut.pcap")
	replay 2 "$scratch/cut.pcap"
	no_stderr "replay of the cut $t.pcap"
	grep -q "record ${where% *} (byte offset ${where#* })" "$scratch/out" ||
		fail "cut $t.pcap: record ${where% *} at byte offset ${where#* } not named"
	grep -qx 'identical' "$scratch/out" && fail "cut $t.pcap: identical"
done
# Cut inside its first record: refused before anything runs.
head -c 60 "$scratch/scsi.pcap" >"$scratch/cut.pcap"
replay 2 "$scratch/cut.pcap"
[ ! -s "$scratch/out" ] || fail "refused trace: output on stdout"
grep -q "record 0 (byte offset 24)" "$scratch/err" || fail "cut RUN record"

# The replay's own trace replays identical again.
for t in scsi usb; do
	replay 0 "$scratch/$t.pcap" --trace "$scratch/$t-again.pcap"
	no_stderr "replay --trace of $t.pcap"
	[ -s "$scratch/$t-again.pcap" ] || fail "--trace wrote nothing"
	replay 0 "$scratch/$t-again.pcap"
	kind=PVSCSI
	[ "$t" = usb ] && kind=PVUSB
	identical_verdict "$kind" "$scratch/$t-again.pcap"
done

# --report: the replayed run's report, then the verdict.
replay 0 "$scratch/usb.pcap" --report
no_stderr "replay --report"
report_end=$(grep -n '^checkers: clean$' "$scratch/out" | cut -d: -f1)
verdict_at=$(grep -n '^xpvsim replay ' "$scratch/out" | cut -d: -f1)
if [ -z "$report_end" ] || [ -z "$verdict_at" ]; then
	fail "--report: no report or no verdict"
fi
[ "$report_end" -lt "$verdict_at" ] || fail "--report: report after verdict"
[ "$(tail -n 1 "$scratch/out")" = identical ] || fail "--report: verdict"

# What the trace says is not overridden.
replay 2 "$scratch/scsi.pcap" --seed 3
[ ! -s "$scratch/out" ] || fail "--seed: output on stdout"
grep -q "the seed, fault plan, frontend and limits come from the trace" \
	"$scratch/err" || fail "--seed: message"
echo "replay_cli: PVSCSI and PVUSB traces replayed identical without their configuration"
