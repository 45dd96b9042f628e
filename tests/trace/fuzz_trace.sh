#!/bin/sh
# fuzz_trace.sh FUZZ_TARGET TSHARK DISSECTOR INPUT
# A fuzz finding opens in Wireshark: the target replays INPUT with a
# deliberately broken frontend (XPV_BREAK=complete-twice, so an oracle
# aborts mid-session) and XPV_FUZZ_TRACE set; the trace must hold the
# session up to the crash, every record readable by the dissector, none
# malformed.
set -eu
target=$1 tshark=$2 lua=$3 input=$4
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-fuzz-trace.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

XPV_BREAK=complete-twice XPV_FUZZ_TRACE="$scratch/crash.pcap" \
	"$target" --expect-crash "$input" >"$scratch/out" 2>&1 || {
	echo "the input did not crash the broken frontend"; cat "$scratch/out"
	exit 1; }
grep -q "fuzz oracle usb-giveback failed" "$scratch/out" || {
	echo "not the exactly-once oracle:"; cat "$scratch/out"; exit 1; }
show() { "$tshark" -X lua_script:"$lua" -r "$scratch/crash.pcap" "$@" \
	2>"$scratch/err"; }
frames=$(show -T fields -e frame.number | wc -l)
bad=$(show -Y '_ws.malformed || _ws.expert.severity == error' | wc -l)
urbs=$(show -Y 'xpvtrace.usb.id && xpvtrace.ring.dir == 0' | wc -l)
if grep -v "Running as user" "$scratch/err" | grep -q .; then
	echo "tshark complained:"; cat "$scratch/err"; exit 1
fi
[ "$frames" -gt 0 ] || { echo "empty trace"; exit 1; }
[ "$bad" -eq 0 ] || { echo "$bad malformed records"; exit 1; }
[ "$urbs" -gt 0 ] || { echo "no URB request recorded before the crash"; exit 1; }
echo "crash trace: $frames records, $urbs URB requests, none malformed"
