#!/usr/bin/env bash
# fuzz/speedups.py against an AddressSanitizer + UBSan build of pmip6.wire._speedups (a copy of the package in
# a temporary directory, so the normal build is untouched). Usage: fuzz/speedups_asan.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="$root/.venv/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/src/pmip6" "$work/"
rm -f "$work"/pmip6/wire/_speedups*.so
include="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
suffix="$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
gcc -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -fPIC -shared \
    -I"$include" "$root/src/pmip6/wire/_speedups.c" -o "$work/pmip6/wire/_speedups$suffix"
ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    PYTHONPATH="$work" "$python" "$root/fuzz/speedups.py" "${1:-240}"
