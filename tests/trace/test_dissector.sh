#!/bin/sh
# shellcheck disable=SC2016 # the checks are awk conditions: $N are fields
# test_dissector.sh XPVSIM TSHARK LUA EXAMPLES_DIR
# The xpvtrace Lua dissector (tools/wireshark/xpvtrace.lua) on traces the
# simulator records: PVSCSI hotplug, PVUSB desk and classes (iso), a
# PVSCSI run whose backend answers with a wrong id (be-bad-id@3), and one
# whose fifth scheduled event delivery storms (evtchn-storm@5).
#
# Every trace: tshark -2 decodes every frame as xpvtrace with a record
# type, seq = frame number - 1, no Lua error and no error-level expert
# info (malformed); runs without faults also have no warning, and every
# response of every ring names its request (xpvtrace.rsp.request_in)
# while that request names it back (xpvtrace.req.response_in). Decoded
# values that each run must show are checked field by field, among them
# the records a replay needs: the rings' event indices, event-channel
# binds, closes and late EOIs, and the delivery each send or EOI made
# due, which must be the time of the delivery that follows on its port.
# The wrong-id run shows its unmatched response as a warning, not an
# error.
set -eu
xpvsim=$1
tshark=$2
lua=$3
examples=$4
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-dissector.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

SEV_WARN=6291456  # PI_WARN, as tshark prints _ws.expert.severity
SEV_ERROR=8388608 # PI_ERROR

# record NAME CONFIG [XPVSIM ARGS...]: the run of a private copy of CONFIG
# (its disk images are created next to it) into $scratch/NAME.pcap.
record() {
	name=$1 cfg=$2
	shift 2
	mkdir "$scratch/$name"
	cp "$examples/$cfg" "$scratch/$name/guest.cfg"
	"$xpvsim" run "$scratch/$name/guest.cfg" --trace "$scratch/$name.pcap" \
		"$@" >"$scratch/$name.out" 2>&1 ||
		{ cat "$scratch/$name.out"; fail "$name: xpvsim run failed"; }
}

# Columns of $scratch/NAME.tsv, in this order (awk's $1 .. $33).
fields="frame.number frame.protocols _ws.expert.severity _ws.expert.message
	xpvtrace.type xpvtrace.ring.kind xpvtrace.ring.dir
	xpvtrace.rsp.request_in xpvtrace.req.response_in
	xpvtrace.scsi.cdb.opcode xpvtrace.scsi.cdb.lba
	xpvtrace.scsi.result.status xpvtrace.usb.pipe.type
	xpvtrace.usb.setup.request xpvtrace.usb.setup.descriptor_type
	xpvtrace.conn.speed xpvtrace.xenbus.state xpvtrace.xs.path
	xpvtrace.usb.iso.number_of_packets xpvtrace.seq _ws.col.Info
	xpvtrace.ring.event xpvtrace.ring.old_event xpvtrace.ring.new_event
	xpvtrace.evtchn.deliver_at xpvtrace.evtchn.flags
	xpvtrace.evtchn.remote_domid xpvtrace.evtchn.remote_port
	xpvtrace.evtchn.port xpvtrace.domid xpvtrace.time_ns
	xpvtrace.payload_len xpvtrace.ring.id"

# decode NAME: two-pass dissection of NAME.pcap into NAME.tsv.
decode() {
	args=""
	for f in $fields; do args="$args -e $f"; done
	# shellcheck disable=SC2086 # one word per -e option
	"$tshark" -2 -X "lua_script:$lua" -r "$scratch/$1.pcap" -T fields \
		$args >"$scratch/$1.tsv" 2>"$scratch/$1.err" ||
		{ cat "$scratch/$1.err"; fail "$1: tshark failed"; }
	# tshark warns on stderr when it runs as root; anything else (a Lua
	# error loading the script) counts.
	if grep -v 'Running as user "root"' "$scratch/$1.err" | grep -q .; then
		cat "$scratch/$1.err"
		fail "$1: tshark wrote to stderr"
	fi
}

# count NAME AWK-CONDITION: lines of NAME.tsv the condition holds for.
count() {
	awk -F '\t' "$2 { n++ } END { print n + 0 }" "$scratch/$1.tsv"
}

# expect_some NAME WHAT AWK-CONDITION
expect_some() {
	n=$(count "$1" "$3")
	[ "$n" -gt 0 ] || fail "$1: no frame with $2"
	echo "$1: $n frames with $2"
}

# expect_none NAME WHAT AWK-CONDITION
expect_none() {
	n=$(count "$1" "$3")
	[ "$n" -eq 0 ] || {
		awk -F '\t' "$3 { print; if (++k == 5) exit }" "$scratch/$1.tsv"
		fail "$1: $n frames with $2"
	}
}

# check_common NAME: what holds for every trace.
check_common() {
	total=$(wc -l <"$scratch/$1.tsv")
	[ "$total" -gt 100 ] || fail "$1: only $total frames"
	expect_none "$1" "a protocol other than xpvtrace" '$2 != "xpvtrace"'
	expect_none "$1" "no record type" '$5 == ""'
	expect_none "$1" "seq other than frame number - 1" '$20 != $1 - 1'
	expect_none "$1" "a Lua error" '$4 ~ /Lua Error|xpvtrace\.lua:/'
	expect_none "$1" "error-level expert info (malformed)" \
		"\$3 ~ /(^|,)$SEV_ERROR(,|\$)/"
	echo "$1: $total frames decoded"
}

# check_paired NAME: every ring response names its request, and that
# request names the response back.
check_paired() {
	rsp=$(count "$1" '$5 == 3 && $7 == 1')
	paired=$(count "$1" '$5 == 3 && $7 == 1 && $8 != ""')
	[ "$rsp" -gt 0 ] || fail "$1: no ring responses"
	[ "$paired" -eq "$rsp" ] ||
		fail "$1: $paired of $rsp responses paired with a request"
	awk -F '\t' '
		$9 != "" { rsp_of[$1] = $9 }
		$8 != "" { req_of[$1] = $8 }
		END {
			for (r in req_of)
				if (rsp_of[req_of[r]] != r) { print r; exit 1 }
			for (q in rsp_of)
				if (req_of[rsp_of[q]] != q) { print q; exit 1 }
		}' "$scratch/$1.tsv" ||
		fail "$1: request_in and response_in disagree (frame above)"
	echo "$1: $rsp responses paired both ways"
}

# check_replay_records NAME: the records a replay needs, decoded. The
# backend's req_event and the frontend's rsp_event writes, each starting
# where the ring's previous one of that index ended; binds and closes;
# late EOIs; sends in the 24-byte layout that scheduled a delivery, which
# comes on the remote port at exactly the time the send says (as one an
# EOI made due comes on its own port).
check_replay_records() {
	expect_some "$1" "req_event writes of the backend (dom0)" \
		'$5 == 5 && $22 == 0 && $30 == 0 &&
		 $21 ~ /^[a-z-]+ ring [0-9]+ req_event [0-9]+ -> [0-9]+$/'
	expect_some "$1" "rsp_event writes of the frontend (dom1)" \
		'$5 == 5 && $22 == 1 && $30 == 1 &&
		 $21 ~ /^[a-z-]+ ring [0-9]+ rsp_event [0-9]+ -> [0-9]+$/'
	awk -F '\t' '
		$5 == 5 {
			k = $33 "/" $22
			if ((k in last) && $23 != last[k]) { print; exit 1 }
			last[k] = $24
		}' "$scratch/$1.tsv" ||
		fail "$1: an event index moved from a value it did not have"
	expect_some "$1" "event-channel binds" \
		'$5 == 18 && $21 ~ /^evtchn bind port [0-9]+ to dom 1 port [0-9]+$/'
	expect_some "$1" "event-channel closes" \
		'$5 == 19 &&
		 $21 ~ /^evtchn close port [0-9]+ \((no peer|peer dom [0-9]+ port [0-9]+)\)$/'
	expect_some "$1" "24-byte sends that scheduled a delivery" \
		'$5 == 16 && $32 == 24 && $26 == "0x01" && $25 != "" &&
		 $21 ~ /, delivery at [0-9]+\.[0-9]+$/'
	expect_none "$1" "EVTCHN_SEND records not of 24 bytes" \
		'$5 == 16 && $32 != 24'
	expect_some "$1" "late EOIs" \
		'$5 == 20 && $32 == 24 && $21 ~ /^evtchn eoi port [0-9]+/'
	# deliver_at (seconds) against the delivery's time_ns on the
	# remote domain's port (an EOI's: its own).
	awk -F '\t' '
		$5 == 16 && $26 == "0x01" {
			split($25, t, ".")
			due[$27 "/" $28] = t[1] * 1000000000 + t[2]
		}
		$5 == 20 && $26 == "0x01" {
			split($25, t, ".")
			due[$30 "/" $29] = t[1] * 1000000000 + t[2]
		}
		$5 == 17 && (($30 "/" $29) in due) {
			k = $30 "/" $29
			if (due[k] != $31) { print; exit 1 }
			delete due[k]
			n++
		}
		END { if (n == 0) exit 1 }' "$scratch/$1.tsv" ||
		fail "$1: a delivery not at the time its send scheduled"
}

record scsi pvscsi-hotplug.cfg
record desk pvusb-desk.cfg
record classes pvusb-classes.cfg
record badid pvscsi-hotplug.cfg --faults be-bad-id@3
record storm pvscsi-hotplug.cfg --faults evtchn-storm@5
for run in scsi desk classes badid storm; do
	decode "$run"
	check_common "$run"
done
for run in scsi desk classes; do
	expect_none "$run" "a warning" "\$3 ~ /(^|,)$SEV_WARN(,|\$)/"
	check_paired "$run"
done
for run in scsi desk classes storm; do
	check_replay_records "$run"
done

# PVSCSI: CDBs by opcode, READ(10) with its LBA, GOOD answers, the
# xenbus states of a LUN hot-add (Reconfiguring, Reconfigured).
expect_some scsi "INQUIRY requests" '$10 == "0x12"'
expect_some scsi "READ(10) requests with an LBA" '$10 == "0x28" && $11 != ""'
expect_some scsi "WRITE(10) requests with an LBA" '$10 == "0x2a" && $11 != ""'
expect_some scsi "responses with status GOOD" \
	'$12 == "0x00000000" && $21 ~ /^vscsi rsp rqid [0-9]+ GOOD/'
expect_some scsi "CHECK CONDITION with UNIT ATTENTION sense" \
	'$12 == "0x00000002" && $21 ~ /UNIT ATTENTION 29\/00/'
expect_some scsi "xenbus state Connected" '$17 == 4'
expect_some scsi "xenbus state Reconfiguring" '$17 == 7'
expect_some scsi "xenbus state Reconfigured" '$17 == 8'
expect_some scsi "an xs write of ring-ref" '$5 == 48 && $18 ~ /\/ring-ref$/'
expect_some scsi "ring attaches" '$5 == 1 && $6 == 1'

# PVUSB: enumeration on the control pipe, plugs at high speed, the rings'
# references in xenstore.
expect_some desk "CTRL GET_DESCRIPTOR(DEVICE) requests" \
	'$13 == 2 && $14 == 6 && $15 == "0x01"'
expect_some desk "GET_DESCRIPTOR(DEVICE) to address 0 in Info" \
	'$21 ~ /^URB req id [0-9]+ CTRL IN dev 0 ep 0 GET_DESCRIPTOR\(DEVICE\)/'
expect_some desk "BULK requests" '$13 == 3'
expect_some desk "conn responses at high speed" '$16 == 3'
expect_some desk "xenbus state Connected" '$17 == 4'
expect_some desk "an xs write of urb-ring-ref" \
	'$5 == 48 && $18 ~ /\/urb-ring-ref$/'
expect_some desk "an xs write of conn-ring-ref" \
	'$5 == 48 && $18 ~ /\/conn-ring-ref$/'
expect_some desk "conn requests posted before attach" \
	'$21 ~ /^conn req id [0-9]+ \(before attach\)$/'

# PVUSB classes: isochronous and interrupt URBs, answered.
expect_some classes "ISO requests with packets" '$13 == 0 && $19 > 0'
expect_some classes "ISO responses paired" \
	'$5 == 3 && $6 == 2 && $7 == 1 && $8 != "" && $21 ~ /\[ISO (IN|OUT)\]$/'
expect_some classes "INT requests" '$13 == 1'

# PVUSB: both rings' event indices (URB and conn rings), and the
# frontend's port closed after the backend's (its peer gone).
expect_some desk "usbif-urb req_event writes" '$5 == 5 && $6 == 2 && $22 == 0'
expect_some desk "usbif-conn rsp_event writes" '$5 == 5 && $6 == 3 && $22 == 1'
expect_some desk "a close of a port whose peer closed" \
	'$5 == 19 && $27 == 32756 && $21 ~ /^evtchn close port [0-9]+ \(no peer\)$/'

# The storm: the fifth scheduled delivery repeats, and its send says so;
# the repeat is made due by the receiver's late EOI.
expect_some storm "a send whose delivery storms" \
	'$5 == 16 && $26 == "0x03" && $21 ~ /, delivery at [0-9.]+ \(storm\)$/'
expect_some storm "an EOI that scheduled a delivery" \
	'$5 == 20 && $26 == "0x01" &&
	 $21 ~ /^evtchn eoi port [0-9]+, delivery at [0-9]+\.[0-9]+$/'

# The wrong id: an unmatched vscsiif response is a warning.
expect_some badid "an unmatched vscsiif response as a warning" \
	"\$6 == 1 && \$7 == 1 && \$8 == \"\" && \$3 ~ /$SEV_WARN/ &&
	 \$4 ~ /matches no outstanding request/"

# One pass (tshark without -2): a response finds its request, which came
# first; nothing else differs.
"$tshark" -X "lua_script:$lua" -r "$scratch/scsi.pcap" \
	-Y 'xpvtrace.type == 3 && xpvtrace.ring.dir == 1 &&
	    !xpvtrace.rsp.request_in' >"$scratch/one-pass" 2>/dev/null ||
	fail "one-pass tshark failed"
[ ! -s "$scratch/one-pass" ] || {
	head -5 "$scratch/one-pass"
	fail "scsi: responses without request_in in one pass"
}
echo "one pass: every response paired"
