#!/usr/bin/env bash
# What SMMU invalidation adds to one guest BAR move (issue 13): the test
# guest's bench mode (tests/guests/bench.cpp, vpci_bar_move_insns, counted
# exactly under -icount shift=0,sleep=off) on QEMU 10 with its SMMUv3
# (iommu=smmuv3), once with passage driving the SMMU and once with
# passage.smmu=off (the SMMU left to firmware: no invalidation).
#
# stdout: smmu_bar_move_extra_insns: <with SMMU - without>, and both
# runs' vpci_bar_move_insns; everything else to stderr.
#
#   bench/guest/bench_smmu.sh [--no-build]
#
# With the SMMU, passage's stage 2 starts at level 0 (one root table; QEMU
# 10's SMMU mishandles concatenated ones) where without it the root is two
# concatenated level-1 tables: the walk differs by one level, which is
# part of the figure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=build/cross
if [[ ${1:-} != --no-build ]]; then
    [[ -f $build/CMakeCache.txt ]] || cmake --preset cross >&2
    cmake --build --preset cross -j"$(nproc)" >&2
fi
qemu=$(scripts/qemu10.sh)
devices=(
    -device virtio-blk-pci,drive=d0 -drive if=none,id=d0,file=null-co://,format=raw,size=16M
    -device e1000e,netdev=n0 -netdev user,id=n0,restrict=on
    -device pci-testdev
    -device ivshmem-plain,memdev=shm -object memory-backend-ram,id=shm,size=1G)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {  # run NAME PASSAGE_ARGS
    local opts=("$build/passage.bin" --qemu "$qemu" --iommu --kernel "$build/test_guest.elf" --kernel-args passage-bench
                --smp 1)
    [[ -n $2 ]] && opts+=(--append "$2")
    mapfile -t cmd < <(scripts/qemu-cmd.sh "${opts[@]}" -- -icount shift=0,sleep=off "${devices[@]}")
    echo "+ ${cmd[*]}" >&2
    timeout --foreground -k 5 120 "${cmd[@]}" </dev/null >"$tmp/$1" 2>&1 || true
    sed -i 's/\r$//' "$tmp/$1"
    grep -E '^guest-bench:|SMMU' "$tmp/$1" >&2 || true
    local v
    v=$(sed -nE 's/^guest-bench: vpci_bar_move_insns: ([0-9.]+)$/\1/p' "$tmp/$1")
    [[ -n $v ]] || { echo "bench_smmu: no vpci_bar_move_insns in the $1 run" >&2; tail -20 "$tmp/$1" >&2; exit 1; }
    echo "$v"
}
with=$(run smmu "")
without=$(run none "passage.smmu=off")
grep -q "SMMUv3 .* on: " "$tmp/smmu" || { echo "bench_smmu: the SMMU was not on in the SMMU run" >&2; exit 1; }
echo "vpci_bar_move_insns_smmu: $with"
echo "vpci_bar_move_insns_smmu_off: $without"
echo "smmu_bar_move_extra_insns: $(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.1f", a - b }')"
