#!/bin/sh
# test_dissector_broken.sh TSHARK LUA [EDITCAP XPVSIM EXAMPLES_DIR]
# The xpvtrace Lua dissector on records no recorder writes: a pcap built
# here byte by byte (printf, no other tool) holding short, cut, wrongly
# tagged and hostile records. Each must show the expert info listed for
# it (malformed records an error, hostile values a warning) and none may
# raise a Lua error or reach the dissector's pcall guard.
#
# With EDITCAP, XPVSIM and EXAMPLES_DIR, recorded PVSCSI and PVUSB traces
# are also cut (editcap -s: every longer record loses its tail and must
# be reported malformed) and corrupted at random with fixed seeds
# (editcap -E): no Lua error either way.
set -eu
tshark=$1
lua=$2
editcap=${3:-}
xpvsim=${4:-}
examples=${5:-}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-dissector-broken.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

SEV_WARN=6291456  # PI_WARN, as tshark prints _ws.expert.severity
SEV_ERROR=8388608 # PI_ERROR

# le VALUE N: VALUE as N little-endian bytes.
le() {
	v=$1 n=$2
	while [ "$n" -gt 0 ]; do
		# shellcheck disable=SC2059 # the format is the octal escape
		printf "\\$(printf %03o $((v & 255)))"
		v=$((v >> 8)) n=$((n - 1))
	done
}
zeros() { dd if=/dev/zero bs=1 count="$1" 2>/dev/null; }

out=$scratch/broken.pcap
rec=$scratch/rec
expect=$scratch/expect
: >"$expect"
# The pcap global header: nanosecond magic, 2.4, snaplen 65535, USER0.
{
	le 0xa1b23c4d 4; le 2 2; le 4 2; le 0 4; le 0 4; le 65535 4; le 147 4
} >"$out"
nframe=0

# frame [LEN]: append $rec as the next pcap record; LEN, the original
# length, defaults to the bytes present.
frame() {
	size=$(wc -c <"$rec")
	{
		le 0 4; le $((nframe * 1000)) 4; le "$size" 4; le "${1:-$size}" 4
		cat "$rec"
	} >>"$out"
	nframe=$((nframe + 1))
}

# hdr TYPE PAYLOAD_LEN [HDR_LEN [VERSION [MAGIC [FLAGS]]]]: a record
# header whose seq is the frame's (the frame about to be appended).
hdr() {
	printf '%s' "${5:-XPVT}"
	le "${4:-1}" 1; le "$1" 1; le "${3:-32}" 2
	le "$nframe" 8; le $((nframe * 1000)) 8; le 1 2; le "${6:-0}" 2
	le "$2" 4
}

# want SEVERITY REGEX: the frame about to be appended must carry expert
# info of SEVERITY (error, warn; none: no expert info at all) whose
# message matches REGEX; want info REGEX: its Info column must match.
want() { echo "$((nframe + 1))|$1|$2" >>"$expect"; }

# A ring entry payload header: ring_id kind dir idx entry_size.
entry_head() {
	le "$1" 2; le "$2" 1; le "$3" 1; le "$4" 4; le $(($4 & 15)) 4
	le $(($4 + 1)) 4; le "$5" 4
}

# 1: the example of docs/trace-format.md, well formed.
want none '^$'
{ hdr 48 32; le 20 2; le 0 2; le 4 4; printf '/local/domain/1/namedesk'; } >"$rec"
frame
# 2: fewer bytes than a record header.
want error 'shorter than the 32-byte record header'
printf 'XPVT\001\060' >"$rec"
frame
# 3: wrong magic.
want error 'magic is not "XPVT"'
{ hdr 48 8 32 1 XPVX; zeros 8; } >"$rec"
frame
# 4: payload_len larger than the bytes that follow.
want error 'hdr_len \+ payload_len = 64, the record has 47 bytes'
{ hdr 48 32; le 20 2; le 0 2; le 4 4; printf '/local/'; } >"$rec"
frame
# 5: a record type this version does not know: skipped, with a warning.
want warn 'unknown record type 99'
{ hdr 99 4; le 0xdeadbeef 4; } >"$rec"
frame
# 6: a later version.
want warn 'version 2: this dissector reads version 1'
{ hdr 48 8 32 2; zeros 8; } >"$rec"
frame
# 7: a header length below 32.
want error 'hdr_len 16'
{ hdr 48 16 16; zeros 16; } >"$rec"
frame
# 8: a path longer than the payload.
want error 'path of 200 bytes runs past the payload'
{ hdr 48 12; le 200 2; le 0 2; le 0 4; printf 'abcd'; } >"$rec"
frame
# 9: a ring entry whose entry_size runs past the payload.
want error 'entry of 300 bytes runs past the payload'
{ hdr 3 28; entry_head 1 1 0 0 300; zeros 8; } >"$rec"
frame
# 10: a complete entry too small for a vscsiif request.
want error 'entry_size 8: a vscsiif request has 240 bytes'
{ hdr 3 28; entry_head 1 1 0 0 8; zeros 8; } >"$rec"
frame
# 11: an unknown ring kind on a ring never attached.
want warn 'no decoder for kind 9 direction 0'
{ hdr 3 24; entry_head 5 9 0 0 4; zeros 4; } >"$rec"
frame
# 12: a grant record with a consistent header but a short payload.
want error 'GNT_GRANT: 4 bytes present, 16 needed'
{ hdr 32 4; le 7 4; } >"$rec"
frame
# 13: more permissions than the payload holds.
want error '1000 permissions run past the payload'
{ hdr 51 9; le 1 2; le 1000 2; printf '/'; le 0 4; } >"$rec"
frame
# 14: a record cut by the capture (caplen 40 of len 127).
want error 'RING_ATTACH: 8 bytes present, 32 needed'
{ hdr 1 95; le 1 2; le 1 1; zeros 5; } >"$rec"
frame 127
# 15: a well-formed RING_ATTACH of ring 1 (vscsiif, 16 x 252).
want none '^$'
{
	hdr 1 36; le 1 2; le 1 1; le 0 1; le 1 2; le 0 2; le 8 4; le 16 4
	le 252 4; le 0 4; le 0 4; le 2 2; le 2 2; printf '/f/b'
} >"$rec"
frame
# 16: a hostile vscsiif request on it: cmd_len 200, 127 segments, the
# first crossing its page.
want warn 'cmd_len 200 exceeds VSCSIIF_MAX_COMMAND_SIZE'
want warn '127 segments: more than VSCSIIF_SG_TABLESIZE'
want warn 'offset \+ length crosses the 4096-byte page'
{
	hdr 3 272; entry_head 1 1 0 0 252
	le 1 2; le 1 1; le 200 1; le 0x28 1; zeros 15
	le 0 2; le 0 2; le 0 2; le 0 2; le 0 2; le 2 1; le 0x7f 1
	le 9 4; le 4000 2; le 200 2; zeros 212
} >"$rec"
frame
# 17: a response on ring 1 whose rqid matches no request.
want warn 'response id 77 matches no outstanding request on ring 1'
{ hdr 3 272; entry_head 1 1 1 0 252; le 77 2; zeros 250; } >"$rec"
frame
# 18: the answer to the hostile request: sense_len past the sense buffer
# and a result with the driver byte set.
want warn 'sense_len 200 exceeds VSCSIIF_SENSE_BUFFERSIZE'
want warn 'bits 8-15 or 24-31 set'
{
	hdr 3 272; entry_head 1 1 1 1 252
	le 1 2; le 0 1; le 200 1; le 0x70 1; le 0 1; le 5 1; zeros 9
	le 0x24 1; le 0 1; zeros 82; le 0x06000002 4; zeros 148
} >"$rec"
frame
# 19, 20: an ABORT of the hostile request and its answer, whose rslt
# (0x2002) reads as a task-management result because it is paired.
want info '^vscsi req rqid 2 SCSI_ABORT ref_rqid 1 0:0:0$'
{
	hdr 3 272; entry_head 1 1 0 1 252
	le 2 2; le 2 1; le 0 1; zeros 24; le 1 2; le 3 1; le 0 1; zeros 220
} >"$rec"
frame
want none '^$'
want info '^vscsi rsp rqid 2 RESET_SUCCESS \[SCSI_ABORT\]$'
{
	hdr 3 272; entry_head 1 1 1 2 252
	le 2 2; zeros 98; le 0x2002 4; zeros 148
} >"$rec"
frame
# 21: an URB request with undefined pipe bits and 20 segments.
want warn 'undefined pipe bits set'
want warn '20 segments: more than USBIF_MAX_SEGMENTS_PER_REQUEST'
{
	hdr 3 168; entry_head 2 2 0 0 148
	le 1 2; le 20 2; le $((0xc0000000 | 0x40 | 0x100)) 4; zeros 140
} >"$rec"
frame
# 22: a conn response with a speed usbif.h does not define.
want warn 'speed 9 is not a USBIF_SPEED_\* value'
{ hdr 3 24; entry_head 3 3 1 0 4; le 0 2; le 1 1; le 9 1; } >"$rec"
frame
# 23: an empty frame (tshark lists no protocol for it).
empty_frame=$((nframe + 1))
want error 'shorter than the 32-byte record header'
: >"$rec"
frame
# 24..: every known record type with an empty payload.
for t in 1 2 3 4 5 16 17 18 19 20 32 33 34 35 36 48 49 50 51 52 53; do
	want error 'bytes present, [0-9]+ needed'
	hdr "$t" 0 >"$rec"
	frame
done

# The records a replay needs. An event index of ring 1 (attached above),
# then one with an index that is neither req_event nor rsp_event.
want none '^$'
want info '^vscsiif ring 1 req_event 5 -> 7$'
{ hdr 5 12; le 1 2; le 1 1; le 0 1; le 5 4; le 7 4; } >"$rec"
frame
want warn 'event index 7: neither req_event \(0\) nor rsp_event \(1\)'
{ hdr 5 12; le 1 2; le 1 1; le 7 1; le 5 4; le 7 4; } >"$rec"
frame
# send PORT DOMID REMOTE_PORT OUTCOME [DELIVER_AT FLAGS]: an EVTCHN_SEND
# payload, in the first 12-byte layout without DELIVER_AT.
send() {
	le "$1" 4; le "$2" 2; le "$4" 1; le 0 1; le "$3" 4
	[ $# -lt 5 ] || { le "$5" 8; le "$6" 1; le 0 3; }
}
# at DELAY_NS: the simulated time DELAY_NS after the next frame's.
at() { echo $((nframe * 1000 + $1)); }
# A send in the first layout, one that scheduled a delivery 2290 ns
# later, and one whose delivery storms.
want none '^$'
want info '^evtchn send port 3 -> dom 0 port 4$'
{ hdr 16 12; send 3 0 4 0; } >"$rec"
frame
want none '^$'
want info "^evtchn send port 3 -> dom 0 port 4, delivery at 0\\.$(printf %09d "$(at 2290)")\$"
{ hdr 16 24; send 3 0 4 0 "$(at 2290)" 1; } >"$rec"
frame
want none '^$'
want info '^evtchn send port 3 -> dom 0 port 4, delivery at [0-9.]+ \(storm\)$'
{ hdr 16 24; send 3 0 4 0 "$(at 2290)" 3; } >"$rec"
frame
# Deliveries the recorder cannot have written: a storm of no delivery,
# unknown flag bits, a delivery before the send, a time without a
# delivery, a delivery of a dropped send.
want warn 'STORM without SCHEDULED'
{ hdr 16 24; send 3 0 4 0 0 2; } >"$rec"
frame
want warn 'delivery flags 0x05: unknown bits'
{ hdr 16 24; send 3 0 4 0 "$(at 2290)" 5; } >"$rec"
frame
want warn 'delivery at 0\.000[0-9]+, before the record.s time \(0\.000[0-9]+\)'
{ hdr 16 24; send 3 0 4 0 "$(at -1)" 1; } >"$rec"
frame
want warn 'a delivery time without SCHEDULED'
{ hdr 16 24; send 3 0 4 0 "$(at 2290)" 0; } >"$rec"
frame
want warn 'a dropped send with a delivery'
{ hdr 16 24; send 3 0x7ff4 0 1 "$(at 2290)" 1; } >"$rec"
frame
# A send of neither layout, and one of 24 bytes cut by the capture.
want error 'EVTCHN_SEND payload of 16 bytes: 12 \(first layout\) or 24'
{ hdr 16 16; send 3 0 4 0; le 0 4; } >"$rec"
frame
want error 'EVTCHN_SEND delivery: 20 bytes present, 24 needed'
{ hdr 16 24; send 3 0 4 0; le 0 8; } >"$rec"
frame 56
# A late EOI that made a delivery due, and one of 12 bytes.
want none '^$'
want info '^evtchn eoi port 2, delivery at [0-9.]+$'
{ hdr 20 24; send 2 0x7ff4 0 0 "$(at 1000)" 1; } >"$rec"
frame
want error 'EVTCHN_EOI: 12 bytes present, 24 needed'
{ hdr 20 12; send 2 0x7ff4 0 0; } >"$rec"
frame
# A response of ring 1 rewritten after its publication (flag REWRITTEN):
# a warning, and no pairing (it answers no request).
want warn 'slot rewritten by its producer after publication'
want info '^vscsi rsp rqid 1 .*\(rewritten\)$'
{ hdr 3 272 32 1 XPVT 4; entry_head 1 1 1 0 252; le 1 2; zeros 250; } >"$rec"
frame
# A bind, and the close of a port that had no peer.
want none '^$'
want info '^evtchn bind port 2 to dom 0 port 5$'
{ hdr 18 12; le 2 4; le 0 2; le 0 2; le 5 4; } >"$rec"
frame
want none '^$'
want info '^evtchn close port 2 \(no peer\)$'
{ hdr 19 12; le 2 4; le 0x7ff4 2; le 0 2; le 0 4; } >"$rec"
frame

"$tshark" -2 -X "lua_script:$lua" -r "$out" -T fields -e frame.number \
	-e frame.protocols -e _ws.expert.severity -e _ws.expert.message \
	-e _ws.col.Info -E separator='|' -E aggregator='#' \
	>"$scratch/decoded" 2>"$scratch/err" ||
	{ cat "$scratch/err"; fail "tshark failed on the hand-made records"; }
if grep -v 'Running as user "root"' "$scratch/err" | grep -q .; then
	cat "$scratch/err"
	fail "tshark wrote to stderr"
fi
[ "$(wc -l <"$scratch/decoded")" -eq "$nframe" ] ||
	fail "$(wc -l <"$scratch/decoded") frames decoded of $nframe"
if grep -E 'Lua Error|xpvtrace\.lua:' "$scratch/decoded"; then
	fail "a Lua error on a hand-made record"
fi
awk -F '|' -v empty="$empty_frame" '
	$2 != "xpvtrace" && $1 != empty { print; bad = 1 }
	END { exit bad }' "$scratch/decoded" ||
	fail "frames not dissected as xpvtrace"

# Each expectation: the frame has an expert item of that severity whose
# message matches (severities and messages are aggregated in one order).
while IFS='|' read -r num sev re; do
	line=$(awk -F '|' -v n="$num" '$1 == n' "$scratch/decoded")
	if [ "$sev" = info ]; then
		echo "$line" | cut -d'|' -f5 | grep -Eq "$re" ||
			fail "frame $num: Info does not match /$re/: $line"
		continue
	fi
	if [ "$sev" = none ]; then
		[ -z "$(echo "$line" | cut -d'|' -f3)" ] ||
			fail "frame $num: unexpected expert info: $line"
		continue
	fi
	code=$SEV_ERROR
	[ "$sev" = warn ] && code=$SEV_WARN
	echo "$line" | awk -F '|' -v code="$code" -v re="$re" '{
		ns = split($3, sev, "#"); split($4, msg, "#")
		for (i = 1; i <= ns; i++)
			if (sev[i] == code && msg[i] ~ re) found = 1
	} END { exit !found }' ||
		fail "frame $num: no $sev matching /$re/: $line"
done <"$expect"
echo "$nframe hand-made records: expert info as expected, no Lua error"

[ -n "$editcap" ] || exit 0

# Recorded traces, cut and corrupted.
for cfg in pvscsi-hotplug.cfg pvusb-classes.cfg; do
	rm -rf "$scratch/run" && mkdir "$scratch/run"
	cp "$examples/$cfg" "$scratch/run/guest.cfg"
	"$xpvsim" run "$scratch/run/guest.cfg" --trace "$scratch/run.pcap" \
		>"$scratch/run.out" 2>&1 ||
		{ cat "$scratch/run.out"; fail "$cfg: xpvsim run failed"; }
	for cut in 24 52 100; do
		"$editcap" -s "$cut" "$scratch/run.pcap" "$scratch/cut.pcap"
		"$tshark" -X "lua_script:$lua" -r "$scratch/cut.pcap" -T fields \
			-e frame.len -e xpvtrace.expert.malformed \
			-e _ws.expert.message >"$scratch/cut" 2>/dev/null ||
			fail "$cfg cut to $cut: tshark failed"
		! grep -E 'Lua Error|xpvtrace\.lua:' "$scratch/cut" ||
			fail "$cfg cut to $cut: Lua error"
		# Every record longer than the cut is reported, no other.
		awk -F '\t' -v cut="$cut" '
			($1 > cut) != ($2 != "") { print; bad = 1; exit }
			$1 > cut { n++ }
			END { if (bad || n == 0) exit 1 }' "$scratch/cut" ||
			fail "$cfg cut to $cut: malformed records not as expected"
	done
	for seed in 1 2 3; do
		"$editcap" -E 0.02 --seed "$seed" "$scratch/run.pcap" \
			"$scratch/fuzz.pcap" 2>/dev/null
		"$tshark" -X "lua_script:$lua" -r "$scratch/fuzz.pcap" -T fields \
			-e frame.protocols -e _ws.expert.message \
			>"$scratch/fuzz" 2>/dev/null ||
			fail "$cfg corrupted (seed $seed): tshark failed"
		! grep -E 'Lua Error|xpvtrace\.lua:' "$scratch/fuzz" ||
			fail "$cfg corrupted (seed $seed): Lua error"
		grep -q 'Malformed\|magic is not\|runs past\|needed' \
			"$scratch/fuzz" ||
			fail "$cfg corrupted (seed $seed): nothing reported"
	done
	echo "$cfg: cut and corrupted traces decoded without a Lua error"
done
