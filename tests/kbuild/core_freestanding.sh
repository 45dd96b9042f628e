#!/bin/sh
# Every portable core file compiles freestanding, seeing only drivers/include:
# no libc, no OS header, not even the compiler's own headers (-nostdinc).
#
# usage: core_freestanding.sh CC DRIVERS_DIR OUT_DIR SRC...
# SRC: the XPV_CORE_SRCS list from drivers/sources.mk, relative to
# DRIVERS_DIR. Frontend cores in drivers/scsifront and drivers/usbfront are
# picked up here, at run time, as soon as those directories exist.
set -eu

cc=$1
drivers=$2
out=$3
shift 3

srcs="$*"
for dir in scsifront usbfront; do
	for f in "$drivers/$dir"/*.c; do
		[ -e "$f" ] && srcs="$srcs $dir/${f##*/}"
	done
done

mkdir -p "$out"
fail=0
n=0
for s in $srcs; do
	n=$((n + 1))
	o=$out/$(echo "$s" | tr '/' '_').o
	if "$cc" -std=gnu11 -ffreestanding -nostdinc -Wall -Wextra -Werror \
		-I "$drivers/include" -c "$drivers/$s" -o "$o"; then
		echo "ok   $s"
	else
		echo "FAIL $s"
		fail=1
	fi
done
if [ "$n" -eq 0 ]; then
	echo "FAIL: no core sources given"
	exit 1
fi
exit $fail
