#!/usr/bin/env bash
# Linux boot time under passage versus bare (issue 6's benchmark) and with
# virtual config space versus direct (issue 7's): the same Debian kernel,
# initramfs and devices (virtio-blk-pci, e1000e, virtio-net-pci), on the same
# QEMU machine and CPU, bare (the kernel itself at EL2), under passage (the
# default: config space trapped, Linux assigns its own BARs) and under
# passage with passage.vpci=off (the ECAM mapped, linux,pci-probe-only),
# three times each, alternating. The time is wall clock from starting QEMU
# to the guest's final marker line ("linux-guest: done:"). Prints
# `name: value` lines:
#   linux_boot_bare_s, linux_boot_passage_s, linux_boot_direct_s  (medians, seconds)
#   linux_boot_ratio_vs_bare                 (passage / bare)
#   linux_boot_ratio_vpci_vs_direct          (passage / passage.vpci=off)
#
#   bench/linux/bench_linux_boot.sh [--cpu cortex-a72] [--runs 3] [--image build/cross/passage.bin]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cpu=cortex-a72 runs=3 image=build/cross/passage.bin
while [[ $# -gt 0 ]]; do
    case $1 in
    --cpu) cpu=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    *) echo "bench_linux_boot: unknown option $1" >&2; exit 2 ;;
    esac
done

tests/linux/fetch.sh >&2
[[ -f $image ]] || { cmake --preset cross >&2 && cmake --build --preset cross -j"$(nproc)" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
truncate -s 16M "$work/disk.img"
devices=(-device virtio-blk-pci,drive=d0 -drive "if=none,id=d0,file=$work/disk.img,format=raw"
         -device e1000e,netdev=n0 -netdev user,id=n0,restrict=on
         -device virtio-net-pci,netdev=n1 -netdev user,id=n1,restrict=on)
kargs="console=ttyAMA0 panic=-1 passage.watchdog=300"
common=(--cpu "$cpu" --smp 2 --gic 3 --kernel build/linux/Image --initrd build/linux/initramfs.cpio.gz
        --kernel-args "$kargs")

# Seconds from starting QEMU to the marker line, or "fail".
time_to_marker() {
    local start line
    start=$(date +%s%N)
    while IFS= read -r line; do
        if [[ $line == *"linux-guest: done:"* ]]; then
            awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
            cat >/dev/null
            return 0
        fi
    done < <(timeout 600 "$@" </dev/null 2>&1)
    echo fail
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

bare=() passage=() direct=()
for ((i = 1; i <= runs; i++)); do
    mapfile -t cmd < <(scripts/qemu-cmd.sh --bare "${common[@]}" -- "${devices[@]}")  # at EL2 (virtualization=on)
    t=$(time_to_marker "${cmd[@]}"); echo "bare run $i: $t s" >&2; bare+=("$t")
    mapfile -t cmd < <(scripts/qemu-cmd.sh "$image" "${common[@]}" -- "${devices[@]}")
    t=$(time_to_marker "${cmd[@]}"); echo "passage run $i: $t s" >&2; passage+=("$t")
    mapfile -t cmd < <(scripts/qemu-cmd.sh "$image" --append "passage.vpci=off" "${common[@]}" -- "${devices[@]}")
    t=$(time_to_marker "${cmd[@]}"); echo "passage.vpci=off run $i: $t s" >&2; direct+=("$t")
done
for t in "${bare[@]}" "${passage[@]}" "${direct[@]}"; do [[ $t != fail ]] || { echo "bench_linux_boot: a run did not reach the marker" >&2; exit 1; }; done
b=$(median "${bare[@]}") p=$(median "${passage[@]}") d=$(median "${direct[@]}")
echo "linux_boot_bare_s: $b"
echo "linux_boot_passage_s: $p"
echo "linux_boot_direct_s: $d"
echo "linux_boot_ratio_vs_bare: $(awk -v p="$p" -v b="$b" 'BEGIN { printf "%.2f\n", p / b }')"
echo "linux_boot_ratio_vpci_vs_direct: $(awk -v p="$p" -v d="$d" 'BEGIN { printf "%.2f\n", p / d }')"
