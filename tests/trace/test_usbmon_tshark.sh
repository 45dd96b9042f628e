#!/bin/sh
# test_usbmon_tshark.sh XPVSIM TSHARK DESK_CFG CLASSES_CFG
# The usbmon captures of two PVUSB runs, read by plain `tshark -r` (its
# built-in dissectors, no Lua): nothing malformed, no expert errors, and
# what the dissectors decode agrees with what the run reports it did.
#   desk (examples/pvusb-desk.cfg): every URB has its S and C records;
#     USB mass storage with valid CBWs, WRITE(10), READ(10) and INQUIRY
#     commands; the keyboard's HID reports, whose key presses spell the
#     configured "hello xen"; CDC-ACM bulk data both ways.
#   classes (examples/pvusb-classes.cfg): two buses, CDC-ECM frames
#     decoded as Ethernet, isochronous audio with frame descriptors.
set -eu
xpvsim=$1
tshark=$2
desk=$3
classes=$4
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-usbmon-ts.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

# capture NAME CONFIG: runs a fresh copy; leaves NAME.pcap and NAME.json.
capture() {
	mkdir "$scratch/$1"
	cp "$2" "$scratch/$1/guest.cfg"
	"$xpvsim" run "$scratch/$1/guest.cfg" --json \
		--usbmon "$scratch/$1.pcap" >"$scratch/$1.json" ||
		fail "$1: run failed: $(cat "$scratch/$1.json")"
}

# field NAME MATCH KEY: KEY of the JSON object of NAME.json containing
# MATCH (objects of the summary have no nested braces).
field() {
	tr '{' '\n' <"$scratch/$1.json" | grep -F "$2" |
		sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p" | head -n 1
}

# count NAME FILTER: frames of NAME.pcap that FILTER shows.
count() {
	"$tshark" -r "$scratch/$1.pcap" -Y "$2" 2>/dev/null | wc -l
}

# values NAME FILTER FIELD: FIELD of every frame FILTER shows.
values() {
	"$tshark" -r "$scratch/$1.pcap" -Y "$2" -T fields -e "$3" 2>/dev/null
}

# sum NAME FILTER FIELD
sum() {
	values "$1" "$2" "$3" | awk '{ s += $1 } END { print s + 0 }'
}

# clean NAME: the capture reads without malformed packets or errors.
clean() {
	"$tshark" -r "$scratch/$1.pcap" >/dev/null 2>"$scratch/err" ||
		fail "$1: tshark cannot read it: $(cat "$scratch/err")"
	n=$(count "$1" "_ws.malformed")
	[ "$n" -eq 0 ] || fail "$1: $n malformed packets"
	n=$(count "$1" "_ws.expert.severity == error")
	[ "$n" -eq 0 ] || fail "$1: $n packets with expert errors"
}

capture desk "$desk"
clean desk

# Every URB: one submission; one completion, or an error record if the
# frontend refused it.
urbs=$(field desk '"devid":0' urbs)
completed=$(field desk '"devid":0' completed)
s=$(count desk 'usb.urb_type == 83')
c=$(count desk 'usb.urb_type == 67')
e=$(count desk 'usb.urb_type == 69')
[ "$s" -eq $((urbs + e)) ] || fail "desk: $s submissions, $urbs URBs + $e refused"
[ "$c" -eq "$completed" ] || fail "desk: $c completions, $completed URBs given back"

# USB mass storage: every CBW has the signature 'USBC'; the guest's
# READ(10)/WRITE(10) commands (the CBWs, not the data or CSW frames that
# Wireshark also tags with the opcode) at least cover its good ops.
cbws=$(count desk 'usbms.dCBWSignature')
[ "$cbws" -gt 0 ] || fail "desk: no USB mass storage CBW decoded"
bad=$(values desk 'usbms.dCBWSignature' usbms.dCBWSignature | grep -cv '^0x43425355$' || true)
[ "$bad" -eq 0 ] || fail "desk: $bad CBWs without the USBC signature"
writes=$(count desk 'usbms.dCBWSignature && scsi_sbc.opcode == 0x2a')
reads=$(count desk 'usbms.dCBWSignature && scsi_sbc.opcode == 0x28')
inquiries=$(count desk 'usbms.dCBWSignature && scsi_sbc.opcode == 0x12')
ops_ok=$(field desk '"name":"stick"' ops_ok)
[ "$writes" -gt 0 ] || fail "desk: no WRITE(10) decoded"
[ "$reads" -gt 0 ] || fail "desk: no READ(10) decoded"
[ "$inquiries" -gt 0 ] || fail "desk: no INQUIRY decoded"
[ $((writes + reads)) -ge "$ops_ok" ] ||
	fail "desk: $writes writes + $reads reads < $ops_ok good ops"
[ "$(count desk 'usbms.dCSWSignature == 0x53425355')" -gt 0 ] ||
	fail "desk: no CSW decoded"

# HID: one report per interrupt completion the guest counted; the key
# of each press (byte 2 of a boot report, 0 on release) spells
# "hello xen" in HID usages (h e l l o space x e n).
reports=$(field desk '"name":"kbd"' reports)
n=$(count desk 'usbhid.data')
[ "$n" -eq "$reports" ] || fail "desk: $n HID reports decoded, guest saw $reports"
keys=$(values desk 'usbhid.data' usbhid.data | cut -c5-6 | grep -v '^00$' | tr '\n' ' ')
[ "$keys" = "0b 08 0f 0f 12 2c 1b 08 11 " ] ||
	fail "desk: HID key presses '$keys' do not spell 'hello xen'"

# CDC-ACM: the loopback's bulk data both ways, as many bytes as the
# guest moved.
acm='usb.bInterfaceClass == 0x0a && usb.transfer_type == 3'
bytes=$(field desk '"name":"serial"' bytes)
out=$(sum desk "$acm && usb.urb_type == 83 && usb.endpoint_address.direction == 0" usb.data_len)
in=$(sum desk "$acm && usb.urb_type == 67 && usb.endpoint_address.direction == 1" usb.data_len)
[ "$out" -eq "$bytes" ] || fail "desk: CDC-ACM OUT $out bytes, guest wrote $bytes"
[ "$in" -eq "$bytes" ] || fail "desk: CDC-ACM IN $in bytes, guest moved $bytes"
echo "desk: $s URBs, $cbws CBWs ($writes WRITE(10), $reads READ(10), $inquiries INQUIRY), $n HID reports, ACM $out/$in bytes"

capture classes "$classes"
clean classes
[ "$(count classes 'usb.bus_id == 1')" -gt 0 ] && [ "$(count classes 'usb.bus_id == 2')" -gt 0 ] ||
	fail "classes: the two controllers are not buses 1 and 2"
nic_ops=$(field classes '"name":"nic"' ops_ok)
frames=$(count classes 'eth')
[ "$frames" -eq $((2 * nic_ops)) ] ||
	fail "classes: $frames Ethernet frames, want 2 x $nic_ops (each frame and its reflection)"
iso=$(count classes 'usb.transfer_type == 0 && usb.iso.numdesc > 0')
[ "$iso" -gt 0 ] || fail "classes: no isochronous URB with frame descriptors"
bad=$(count classes 'usb.urb_type == 67 && usb.iso.iso_status != 0')
[ "$bad" -eq 0 ] || fail "classes: $bad iso completions with a failed frame"
echo "classes: $frames Ethernet frames, $iso iso records"
