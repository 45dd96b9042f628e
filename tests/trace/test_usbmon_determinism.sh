#!/bin/sh
# test_usbmon_determinism.sh XPVSIM CONFIG
# `xpvsim run CONFIG --usbmon FILE` twice with one seed, in separate
# processes on fresh images: the two captures must be byte-identical (ids
# are the guest's tags, times simulated); another seed gives another one.
set -eu
xpvsim=$1
cfg=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-usbmon-det.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# capture SEED OUT: a run on a fresh copy of the configuration.
capture() {
	rm -rf "$scratch/run" && mkdir "$scratch/run"
	cp "$cfg" "$scratch/run/guest.cfg"
	"$xpvsim" run "$scratch/run/guest.cfg" --seed "$1" --usbmon "$2" \
		>"$scratch/out" || { echo "seed $1: run failed"; cat "$scratch/out"; exit 1; }
	[ -s "$2" ] || { echo "seed $1: no capture written"; exit 1; }
}

capture 7 "$scratch/a.pcap"
capture 7 "$scratch/b.pcap"
capture 8 "$scratch/c.pcap"
cmp "$scratch/a.pcap" "$scratch/b.pcap" || { echo "seed 7: captures differ"; exit 1; }
if cmp -s "$scratch/a.pcap" "$scratch/c.pcap"; then
	echo "seeds 7 and 8 gave the same capture"; exit 1
fi
echo "$cfg: seed 7 twice $(wc -c <"$scratch/a.pcap") bytes, identical; seed 8 differs"
