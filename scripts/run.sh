#!/usr/bin/env bash
# Installs what is missing, builds passage, and boots it under QEMU.
#
#   ./scripts/run.sh [--gic 2|3] [--cpu CPU] [--smp N] [--mem SIZE]
#                    [--passage "passage.opt=..."] [--gdb]
#                    [--kernel Image [--initrd FILE] [--append "guest cmdline"]]
#                    [--linux] [--uboot | --load-addr ADDR] [--iommu] [-- extra QEMU args]
#
# Without --kernel, passage runs its built-in test guest. --kernel boots your
# own kernel (an arm64 Image or an ELF) as a boot module, with --initrd and
# its command line from --append. --passage sets passage's own options.
# --gdb starts QEMU halted with a gdb stub and prints the command to attach.
# --linux boots Debian's arm64 Linux (fetched once by tests/linux/fetch.sh
# into build/linux) with the test initramfs, a fresh random virtio-blk disk
# (build/linux/run/disk.img), e1000e and virtio-net-pci; --append adds to its
# command line. tests/linux/linux-test.sh runs the same and checks it.
# --uboot boots through Debian's U-Boot, as on a board: its boot.scr loads
# passage and the guest (the test guest's ELF unless --kernel or --linux) from
# a FAT disk, writes the /chosen boot modules and `booti`s passage.
# --load-addr starts passage at ADDR (2 MiB aligned) through a boot stub.
# --iommu adds QEMU's SMMUv3 and runs on QEMU 10 (scripts/qemu10.sh): 7.2's
# SMMU has no stage 2. The test guest then also gets QEMU's edu device.
# Everything after -- goes to QEMU as it is, e.g. -- -device e1000e (without
# it, the test guest gets an e1000e, a pci-testdev and an ivshmem-plain).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

opts=() gdb= extra=() linux= smp=2 guest_kernel= guest_args= guest_args_set= uboot= load_addr=0x40200000 iommu=
while [[ $# -gt 0 ]]; do
    case $1 in
    --smp) smp=$2; opts+=("$1" "$2"); shift 2 ;;
    --kernel) guest_kernel=$2; opts+=("$1" "$2"); shift 2 ;;
    --gic | --cpu | --mem | --initrd) opts+=("$1" "$2"); shift 2 ;;
    --passage) opts+=(--append "$2"); shift 2 ;;
    --append) guest_args=$2; guest_args_set=1; shift 2 ;;
    --gdb) gdb=1234; shift ;;
    --linux) linux=1; shift ;;
    --uboot) uboot=1; load_addr=0x40400000; opts+=(--uboot build/cross/uboot-run); shift ;;  # U-Boot's kernel_addr_r
    --load-addr) load_addr=$2; opts+=("$1" "$2"); shift 2 ;;
    --iommu) iommu=1; opts+=(--iommu --qemu "$(./scripts/qemu10.sh)"); shift ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

./scripts/deps.sh ${gdb:+gdb-multiarch}
cmake --preset cross >/dev/null
cmake --build --preset cross -j"$(nproc)" >/dev/null

image=build/cross/passage.bin
[[ -n $gdb ]] && opts+=(--gdb "$gdb")
if [[ -n $linux ]]; then
    [[ -z $guest_kernel ]] || { echo "run.sh: --linux brings its own kernel; drop --kernel" >&2; exit 2; }
    fetched=$(tests/linux/fetch.sh)
    disk=build/linux/run/disk.img
    mkdir -p "${disk%/*}"
    dd if=/dev/urandom of="$disk" bs=1M count=8 status=none
    kargs="console=ttyAMA0 earlycon panic=-1 passage.disk_md5=$(md5sum "$disk" | cut -d' ' -f1)"
    kargs+=" passage.marker=run-sh passage.cpus=$smp${guest_args:+ $guest_args}"
    opts+=(--kernel "$(sed -n 's/^Image: //p' <<<"$fetched")"
           --initrd "$(sed -n 's/^initramfs: //p' <<<"$fetched")" --kernel-args "$kargs")
    extra=(-device virtio-blk-pci,drive=d0 -drive "if=none,id=d0,file=$disk,format=raw"
           -device e1000e,netdev=n0 -netdev user,id=n0,restrict=on
           -device virtio-net-pci,netdev=n1 -netdev user,id=n1,restrict=on "${extra[@]}")
elif [[ -n $guest_args_set ]]; then
    opts+=(--kernel-args "$guest_args")
fi
if [[ -n $uboot && -z $linux && -z $guest_kernel ]]; then
    opts+=(--kernel build/cross/test_guest.elf)
    [[ -n $guest_args_set ]] || opts+=(--kernel-args "console=ttyAMA0 via-uboot")
fi
if [[ -z $linux && -z $guest_kernel && ${#extra[@]} -eq 0 ]]; then
    # Devices for the built-in test guest, so every one of its checks runs:
    # a NIC with a ROM, pci-testdev and a 64-bit prefetchable ivshmem BAR.
    extra=(-device e1000e,netdev=n0 -netdev user,id=n0,restrict=on -device pci-testdev
           -device ivshmem-plain,memdev=shm -object memory-backend-ram,id=shm,size=64M)
    [[ -n $iommu ]] && extra+=(-device edu,dma_mask=0xffffffffffffffff)
fi
mapfile -t cmd < <(./scripts/qemu-cmd.sh "$image" "${opts[@]}" -- "${extra[@]}")
if [[ -n $gdb ]]; then
    # passage is linked at 0 and relocates itself to where it was loaded:
    # 0x40200000 with QEMU -kernel, U-Boot's kernel_addr_r, or --load-addr.
    echo "QEMU is halted with a gdb stub on port $gdb. In another terminal:"
    echo "  gdb-multiarch -q -ex 'add-symbol-file build/cross/passage.elf -o $load_addr' -ex 'target remote :$gdb'"
fi
echo "+ ${cmd[*]}" >&2
exec "${cmd[@]}"
