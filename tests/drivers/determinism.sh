#!/bin/sh
# determinism.sh SELFTEST [OTHER_SELFTEST]
# Runs the platform scenario in separate processes: the same seed must give
# the same trace hash (also with swarm faults), a different seed a
# different one. With a second binary (e.g. the asan build) the hashes
# must agree across builds too.
set -eu
a=$1
b=${2:-$1}
run() { "$1" --hash-only --requests 3000 --seed "$2" ${3:-}; }

for args in "" "--swarm"; do
	h1=$(run "$a" 7 "$args")
	h2=$(run "$b" 7 "$args")
	[ "$h1" = "$h2" ] || { echo "seed 7 $args: $h1 vs $h2"; exit 1; }
	h3=$(run "$a" 8 "$args")
	[ "$h1" != "$h3" ] || { echo "seeds 7 and 8 $args both gave $h1"; exit 1; }
	echo "seed 7 $args: $h1 (twice); seed 8: $h3"
done
