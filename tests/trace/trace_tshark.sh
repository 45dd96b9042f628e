#!/bin/sh
# trace_tshark.sh XPVSIM TSHARK CONFIG...
# Each configuration is run with `xpvsim run --trace FILE` on a fresh copy;
# plain tshark (no dissector for the records yet) must read the whole file:
# one frame per record, frame numbers 1..N in order, the link type USER0,
# and nothing on stderr but tshark's own notice about running as root.
set -eu
xpvsim=$1
tshark=$2
shift 2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/xpv-trace-ts.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

for cfg in "$@"; do
	rm -rf "$scratch/run" && mkdir "$scratch/run"
	cp "$cfg" "$scratch/run/guest.cfg"
	"$xpvsim" run "$scratch/run/guest.cfg" --trace "$scratch/run.pcap" \
		>"$scratch/out" || { cat "$scratch/out"; fail "$cfg: run failed"; }
	"$tshark" -r "$scratch/run.pcap" -T fields -e frame.number \
		-e frame.encap_type >"$scratch/frames" 2>"$scratch/err" ||
		{ cat "$scratch/err"; fail "$cfg: tshark failed"; }
	# tshark warns on stderr when it runs as root; anything else counts.
	if grep -v 'Running as user "root"' "$scratch/err" | grep -q .; then
		cat "$scratch/err"
		fail "$cfg: tshark wrote to stderr"
	fi
	n=$(wc -l <"$scratch/frames")
	[ "$n" -gt 100 ] || fail "$cfg: only $n frames"
	# Frame numbers 1..n in order, every frame of link type USER0
	# (Wireshark's encapsulation 45: WTAP_ENCAP_USER0).
	awk -v n="$n" '$1 != NR { exit 1 } END { if (NR != n) exit 1 }' \
		"$scratch/frames" || fail "$cfg: frame numbers out of order"
	cut -f2 "$scratch/frames" | sort -u >"$scratch/encaps"
	[ "$(cat "$scratch/encaps")" = 45 ] ||
		fail "$cfg: encapsulations $(tr '\n' ' ' <"$scratch/encaps")"
	echo "$cfg: $n frames read"
done
