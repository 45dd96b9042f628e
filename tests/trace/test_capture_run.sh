#!/bin/sh
# test_capture_run.sh XPVSIM TSHARK TEST_USB_CAPTURE CAPTURES_DIR
# A captured real device in a whole PVUSB run (class=capture,
# docs/config.md):
#   record   a run with a storage stick and a keyboard, --usbmon;
#   replay   a second run whose two devices are the first run's, replayed
#            from that capture (each picked by the bus.addr tshark finds
#            for its interface class): both enumerate with the captured
#            product strings, the guest binds the same drivers, reads the
#            keyboard's reports and runs the stick's workload, checkers
#            are clean, and the replay reports transfers replayed and no
#            divergence (the guest asked what the recorded guest asked);
#   usbpcap  a USBPcap capture (test_usb_capture --write): enumerated as
#            the made-up keyboard it holds, diverging where this guest's
#            HID driver asks what the recorded one did not;
#   bad      a malformed capture and a missing device: exit status 2 with
#            the importer's message (record, byte offset).
set -eu
xpvsim=$1
tshark=$2
gen=$3
captures=$4
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-capture-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

# field JSON NAME KEY: number or bool KEY of device NAME in file JSON
# (summary objects are flat: one per line after splitting at '{').
field() {
	tr '{' '\n' <"$1" | grep -F "\"name\":\"$2\"" |
		sed -n "s/.*\"$3\":\([0-9a-z]*\).*/\1/p" | head -n 1
}

# text JSON NAME KEY: string KEY of device NAME (no quotes inside).
text() {
	tr '{' '\n' <"$1" | grep -F "\"name\":\"$2\"" |
		sed -n "s/.*\"$3\":\"\([^\"]*\)\".*/\1/p" | head -n 1
}

# expect WHAT GOT WANT
expect() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# clean JSON: the run passed its checkers.
clean() {
	grep -q '"violations_total":0,' "$1" ||
		fail "$1: checkers not clean: $(cat "$1")"
}

# address CLASS: bus.addr of the device of the recording whose
# configuration descriptor has an interface of CLASS.
address() {
	"$tshark" -r "$scratch/rec.pcap" -T fields -e usb.bus_id \
		-e usb.device_address \
		-Y "usb.bDescriptorType == 0x02 && usb.bInterfaceClass == $1" \
		2>/dev/null | head -n 1 | tr '\t' '.'
}

# ---- record --------------------------------------------------------------
cat >"$scratch/rec.cfg" <<'EOF'
name = "rec"
usbctrl = [ "ports=4" ]
sim_usb_devices = [
    'name=stick, hostbus=3, hostaddr=5, class=storage, image=stick.img, size=4M, pattern=seqrw, block=4K, ops=8',
    'name=kbd, hostbus=3, hostaddr=6, class=keyboard, speed=low, keys=hello xen, keys_at=30ms, key_interval=15ms',
]
usbdev = [ "hostbus=3,hostaddr=5", "hostbus=3,hostaddr=6" ]
EOF
"$xpvsim" run "$scratch/rec.cfg" --json --usbmon "$scratch/rec.pcap" \
	>"$scratch/rec.json" || fail "record: run failed: $(cat "$scratch/rec.json")"
clean "$scratch/rec.json"
kbd_name=$(text "$scratch/rec.json" kbd product_name)
stick_name=$(text "$scratch/rec.json" stick product_name)
[ -n "$kbd_name" ] && [ -n "$stick_name" ] || fail "record: no product names"
kbd_at=$(address 3)
stick_at=$(address 8)
case "$kbd_at" in [0-9]*.[0-9]*) ;; *) fail "no keyboard in the capture" ;; esac
case "$stick_at" in [0-9]*.[0-9]*) ;; *) fail "no stick in the capture" ;; esac
[ "$kbd_at" != "$stick_at" ] || fail "keyboard and stick both at $kbd_at"

# ---- replay ------------------------------------------------------------------
# The stick first, as recorded: its writes carry the device's index.
cat >"$scratch/play.cfg" <<EOF
name = "play"
usbctrl = [ "ports=4" ]
sim_usb_devices = [
    'name=cstick, hostbus=7, hostaddr=1, class=capture, capture=rec.pcap, capture_device=$stick_at, block=4K, ops=8',
    'name=ckbd, hostbus=7, hostaddr=2, class=capture, capture=rec.pcap, capture_device=$kbd_at, ops=12',
]
usbdev = [ "hostbus=7,hostaddr=1", "hostbus=7,hostaddr=2" ]
EOF
"$xpvsim" run "$scratch/play.cfg" --json >"$scratch/play.json" ||
	fail "replay: run failed: $(cat "$scratch/play.json")"
clean "$scratch/play.json"
p=$scratch/play.json
expect "keyboard product" "$(text "$p" ckbd product_name)" "$kbd_name"
expect "keyboard driver" "$(text "$p" ckbd driver)" usbhid
expect "keyboard speed" "$(text "$p" ckbd speed)" low
expect "keyboard captured" "$(field "$p" ckbd captured)" true
expect "keyboard reports" "$(field "$p" ckbd reports)" 12
expect "keyboard diverged" "$(field "$p" ckbd replay_diverged)" false
n=$(field "$p" ckbd replay_replayed)
[ "$n" -gt 0 ] || fail "keyboard: nothing replayed"
t=$(field "$p" ckbd replay_transfers)
[ "$n" -lt "$t" ] || fail "keyboard: $n replayed of $t transfers"
expect "stick product" "$(text "$p" cstick product_name)" "$stick_name"
expect "stick driver" "$(text "$p" cstick driver)" usb-storage
expect "stick ops" "$(field "$p" cstick ops_ok)" 8
expect "stick verified" "$(field "$p" cstick verified_bytes)" 0
expect "stick diverged" "$(field "$p" cstick replay_diverged)" false
# Every scripted transfer: the same commands with the same data.
expect "stick replayed" "$(field "$p" cstick replay_replayed)" \
	"$(field "$p" cstick replay_scripted)"
"$xpvsim" run "$scratch/play.cfg" >"$scratch/play.txt" ||
	fail "replay: text run failed"
grep -q "^  capture: replayed $n of " "$scratch/play.txt" ||
	fail "replay: no capture line: $(cat "$scratch/play.txt")"

# ---- usbpcap ----------------------------------------------------------------
mkdir "$scratch/gen"
"$gen" --write "$scratch/gen" || fail "test_usb_capture --write failed"
cat >"$scratch/usbpcap.cfg" <<'EOF'
usbctrl = [ "" ]
sim_usb_devices = [ 'name=win, hostbus=1, hostaddr=1, class=capture, capture=gen/keyboard-bulk-249.pcap' ]
usbdev = [ "hostbus=1,hostaddr=1" ]
EOF
"$xpvsim" run "$scratch/usbpcap.cfg" --json >"$scratch/usbpcap.json" ||
	fail "usbpcap: run failed: $(cat "$scratch/usbpcap.json")"
clean "$scratch/usbpcap.json"
p=$scratch/usbpcap.json
expect "usbpcap product" "$(text "$p" win product_name)" "Kb?"
expect "usbpcap driver" "$(text "$p" win driver)" usbhid
expect "usbpcap speed" "$(text "$p" win speed)" full
expect "usbpcap transfers" "$(field "$p" win replay_transfers)" 16
expect "usbpcap replayed" "$(field "$p" win replay_replayed)" 1
expect "usbpcap diverged" "$(field "$p" win replay_diverged)" true
# The capture's driver sent SET_REPORT (LEDs) after SET_IDLE; this one
# asks SET_PROTOCOL(boot) there.
d=$(text "$p" win replay_divergence)
case "$d" in
"at "*" ns on endpoint 0 OUT: expected SETUP 21 09 0200 0000 0001 data 01, got SETUP 21 0b 0000 0000 0000 (capture record 34)") ;;
*) fail "usbpcap: divergence '$d'" ;;
esac

# ---- bad captures -----------------------------------------------------------
# bad NAME CAPTURE DEVICE WANT: exit status 2 and WANT on stderr.
bad() {
	cat >"$scratch/$1.cfg" <<EOF
usbctrl = [ "" ]
sim_usb_devices = [ 'name=$1, hostbus=1, hostaddr=1, class=capture, capture=$2$3' ]
usbdev = [ "hostbus=1,hostaddr=1" ]
EOF
	rc=0
	"$xpvsim" run "$scratch/$1.cfg" >"$scratch/$1.out" 2>"$scratch/$1.err" ||
		rc=$?
	expect "$1: exit status" "$rc" 2
	grep -qxF "$4" "$scratch/$1.err" ||
		fail "$1: stderr '$(cat "$scratch/$1.err")', want '$4'"
}
bad cut "$captures/truncated-record.pcap" "" \
	"xpvsim: $scratch/cut.cfg: sim_usb_devices 'cut': $captures/truncated-record.pcap: record 2 (byte offset 88): libpcap: truncated dump file; tried to read 66 captured bytes, only got 10"
bad absent rec.pcap ", capture_device=9.9" \
	"xpvsim: $scratch/absent.cfg: sim_usb_devices 'absent': $scratch/rec.pcap: no transfers of device 9.9"
bad missing nothing.pcap "" \
	"xpvsim: $scratch/missing.cfg: sim_usb_devices 'missing': $scratch/nothing.pcap: No such file or directory"
echo "PASS: captured devices replayed ($n keyboard transfers)"
