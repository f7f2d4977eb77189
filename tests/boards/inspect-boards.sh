#!/usr/bin/env bash
# passage-inspect on the board device trees from Debian's arm64 kernel
# (fetched by fetch-dtbs.sh): each is read without a crash, and the ECAM
# bridges, windows, GIC and UART come out as the trees say, with addresses
# translated through the parents' ranges.
#   inspect-boards.sh PASSAGE_INSPECT DTB_DIR
set -uo pipefail
inspect=$1 dir=$2
failed=0

# expect FILE REGEX...: passage-inspect exits 0 and every regex matches a line.
expect() {
    local file=$dir/$1 out rc re bad=0
    shift
    out=$("$inspect" "$file" 2>&1)
    rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "FAIL ${file##*/}: exit $rc"; bad=1
    fi
    for re in "$@"; do
        grep -qE -- "$re" <<<"$out" || { echo "FAIL ${file##*/}: no line matches: $re"; bad=1; }
    done
    if [[ $bad -ne 0 ]]; then echo "$out" | head -60; failed=1
    else echo "ok   ${file##*/}"
    fi
}

for r in r1 r2; do
    expect juno-$r.dtb \
        "platform: ARM Juno development board \\($r\\)" \
        "memory +0x80000000-0xfeffffff \\(2032 MiB\\)" \
        "memory +0x880000000-0x9ffffffff \\(6 GiB\\)" \
        "cpus +6$" \
        "psci +smc \\(arm,psci-0.2\\)" \
        "console +pl011 0x7ff80000 /serial@7ff80000" \
        "gic +v2 \\(arm,gic-400\\)" "dist +0x2c010000-0x2c010fff" "cpu +0x2c02f000-0x2c030fff \\(8 KiB\\)" \
        "v2m +0x2c1c0000-0x2c1cffff" "gich +0x2c04f000-0x2c050fff" "gicv +0x2c06f000-0x2c070fff" \
        "pci +0000 /pcie@40000000: ecam 0x40000000 \\(256 MiB\\) buses 00-ff dma-coherent" \
        "io +cpu 0x5f800000-0x5fffffff pci 0x0 \\(8 MiB\\)" \
        "mem32 +cpu 0x50000000-0x57ffffff pci 0x50000000 \\(128 MiB\\)" \
        "mem64 pref cpu 0x4000000000-0x40ffffffff pci 0x4000000000 \\(4 GiB\\)" \
        "32-bit window at pci 0x4000000000 reaches past 4 GiB" \
        "console +yes" "psci +yes" "pci +1 pci-host-ecam-generic host bridge\\(s\\) passage drives; 0 other"
done
for b in rdb qds; do
    expect fsl-ls1028a-$b.dtb \
        "platform: LS1028A ${b^^} Board" \
        "memory +0x80000000-0x17fffffff \\(4 GiB\\)" \
        "cpus +2$" \
        "console +16550 0x21c0500 /soc/serial@21c0500 \(fsl,ns16550; reg-shift 0, reg-io-width 1, reg-offset 0x0; the firmware's divisor\)" \
        "psci +none" \
        "gic +v3 \\(arm,gic-v3\\)" "dist +0x6000000-0x600ffff" "redist +0x6040000-0x607ffff" "its +0x6020000-0x603ffff" \
        "pci +0000 /soc/pcie@1f0000000: ecam 0x1f0000000 \\(1 MiB\\) buses 00-00 dma-coherent" \
        "mem64 +cpu 0x1f8000000-0x1f815ffff pci 0x1f8000000 \\(1408 KiB\\)" \
        "mem64 pref cpu 0x1f8160000-0x1f81cffff pci 0x1f8160000 \\(448 KiB\\)" \
        "mem64 +cpu 0x1fc000000-0x1fc3fffff pci 0x1fc000000 \\(4 MiB\\)" \
        "not driven: /soc/pcie@3400000 \\(fsl,ls1028a-pcie, disabled\\)" \
        "not driven: /soc/pcie@3500000 \\(fsl,ls1028a-pcie, disabled\\)" \
        "console +yes: 16550 /soc/serial@21c0500" "psci +no:" "gic +yes: GICv3"
done
exit $failed
