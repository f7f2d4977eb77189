#!/usr/bin/env bash
# Dumps the device trees QEMU virt really generates, for the discovery tests.
#   dump-dtbs.sh OUTDIR
set -euo pipefail
out=$1
mkdir -p "$out"
dump() {
    local name=$1; shift
    qemu-system-aarch64 -nographic -m 1G "$@" -machine "dumpdtb=$out/$name.dtb" >/dev/null 2>&1 ||
        qemu-system-aarch64 -nographic -m 1G "$@" -machine "dumpdtb=$out/$name.dtb"
}
dump qemu-virt-gicv3 -machine virt,virtualization=on,gic-version=3 -cpu max -smp 2 \
    -device virtio-blk-pci,drive=d0 -drive if=none,id=d0,file=/dev/null,format=raw \
    -device e1000e,netdev=n0 -netdev user,id=n0,restrict=on -device pci-testdev
dump qemu-virt-gicv2 -machine virt,virtualization=on,gic-version=2 -cpu cortex-a72 -smp 4 \
    -device virtio-net-pci,netdev=n0 -netdev user,id=n0,restrict=on
dump qemu-virt-nohighmem -machine virt,virtualization=on,gic-version=3,highmem=off -cpu cortex-a57 -smp 1
dump qemu-virt-smmuv3 -machine virt,virtualization=on,gic-version=3,iommu=smmuv3 -cpu max -smp 2 \
    -device edu
