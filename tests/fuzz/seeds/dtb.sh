#!/usr/bin/env bash
# Seeds for the dtb fuzzer (and guest_dtb's base trees): QEMU virt's own
# device trees for every variant tests/unit/platform/dump-dtbs.sh makes, the
# unit tests' dtc fixtures, and the real boards' trees when
# tests/boards/fetch-dtbs.sh has fetched them. Each is repacked by dtc:
# QEMU pads its blob to 1 MiB, and libFuzzer's inputs should stay small.
#   seeds/dtb.sh OUTDIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=$1
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$root/tests/unit/platform/dump-dtbs.sh" "$tmp/qemu"
for dtb in "$tmp"/qemu/*.dtb; do
    dtc -q -I dtb -O dtb -o "$out/$(basename "$dtb")" "$dtb"
done
for dts in "$root"/tests/unit/platform/fixtures/*.dts "$root"/tests/unit/guest/fixtures/*.dts; do
    dtc -q -I dts -O dtb -o "$out/fixture-$(basename "$dts" .dts).dtb" "$dts"
done
for dtb in "$root"/build/boards/dtbs/*.dtb; do
    [[ -f $dtb ]] && cp "$dtb" "$out/board-$(basename "$dtb")"
done
echo "seeds/dtb: $(ls "$out" | wc -l) device trees in $out" >&2
