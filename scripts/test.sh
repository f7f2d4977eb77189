#!/usr/bin/env bash
# Installs what is missing, builds both trees (host: unit tests with ASan and
# UBSan, passage-inspect; cross: the image) and runs every test with ctest.
# Exits non-zero if anything fails.
#
#   ./scripts/test.sh [ctest args, e.g. -R qemu]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start=$(date +%s)

./scripts/deps.sh

jobs=$(nproc)
echo "== build: host tree (unit tests, passage-inspect)"
cmake --preset host >/dev/null
cmake --build --preset host -j"$jobs"
echo "== build: cross tree (passage.elf, passage.bin)"
cmake --preset cross >/dev/null
cmake --build --preset cross -j"$jobs"

status=0
echo "== test: host"
ctest --preset host -j"$jobs" "$@" || status=1
echo "== test: cross (QEMU boots of passage.bin)"
ctest --preset cross -j"$jobs" "$@" || status=1

echo "== test.sh: $([[ $status -eq 0 ]] && echo passed || echo FAILED) in $(( $(date +%s) - start ))s"
exit $status
