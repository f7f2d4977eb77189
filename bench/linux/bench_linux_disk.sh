#!/usr/bin/env bash
# The guest reading its disk through the SMMU (issue 13): Debian's Linux on
# QEMU 10 with iommu=smmuv3, its virtio-blk-pci disk modern-only and behind
# the IOMMU (disable-legacy=on,iommu_platform=on), reads the whole disk
# (64 MiB) several times, caches dropped each time (init.sh's
# passage.disk_read_rounds), once with passage driving the SMMU (every DMA
# translated through the guest's stage 2) and once with passage.smmu=off
# (the SMMU left in bypass), alternating, --runs times each. Prints:
#   linux_disk_read_mib_s_smmu, linux_disk_read_mib_s_none   (medians, MiB/s of guest time)
#   linux_disk_read_ratio_smmu_vs_none                       (smmu / none; goal >= 0.95)
#
#   bench/linux/bench_linux_disk.sh [--runs 3] [--rounds 8]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
runs=3 rounds=8
while [[ $# -gt 0 ]]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "bench_linux_disk: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -f build/cross/passage.bin ]] || { cmake --preset cross >&2 && cmake --build --preset cross -j"$(nproc)" >&2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
one() {  # one NAME PASSAGE_ARGS -> MiB/s
    local log=$tmp/$1.log
    tests/linux/linux-test.sh --qemu10 --iommu --cpu cortex-a72 --smp 2 --gic 3 --disk-mib 64 --timeout 300 \
        --passage-args "$2" --kernel-extra "passage.disk_read_rounds=$rounds" --work "$tmp/work-$1" --log "$log" >&2 ||
        { echo "bench_linux_disk: the $1 run failed" >&2; exit 1; }
    sed -nE 's/^linux-guest: disk-read: ([0-9]+) MiB in ([0-9]+) cs.*/\1 \2/p' "$log" |
        awk '{ if ($2 > 0) printf "%.2f\n", $1 * 100 / $2 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
: >"$tmp/smmu" ; : >"$tmp/none"
for ((i = 1; i <= runs; ++i)); do
    v=$(one smmu "passage.loglevel=info"); [[ -n $v ]] || { echo "bench_linux_disk: no disk-read line" >&2; exit 1; }
    echo "$v" >>"$tmp/smmu"
    v=$(one none "passage.smmu=off"); [[ -n $v ]] || { echo "bench_linux_disk: no disk-read line" >&2; exit 1; }
    echo "$v" >>"$tmp/none"
    echo "bench_linux_disk: run $i: smmu $(tail -1 "$tmp/smmu") MiB/s, none $v MiB/s" >&2
done
s=$(median <"$tmp/smmu") n=$(median <"$tmp/none")
echo "linux_disk_read_mib_s_smmu: $s"
echo "linux_disk_read_mib_s_none: $n"
echo "linux_disk_read_ratio_smmu_vs_none: $(awk -v s="$s" -v n="$n" 'BEGIN { printf "%.3f", s / n }')"
