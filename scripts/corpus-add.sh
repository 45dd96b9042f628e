#!/usr/bin/env bash
# corpus-add.sh DIR FILE...: copies each FILE into corpus/DIR/ named by the
# SHA-1 of its content (the corpus naming rule: the same input is stored
# once, whoever adds it). DIR is a target ("simcfg") or a regression
# directory ("regressions/simcfg"). Prints the stored names.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 DIR FILE..." >&2; exit 2; }
dest="$(dirname "$0")/../corpus/$1"
shift
mkdir -p "$dest"
for f in "$@"; do
	[[ -f "$f" ]] || { echo "corpus-add: $f: not a file" >&2; exit 1; }
	sum=$(sha1sum "$f" | cut -d' ' -f1)
	cp "$f" "$dest/$sum"
	echo "${dest#*/../}/$sum"
done
