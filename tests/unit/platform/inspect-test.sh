#!/usr/bin/env bash
# passage-inspect on good and bad device trees: the summary on good ones; a
# clear message and exit 1 on bad ones, never a crash (exit >= 128).
#   inspect-test.sh PASSAGE_INSPECT DATA_DIR
set -uo pipefail
inspect=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

check() {  # check NAME WANT_RC PATTERN FILE
    local name=$1 want=$2 pattern=$3 file=$4 out rc
    out=$("$inspect" "$file" 2>&1)
    rc=$?
    if [[ $rc -ne $want ]] || ! grep -qE -- "$pattern" <<<"$out"; then
        echo "FAIL $name: exit $rc (want $want), output:"
        echo "$out" | head -5
        failed=1
    else
        echo "ok   $name"
    fi
}

check "qemu virt summary" 0 "ecam 0x4010000000 \(256 MiB\) buses 00-ff" "$data/qemu-virt-gicv3.dtb"
check "board summary" 0 "console +pl011 0x2a001000" "$data/board-nested.dtb"
head -c 200 "$data/qemu-virt-gicv3.dtb" >"$tmp/truncated.dtb"
check "truncated" 1 "truncated: header says 1048576 bytes, only 200 present" "$tmp/truncated.dtb"
printf 'not a device tree at all, just text\n' >"$tmp/text.dtb"
check "bad magic" 1 "not a device tree: magic 0x6e6f7420" "$tmp/text.dtb"
: >"$tmp/empty.dtb"
check "empty file" 1 "truncated: 0 bytes" "$tmp/empty.dtb"
check "missing file" 1 "cannot open" "$tmp/does-not-exist.dtb"
check "spin-table cpus" 0 "cpu1 mpidr 0x1 spin-table" "$data/spin-table.dtb"
check "spin-table page" 0 "spin-table +0x8000f000-0x8000ffff" "$data/spin-table.dtb"
check "cpus past eight" 0 "4 more CPUs in /cpus: beyond the 8 passage supports" "$data/many-cpus.dtb"
check "no-map regions" 0 "no-map +0x60000000-0x603fffff" "$data/no-map.dtb"
check "dma masters" 0 "dma +4 masters, 2 not dma-coherent \(first /mmc@20000000\)" "$data/dma-masters.dtb"
# The bootloader fills in /memory on most boards: reported, not refused.
check "no memory" 0 "memory +none in the tree: filled in by the bootloader" "$data/no-memory.dtb"
check "long path" 0 "console +pl011 0x1c090000 /bus@8000000/motherboard-bus@8000000/iofpga-bus@300000000/serial@90000$" \
    "$data/gic-many-frames.dtb"
check "no GIC" 1 "the root one is /local_intc@40000000 \(brcm,bcm2836-l1-intc\)" "$data/gic-none.dtb"
exit $failed
