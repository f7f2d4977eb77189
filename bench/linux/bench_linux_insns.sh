#!/usr/bin/env bash
# Linux boot overhead of passage, exact (issue 17): guest instructions
# executed from reset to the end of the Linux test guest, under passage and
# bare, with the same kernel, initramfs, devices, CPU and CPU count, under
# QEMU -icount shift=0,sleep=off. The count is QEMU's own
# (bench/linux/insn_count.c, a TCG plugin counting every instruction of
# every vCPU at every EL: passage's EL2 code is in it) and ends when QEMU
# exits: after init.sh's end marker ("linux-guest: done:") only `sync`,
# `poweroff -f` and, under passage, its end-of-guest summary remain. Each
# run is tests/linux/linux-test.sh, so it must also pass every check.
#
# Beside it, the virtual-time ratio: the guest's uptime at the end marker
# (init.sh prints /proc/uptime's first field), in virtual nanoseconds, where
# with shift=0 one instruction is 1 ns but an idle vCPU's clock jumps to the
# next timer deadline (sleep=off): every msleep of the boot counts in full,
# so it is not the overhead, only a second view of it.
#
# Configurations (each a bare run and a passage run, run side by side):
#   flat                QEMU 7.2, cortex-a72, 2 CPUs, GICv3, the flat layout
#   switch              the same with tests/linux/layouts.sh's switch layout
#   qemu10_iommu_switch QEMU 10.0 with its SMMUv3 (--iommu), the switch layout
# Prints, per configuration (no suffix for flat, _<config> otherwise):
#   linux_boot_insns_bare, linux_boot_insns_passage  (instructions)
#   linux_boot_insns_ratio_vs_bare                   (passage / bare)
#   linux_boot_vtime_ratio_vs_bare                   (uptime at the marker, passage / bare)
#   linux_boot_el2_insns                             (of passage's, those in passage's own code)
#   linux_boot_el2_insns_vs_bare                     (those over bare's total: passage's own share)
#   linux_boot_el2_boot_insns, _after_boot_insns     (those before the guest's first instruction, and after)
# Every figure is the median over --runs: a run whose clock jumped far
# (an idle skip) polls longer in init.sh's waits and counts up to 3 % more.
#
#   bench/linux/bench_linux_insns.sh [--configs "flat switch qemu10_iommu_switch"]
#                                    [--runs N] [--image build/cross/passage.bin]
# --runs N repeats each pair N times; the figures are the medians, and
# linux_boot_insns_run_spread the largest (max - min) / mean of the counts.
# -icount alone does not make a Linux boot repeat exactly (QEMU's device
# back ends and the random seeds in its device tree: KASLR, the kernel's
# hash tables): runs differ by about 0.05 %.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
configs="flat switch qemu10_iommu_switch" runs=1 image=$root/build/cross/passage.bin
while [[ $# -gt 0 ]]; do
    case $1 in
    --configs) configs=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    *) echo "bench_linux_insns: unknown option $1" >&2; exit 2 ;;
    esac
done

tests/linux/fetch.sh >&2
[[ -f $image ]] || { cmake --preset cross >&2 && cmake --build --preset cross -j"$(nproc)" >&2; }
out=$root/build/bench-linux
mkdir -p "$out"
# The plugin, once per plugin API: QEMU 7.2 has version 1, QEMU 10 the
# per-vCPU counters of version 2 and later.
for api in 1 2; do
    cc -std=c11 -Wall -Wextra -O2 -shared -fPIC -DPLUGIN_API=$api -o "$out/insn_count_v$api.so" \
        bench/linux/insn_count.c
done

# passage's image, where QEMU loads it (RAM + 2 MiB, its 6 MiB image_size)
# and where its EL2 code runs (identity-mapped): the plugin counts the
# instructions fetched from there on their own, as passage's share. Each
# passage run checks its boot log says so.
el2_range=40200000:40800000 el2_image="0x40200000-0x407fffff"

# linux-test.sh's arguments and the plugin of a configuration.
config_args() {
    case $1 in
    flat) args=(--cpu cortex-a72 --smp 2 --gic 3) api=1 ;;
    switch) args=(--layout switch --cpu cortex-a72 --smp 2 --gic 3) api=1 ;;
    qemu10_iommu_switch) args=(--qemu10 --iommu --layout switch --cpu cortex-a72 --smp 2 --gic 3) api=2 ;;
    *) echo "bench_linux_insns: unknown configuration $1" >&2; exit 2 ;;
    esac
}

# run CONFIG MODE N: one linux-test.sh run; leaves $out/CONFIG-MODE-N.{count,log}.
run() {
    local config=$1 mode=$2 n=$3 tag=$1-$2-$3 bare=() range=,range=$el2_range
    config_args "$config"
    [[ $mode == bare ]] && bare=(--bare) range=  # the bare kernel itself is loaded there
    # With sleep=off an idle vCPU's clock jumps to its next timer: a host
    # that is slow to complete an I/O (a loaded machine's fsync) can let
    # one of init.sh's `timeout 30` expire in virtual time. Such a run is
    # no figure; it is tried again, up to three times in all.
    local try
    for try in 1 2 3; do
        rm -f "$out/$tag.count"
        if tests/linux/linux-test.sh "${bare[@]}" "${args[@]}" --image "$image" --timeout 900 \
                --work "$out/work-$tag" --log "$out/$tag.log" \
                -- -icount shift=0,sleep=off -plugin "$out/insn_count_v$api.so,out=$out/$tag.count$range" \
                >"$out/$tag.out" 2>&1; then
            [[ -s $out/$tag.count ]] || { echo "bench_linux_insns: $tag wrote no count" >&2; return 1; }
            if [[ -n $range ]] && ! grep -q "image $el2_image " "$out/$tag.log"; then
                echo "bench_linux_insns: $tag: passage is not at $el2_image: fix el2_range" >&2
                return 1
            fi
            return 0
        fi
        echo "bench_linux_insns: $tag failed, try $try: $(grep -m1 'FAIL' "$out/$tag.out")" >&2
    done
    echo "bench_linux_insns: $tag failed three times (see $out/$tag.out)" >&2
    return 1
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
uptime_of() { sed -n 's/^linux-guest: uptime at the end \([0-9.]*\) s.*/\1/p' "$out/$1.log" | tail -1; }

status=0
for config in $configs; do
    config_args "$config"
    suffix=; [[ $config != flat ]] && suffix=_$config
    for ((n = 1; n <= runs; n++)); do
        run "$config" bare "$n" & b=$!
        run "$config" passage "$n" & p=$!
        wait $b || status=1
        wait $p || status=1
    done
    [[ $status -eq 0 ]] || break
    # Per mode: every run's count and uptime, their medians, and the
    # spread of the counts ((max - min) / mean).
    for mode in bare passage; do
        counts=() uptimes=()
        el2=() boot=()
        for ((n = 1; n <= runs; n++)); do
            counts+=("$(sed -n 1p "$out/$config-$mode-$n.count")")
            el2+=("$(sed -n 2p "$out/$config-$mode-$n.count")")
            boot+=("$(sed -n 3p "$out/$config-$mode-$n.count")")
            uptimes+=("$(uptime_of "$config-$mode-$n")")
        done
        echo "$config $mode: instructions ${counts[*]}; in passage ${el2[*]}, before the guest ${boot[*]};" \
             "uptime at the marker ${uptimes[*]} s" >&2
        declare "el2_$mode=$(printf '%s\n' "${el2[@]}" | awk '{ s += $1 } END { printf "%.0f", s / NR }')"
        declare "boot_$mode=$(printf '%s\n' "${boot[@]}" | awk '{ s += $1 } END { printf "%.0f", s / NR }')"
        spread=$(printf '%s\n' "${counts[@]}" | awk 'NR == 1 || $1 < lo { lo = $1 } $1 > hi { hi = $1 }
            { s += $1 } END { printf "%.6f\n", (hi - lo) / (s / NR) }')
        declare "insns_$mode=$(median "${counts[@]}")" "spread_$mode=$spread"
        declare "uptime_$mode=$(median "${uptimes[@]}")"
    done
    echo "linux_boot_insns_bare$suffix: $insns_bare"
    echo "linux_boot_insns_passage$suffix: $insns_passage"
    echo "linux_boot_insns_ratio_vs_bare$suffix: $(awk -v p="$insns_passage" -v b="$insns_bare" 'BEGIN { printf "%.4f\n", p / b }')"
    echo "linux_boot_el2_insns$suffix: $el2_passage"
    echo "linux_boot_el2_insns_vs_bare$suffix: $(awk -v p="$el2_passage" -v b="$insns_bare" 'BEGIN { printf "%.4f\n", p / b }')"
    echo "linux_boot_el2_boot_insns$suffix: $boot_passage"
    echo "linux_boot_el2_after_boot_insns$suffix: $((el2_passage - boot_passage))"
    if [[ $runs -gt 1 ]]; then
        echo "linux_boot_insns_run_spread$suffix: $(awk -v a="$spread_bare" -v b="$spread_passage" 'BEGIN { printf "%.4f\n", (a > b ? a : b) }')"
    fi
    if [[ -n $uptime_bare && -n $uptime_passage ]]; then
        echo "linux_boot_vtime_ratio_vs_bare$suffix: $(awk -v p="$uptime_passage" -v b="$uptime_bare" 'BEGIN { printf "%.3f\n", p / b }')"
    fi
done
exit $status
