#!/bin/sh
# xpvsim_determinism.sh XPVSIM [OTHER_XPVSIM] CONFIG...
# Each configuration runs in separate processes, each time on fresh images
# in a scratch directory: the same seed must give the same trace hash (and
# the same hash from the second binary, e.g. the asan build), another seed
# another hash.
set -eu
a=$1
shift
b=$a
case $1 in *.cfg) ;; *) b=$1; shift ;; esac
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpvsim-det.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# hash BINARY CONFIG SEED: the run's trace hash, from a fresh copy.
hash() {
	rm -rf "$scratch/run" && mkdir "$scratch/run"
	cp "$2" "$scratch/run/guest.cfg"
	"$1" run "$scratch/run/guest.cfg" --seed "$3" --json >"$scratch/out" || {
		echo "$2 seed $3: run failed"; cat "$scratch/out"; exit 1; }
	sed -n 's/.*"trace_hash":"\([0-9a-f]*\)".*/\1/p' "$scratch/out"
}

for cfg in "$@"; do
	h1=$(hash "$a" "$cfg" 7)
	h2=$(hash "$b" "$cfg" 7)
	[ -n "$h1" ] || { echo "$cfg: no trace_hash in the JSON"; exit 1; }
	[ "$h1" = "$h2" ] || { echo "$cfg seed 7: $h1 vs $h2"; exit 1; }
	h3=$(hash "$a" "$cfg" 8)
	[ "$h1" != "$h3" ] || { echo "$cfg: seeds 7 and 8 both gave $h1"; exit 1; }
	echo "$cfg: seed 7 $h1 (twice); seed 8 $h3"
done
