#!/usr/bin/env bash
# Installs the Debian 12 packages xpv needs, and only those that are missing.
# Idempotent and non-interactive: `make test`, `make demo` and .ci/run call it
# on every run, so a fresh machine needs nothing but git and make.
# Extend by adding a package name to PACKAGES (keep the reason beside it).
set -euo pipefail

PACKAGES=(
	cmake ninja-build make pkg-config gcc  # build
	clang-14 llvm-14 libclang-rt-14-dev    # asan/ubsan/coverage presets, libFuzzer
	afl++                                  # afl preset: afl-clang-fast, afl-fuzz, libAFLDriver.a
	check                                  # unit-test framework (pkg-config: check)
	libxen-dev                             # Xen public headers, <xenstore.h>
	linux-headers-amd64 kmod               # Kbuild check of the portable cores
	libpcap-dev                            # pcap traces: writing, reading, importing captures
	tshark                                 # trace tests: Wireshark's dissectors, and ours in Lua
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || { echo "deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
