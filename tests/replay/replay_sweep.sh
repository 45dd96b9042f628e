#!/bin/sh
# replay_sweep.sh XPVSIM EXAMPLES_DIR [SEEDS]
# Every example, under a fault plan drawn from each seed 1..SEEDS
# (default 25, --swarm), with and without --ops-limit, is recorded and
# replayed: each replay must say "identical". Copies of the examples run
# in a scratch directory (their images are made there).
set -eu
xpvsim=$1
examples=$2
seeds=${3:-25}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-replay-sweep.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
runs=0
for cfg in "$examples"/pvscsi-disk-cdrom.cfg "$examples"/pvscsi-hotplug.cfg \
	"$examples"/pvusb-desk.cfg "$examples"/pvusb-classes.cfg; do
	cp "$cfg" "$scratch/guest.cfg"
	seed=1
	while [ "$seed" -le "$seeds" ]; do
		for limit in "" "--ops-limit 8"; do
			# shellcheck disable=SC2086 # $limit is two words or none
			"$xpvsim" run "$scratch/guest.cfg" --swarm --seed "$seed" \
				$limit --trace "$scratch/t.pcap" >/dev/null 2>&1 ||
				true # a failing checker is the run's result
			[ -s "$scratch/t.pcap" ] ||
				{ echo "FAIL: $cfg seed $seed: no trace"; exit 1; }
			verdict=$("$xpvsim" replay "$scratch/t.pcap" 2>&1 | tail -1)
			if [ "$verdict" != identical ]; then
				echo "FAIL: $cfg --swarm --seed $seed $limit: $verdict"
				exit 1
			fi
			runs=$((runs + 1))
		done
		seed=$((seed + 1))
	done
done
echo "replay_sweep: $runs recorded runs replayed identical"
