#!/usr/bin/env bash
# Instructions of passage's guest trap paths and of its boot, counted exactly
# under QEMU -icount shift=0,sleep=off by the test guest's bench mode
# (tests/guests/bench.cpp): a null HVC, PSCI_VERSION, an injected stage-2
# abort, a trapped config read and a BAR move (virtual config space), and
# reset to the first guest instruction, with one CPU and five PCI
# devices (virtio-blk-pci, e1000e, pci-testdev, ivshmem-plain and QEMU's
# default virtio-net-pci NIC).
#
# stdout: one `name: value` line per figure (scripts/bench.sh's contract);
# build output, the guest's detail lines and warnings go to stderr.
#
#   bench/guest/bench_guest_trap.sh [--no-build] [--runs N] [--log FILE]
#
# Each run boots QEMU afresh; with N >= 2 (the default is 2) the figures of
# every run must be identical (icount makes them deterministic), else the
# script says so on stderr and exits 1. The figures printed are the first run's.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=build/cross
do_build=1 runs=2 log=
while [[ $# -gt 0 ]]; do
    case $1 in
    --no-build) do_build=; shift ;;
    --runs) runs=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    *) echo "bench_guest_trap: unknown option $1" >&2; exit 2 ;;
    esac
done

if [[ -n $do_build ]]; then
    [[ -f $build/CMakeCache.txt ]] || cmake --preset cross >&2
    cmake --build --preset cross -j"$(nproc)" >&2
fi
for f in "$build/passage.bin" "$build/test_guest.elf"; do
    [[ -f $f ]] || { echo "bench_guest_trap: no $f (build the cross preset)" >&2; exit 1; }
done

# The devices of the QEMU boot tests (tests/qemu/CMakeLists.txt GUEST_DEVICES),
# plus the virtio-net-pci NIC QEMU adds at 00:01.0 unless told -nic none.
devices=(
    -device virtio-blk-pci,drive=d0 -drive if=none,id=d0,file=null-co://,format=raw,size=16M
    -device e1000e,netdev=n0 -netdev user,id=n0,restrict=on
    -device pci-testdev
    -device ivshmem-plain,memdev=shm -object memory-backend-ram,id=shm,size=1G)
# dtb-randomness=off: QEMU writes fresh random bytes into /chosen
# (kaslr-seed, rng-seed) at every boot, and how far a search of the tree
# runs through them moved the boot figure by up to a few hundred
# instructions from one run to the next.
mapfile -t cmd < <(scripts/qemu-cmd.sh "$build/passage.bin" --kernel "$build/test_guest.elf" \
                       --kernel-args passage-bench --smp 1 -- -icount shift=0,sleep=off -machine dtb-randomness=off "${devices[@]}")
echo "+ ${cmd[*]}" >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 1; i <= runs; ++i)); do
    rc=0
    timeout --foreground -k 5 120 "${cmd[@]}" </dev/null >"$tmp/log$i" 2>&1 || rc=$?
    sed -i 's/\r$//' "$tmp/log$i"
    [[ $i -eq 1 && -n $log ]] && cp "$tmp/log1" "$log"
    grep -E '^guest-bench:' "$tmp/log$i" >&2 || true
    if [[ $rc -ne 0 ]] || ! grep -q '^guest-bench: done' "$tmp/log$i" || grep -q '^guest-bench: FAIL' "$tmp/log$i"; then
        echo "bench_guest_trap: run $i failed (QEMU exit $rc); the end of its log:" >&2
        tail -20 "$tmp/log$i" >&2
        exit 1
    fi
    sed -nE 's/^guest-bench: ([a-z0-9_]+): (.*)$/\1: \2/p' "$tmp/log$i" >"$tmp/figures$i"
done

# Every figure must be identical run to run. sleep=off matters for
# boot_to_guest_insns: with QEMU's default sleep=on the virtual clock also
# advances by real time while the vCPU is stopped during QEMU's start-up,
# which added 0.3-1.5 M "instructions" at random.
status=0
for ((i = 2; i <= runs; ++i)); do
    if ! cmp -s "$tmp/figures1" "$tmp/figures$i"; then
        echo "bench_guest_trap: run $i differs from run 1 (not deterministic):" >&2
        diff "$tmp/figures1" "$tmp/figures$i" >&2 || true
        status=1
    fi
done
cat "$tmp/figures1"
exit $status
