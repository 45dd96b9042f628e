#!/usr/bin/env bash
# ClusterFuzzLite / OSS-Fuzz build of the fuzz targets (fuzz/README.md,
# "ClusterFuzzLite"). Honours the builder's variables: the project's
# sources are compiled with $CC $CFLAGS, each fuzz_NAME is linked with
# $LIB_FUZZING_ENGINE (by $CXX $CXXFLAGS when the builder sets them, as
# OSS-Fuzz asks, else by $CC $CFLAGS) into $OUT, with its seeds as
# $OUT/fuzz_NAME_seed_corpus.zip and its dictionary as $OUT/fuzz_NAME.dict.
# The canary is left out: it crashes on purpose, and a service that fuzzes
# it would report that crash on every run.
set -euo pipefail

: "${CC:?set CC, e.g. clang}" "${CFLAGS?set CFLAGS}" "${OUT:?set OUT}"
: "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE, e.g. -fsanitize=fuzzer}"
: "${SRC:?set SRC}"

# In the builder image this script is $SRC/build.sh and the project is
# $SRC/xpv (Dockerfile); run from a checkout, it is .clusterfuzzlite/.
here=$(cd "$(dirname "$0")" && pwd)
if [[ -f $here/../CMakeLists.txt ]]; then
	ROOT=$(cd "$here/.." && pwd)
else
	ROOT=$SRC/xpv
fi
# $WORK is the builder's scratch directory; elsewhere a temporary one.
if [[ -n ${WORK:-} ]]; then
	BUILD=$WORK/xpv-build
else
	BUILD=$(mktemp -d)/xpv-build
	trap 'rm -rf "${BUILD%/xpv-build}"' EXIT
fi
LINK_CC=${CXX:-$CC}
LINK_FLAGS=${CXXFLAGS:-$CFLAGS}

# The project's CMake build with the builder's compiler and flags, no
# sanitizer or engine of its own (they come in CFLAGS and at the link).
configure() {
	cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER="$CC" \
		-DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_BUILD_TYPE=None \
		-DXPV_SANITIZE= -DXPV_COVERAGE=OFF -DXPV_FUZZ_ENGINE=
}

targets() {
	local f
	for f in "$ROOT"/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		f=${f%.c}
		[[ $f == canary ]] || echo "$f"
	done
}

# CMake links fuzz_NAME with the replay driver's main(); its link line
# (from ninja) gives the target's object, the libraries in order and the
# system libraries. Prints them one a line, without the driver.
link_inputs() {
	local name=$1 cmd tok past_out=0 skip=0
	cmd=$(ninja -C "$BUILD" -t commands "fuzz/fuzz_$name" | tail -n 1)
	# CMake quotes nothing here: the words are the command's arguments.
	read -r -a words <<<"$cmd"
	for tok in "${words[@]}"; do
		if [[ $skip -eq 1 ]]; then skip=0; past_out=1; continue; fi
		case "$tok" in
		-o) skip=1 ;;
		'&&'|':') [[ $past_out -eq 1 ]] && break ;;
		*replay_main.c.o) ;;
		*.o) echo "$tok" ;;
		*) [[ $past_out -eq 1 ]] && echo "$tok" ;;
		esac
	done
}

# Shared libraries the runner image lacks (libxlutil and what it pulls
# in) go to $OUT/lib, found through the binary's RUNPATH.
copy_shared_libs() {
	local bin=$1 lib
	mkdir -p "$OUT/lib"
	for lib in $(ldd "$bin" | awk '$3 ~ /^\// { print $3 }'); do
		case "${lib##*/}" in
		libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|libgcc_s.so*|libstdc++.so*|libc++*|ld-linux*) ;;
		*) [[ -e $OUT/lib/${lib##*/} ]] || cp -L "$lib" "$OUT/lib/" ;;
		esac
	done
}

build_target() {
	local name=$1 inputs built
	mapfile -t inputs < <(link_inputs "$name")
	[[ ${#inputs[@]} -gt 0 ]] || { echo "build.sh: no link line for fuzz_$name" >&2; exit 1; }
	# Object and archives: ninja target names are paths in the build.
	mapfile -t built < <(printf '%s\n' "${inputs[@]}" | grep -E '\.(o|a)$')
	ninja -C "$BUILD" "${built[@]}"
	# The flags are lists of words; '$ORIGIN' is for the dynamic linker.
	# shellcheck disable=SC2086,SC2016
	(cd "$BUILD" && $LINK_CC $LINK_FLAGS "${inputs[@]}" $LIB_FUZZING_ENGINE \
		-Wl,-rpath,'$ORIGIN/lib' -o "$OUT/fuzz_$name")
	copy_shared_libs "$OUT/fuzz_$name"
}

# Seeds and past crashes (fixed, so they must pass) in one flat zip;
# cmake -E tar writes zip archives, so no zip tool is needed.
pack_seeds() {
	local name=$1 tmp f
	tmp=$(mktemp -d)
	for f in "$ROOT/corpus/$name"/* "$ROOT/corpus/regressions/$name"/*; do
		[[ -f $f ]] && cp "$f" "$tmp/"
	done
	rm -f "$OUT/fuzz_${name}_seed_corpus.zip"
	(cd "$tmp" && cmake -E tar cf "$OUT/fuzz_${name}_seed_corpus.zip" --format=zip -- *)
	rm -rf "$tmp"
	if [[ -f $ROOT/fuzz/dict/$name.dict ]]; then
		cp "$ROOT/fuzz/dict/$name.dict" "$OUT/fuzz_$name.dict"
	fi
}

main() {
	local name
	mkdir -p "$OUT"
	configure
	for name in $(targets); do
		build_target "$name"
		pack_seeds "$name"
		echo "build.sh: $OUT/fuzz_$name"
	done
}

main "$@"
