#!/usr/bin/env bash
# Installs what is missing, builds the three trees (host: unit tests with
# ASan and UBSan, passage-inspect; cross: the image; fuzz: the libFuzzer
# fuzzers) and runs every test with ctest.
# Then checks that every unit-test case ran under ctest and passed
# (scripts/count-unit-tests.py). Exits non-zero if anything fails.
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
echo "== build: fuzz tree (libFuzzer fuzzers, clang-14)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs"

status=0
echo "== test: host"
junit=$root/build/host/ctest-junit.xml
rm -f "$junit"
ctest --preset host -j"$jobs" --output-junit "$junit" "$@" || status=1
echo "== count: each unit-test binary's cases against its ctest tests that passed"
./scripts/count-unit-tests.py build/host "$junit" || status=1
echo "== test: cross (QEMU boots of passage.bin)"
ctest --preset cross -j"$jobs" "$@" || status=1
echo "== test: fuzz (every fuzzer over its seeds and briefly beyond; scripts/fuzz.sh runs them longer)"
ctest --preset fuzz -j"$jobs" "$@" || status=1

echo "== test.sh: $([[ $status -eq 0 ]] && echo passed || echo FAILED) in $(( $(date +%s) - start ))s"
exit $status
