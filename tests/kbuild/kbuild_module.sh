#!/bin/sh
# The portable cores and their Linux glue build into xpv_core.ko with the
# installed kernel headers, with gcc, W=1, and not one warning.
#
# usage: kbuild_module.sh DRIVERS_DIR WORK_PARENT
# The kernel is the one the linux-headers-amd64 package depends on (not
# `uname -r`: CI containers run some other host kernel); XPV_KDIR overrides.
# The compiler is the one that built that kernel (CONFIG_CC_VERSION_TEXT),
# since Kbuild warns when they differ. Exit 77 (ctest: skipped) when no
# headers are installed.
set -eu

drivers=$1
parent=$2

headers_dir() {
	if [ -n "${XPV_KDIR:-}" ]; then
		echo "$XPV_KDIR"
		return
	fi
	command -v dpkg-query >/dev/null 2>&1 || return 0
	# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> the package name,
	# which is also its directory under /usr/src.
	dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		tr ',|' '\n\n' | sed -n 's/^ *\(linux-headers-[^ ]*\).*/\1/p' |
		head -n 1 | sed 's|^|/usr/src/|'
}

kdir=$(headers_dir)
if [ -z "$kdir" ] || [ ! -f "$kdir/Makefile" ]; then
	echo "kbuild: no linux-headers-amd64 headers (got '${kdir}'): skipped"
	exit 77
fi

# First word of e.g. "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0".
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\{0,1\}\([^ "]*\).*/\1/p' \
	"$kdir/include/config/auto.conf" 2>/dev/null || true)
case "$cc" in
gcc*) command -v "$cc" >/dev/null 2>&1 || cc=gcc ;;
*) cc=gcc ;;
esac

# A fresh copy per run: Kbuild writes objects beside the sources, and two
# runs (or the source tree itself) must never share them.
mkdir -p "$parent"
work=$(mktemp -d "$parent/kbuild.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$drivers" "$work/drivers"
mdir=$work/drivers/os/linux
log=$work/build.log

echo "kbuild: $kdir, CC=$cc, M=$mdir"
status=0
make -C "$kdir" M="$mdir" CC="$cc" W=1 modules >"$log" 2>&1 || status=$?
cat "$log"

fail=0
if [ "$status" -ne 0 ]; then
	echo "FAIL: make exited with status $status"
	fail=1
fi
# Compiler warnings, Kbuild's own ("warning: the compiler differs") and
# modpost's ("WARNING: modpost: ...") all count.
if grep -i 'warning:' "$log" >/dev/null; then
	echo "FAIL: warnings in the build:"
	grep -i 'warning:' "$log"
	fail=1
fi
ko=$mdir/xpv_core.ko
if [ ! -f "$ko" ]; then
	echo "FAIL: $ko was not produced"
	exit 1
fi

# modinfo comes with kmod, which a build container may lack: the same
# field read straight from the module's .modinfo section is equivalent.
if command -v modinfo >/dev/null 2>&1; then
	license=$(modinfo -F license "$ko")
else
	license=$(objcopy -O binary -j .modinfo "$ko" /dev/stdout |
		tr '\0' '\n' | sed -n 's/^license=//p')
fi
echo "kbuild: license: $license"
if [ "$license" != "Dual MIT/GPL" ]; then
	echo "FAIL: license is '$license', expected 'Dual MIT/GPL'"
	fail=1
fi
exit $fail
