#!/usr/bin/env bash
# Prints (one word a line) the QEMU command that boots a passage image.
# Shared by run.sh and the ctest boot tests so both boot the same machine.
#
#   qemu-cmd.sh IMAGE [--gic 2|3] [--cpu CPU] [--smp N] [--mem SIZE]
#               [--append PASSAGE_ARGS] [--el1] [--gdb PORT]
#               [--kernel FILE [--initrd FILE] [--kernel-args ARGS]]
#               [--load-addr ADDR | --uboot DIR] [--dt-edit SCRIPT] [--qemu PATH] [--iommu]
#               [-- extra qemu args]
#   qemu-cmd.sh --bare --kernel FILE [--initrd FILE] [--kernel-args ARGS]
#               [--gic 2|3] [--cpu CPU] [--smp N] [--mem SIZE] [--el1] [--gdb PORT]
#               [--qemu PATH] [-- extra qemu args]
#
# --iommu adds QEMU's SMMUv3 (-machine ...,iommu=smmuv3) in front of the PCIe
# host bridge; passage then confines every device's DMA with its stage 2.
# QEMU 7.2's SMMU has stage 1 only: use QEMU 10 (scripts/qemu10.sh).
#
# --qemu PATH (or the environment's QEMU=PATH; the option wins) is the QEMU
# binary, default qemu-system-aarch64 from PATH; scripts/qemu10.sh prints
# the path of QEMU 10.0's.
#
# --kernel gives passage a guest as boot modules, described in /chosen the
# way Xen on Arm does (module@ADDR, "multiboot,kernel" / "multiboot,ramdisk"):
# QEMU's own device tree is dumped for the same machine, the module nodes are
# added with fdtput, and QEMU gets it with -dtb and the files with -device
# loader, kept clear of where QEMU puts the DTB (RAM + 128 MiB). That DTB is
# kept in the build tree, beside IMAGE (qemu-dtb/, or $PASSAGE_DTB_DIR), not
# in /tmp: QEMU reads it only when the printed command runs, so this script
# cannot delete it. Its name is a hash of everything that goes into it (the
# machine, the extra QEMU arguments, the modules' sizes, the command line), so
# a rerun overwrites its own file and runs of different machines at the same
# time (ctest -j) never share one; it is written under a temporary name and
# renamed into place, so two runs of the same machine each read a whole file.
# Files not rewritten for a day are removed.
#
# --load-addr places IMAGE at ADDR (2 MiB aligned) with -device loader and
# boots the boot stub next to it (boot_stub.elf, tests/qemu/stub), which jumps
# there with x0 = QEMU's device tree, as board firmware would; without it QEMU
# -kernel loads IMAGE at 0x40200000.
#
# --uboot DIR boots Debian's U-Boot (u-boot-qemu) as -bios instead: IMAGE,
# the --kernel/--initrd modules and a boot.scr go on a FAT disk built in DIR
# (tests/uboot/make-disk.sh) on virtio-mmio; U-Boot's distro boot runs the
# script, which loads them, writes the /chosen module nodes with `fdt` and
# `booti`s passage. --append becomes U-Boot's bootargs (passage's options).
#
# --dt-edit SCRIPT (not with --kernel) dumps QEMU's device tree for the
# machine as --kernel does, runs SCRIPT with its path (fdtput edits: a
# board's quirks QEMU cannot make) and gives it to QEMU with -dtb.
#
# --bare boots the kernel without passage, as QEMU's own -kernel/-initrd/
# -append (no IMAGE): the baseline of the Linux guest test. With --el1 the
# kernel starts at EL1, as it does under passage; without, at EL2.
set -euo pipefail
image= bare=
if [[ ${1:-} == --bare ]]; then bare=1; shift
else image=$1; shift
fi
gic=3 cpu=max smp=2 mem=1G append= virt=on gdb= kernel= initrd= kargs= kargs_set= load_addr= uboot= dt_edit= iommu=
qemu=${QEMU:-qemu-system-aarch64}
while [[ $# -gt 0 ]]; do
    case $1 in
    --gic) gic=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --el1) virt=off; shift ;;
    --gdb) gdb=$2; shift 2 ;;
    --kernel) kernel=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --kernel-args) kargs=$2; kargs_set=1; shift 2 ;;
    --load-addr) load_addr=$2; shift 2 ;;
    --uboot) uboot=$2; shift 2 ;;
    --dt-edit) dt_edit=$2; shift 2 ;;
    --bare) bare=1; shift ;;
    --qemu) qemu=$2; shift 2 ;;
    --iommu) iommu=1; shift ;;
    --) shift; break ;;
    *) echo "qemu-cmd: unknown option $1" >&2; exit 2 ;;
    esac
done
machine="virt,virtualization=$virt,gic-version=$gic"
[[ -n $iommu ]] && machine+=",iommu=smmuv3"
command -v "$qemu" >/dev/null || { echo "qemu-cmd: no QEMU at $qemu" >&2; exit 1; }
args=("$qemu" -machine "$machine" -cpu "$cpu" -smp "$smp" -m "$mem" -nographic -no-reboot)

if [[ -n $bare ]]; then
    [[ -n $kernel ]] || { echo "qemu-cmd: --bare needs --kernel" >&2; exit 2; }
    [[ -z $image ]] || { echo "qemu-cmd: --bare boots --kernel without an image; drop $image" >&2; exit 2; }
    [[ -f $kernel ]] || { echo "qemu-cmd: no such kernel: $kernel" >&2; exit 1; }
    [[ -z $initrd || -f $initrd ]] || { echo "qemu-cmd: no such initrd: $initrd" >&2; exit 1; }
    [[ -n $append ]] && { echo "qemu-cmd: --append is passage's; with --bare use --kernel-args" >&2; exit 2; }
    args+=(-kernel "$kernel")
    [[ -n $initrd ]] && args+=(-initrd "$initrd")
    [[ -n $kargs_set ]] && args+=(-append "$kargs")
    [[ -n $gdb ]] && args+=(-S -gdb "tcp::$gdb")
    args+=("$@")
    printf '%s\n' "${args[@]}"
    exit 0
fi

if [[ -n $uboot ]]; then
    [[ -z $load_addr ]] || { echo "qemu-cmd: --uboot and --load-addr exclude each other (U-Boot chooses)" >&2; exit 2; }
    bios=${UBOOT_BIOS:-/usr/lib/u-boot/qemu_arm64/u-boot.bin}
    [[ -f $bios ]] || { echo "qemu-cmd: no U-Boot at $bios (scripts/deps.sh installs u-boot-qemu)" >&2; exit 1; }
    disk_args=(--out "$uboot" --image "$image" --passage "$append")
    [[ -n $kernel ]] && disk_args+=(--kernel "$kernel")
    [[ -n $initrd ]] && disk_args+=(--initrd "$initrd")
    [[ -n $kargs_set ]] && disk_args+=(--kernel-args "$kargs")
    disk=$("$(dirname "$0")/../tests/uboot/make-disk.sh" "${disk_args[@]}")
    args+=(-bios "$bios" -drive "if=none,id=ubootdisk,file=$disk,format=raw,readonly=on"
           -device virtio-blk-device,drive=ubootdisk)
    [[ -n $gdb ]] && args+=(-S -gdb "tcp::$gdb")
    args+=("$@")
    printf '%s\n' "${args[@]}"
    exit 0
fi

if [[ -n $kernel ]]; then
    [[ -f $kernel ]] || { echo "qemu-cmd: no such kernel: $kernel" >&2; exit 1; }
    [[ -z $initrd || -f $initrd ]] || { echo "qemu-cmd: no such initrd: $initrd" >&2; exit 1; }
    kernel_addr=$(( 0x50000000 ))
    kernel_size=$(stat -L -c %s "$kernel")
    # The initrd goes at the next 2 MiB boundary past the kernel: past an
    # Image's image_size (BSS included) when that is more than the file, so
    # a kernel that may run anywhere (flags bit 3) can stay where it is.
    # An Image has the magic 0x644d5241 at offset 56, image_size at 16.
    kernel_span=$kernel_size
    magic=$(od -An -t x4 --endian=little -j 56 -N 4 "$kernel" 2>/dev/null | tr -d ' ') || true
    if [[ $magic == 644d5241 ]]; then
        image_size=$(od -An -t u8 --endian=little -j 16 -N 8 "$kernel" | tr -d ' ')
        (( image_size > kernel_span )) && kernel_span=$image_size
    fi
    initrd_addr= initrd_size=
    if [[ -n $initrd ]]; then
        initrd_addr=$(( (kernel_addr + kernel_span + 0x1fffff) / 0x200000 * 0x200000 ))
        initrd_size=$(stat -L -c %s "$initrd")
    fi
    dtb_dir=${PASSAGE_DTB_DIR:-$(cd "$(dirname "$image")" && pwd)/qemu-dtb}
    mkdir -p "$dtb_dir"
    find "$dtb_dir" -maxdepth 1 -name '*modules-*' -mmin +1440 -delete 2>/dev/null || true
    key=$(printf '%s\n' "${args[@]}" -- "$@" -- "$kernel_size" "$initrd_addr" "$initrd_size" "$kargs_set" "$kargs" |
          sha256sum | cut -c1-16)
    dtb=$dtb_dir/modules-$key.dtb
    tmp=$(mktemp "$dtb_dir/.modules-$key-XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    "${args[@]}" -machine "dumpdtb=$tmp" "$@" >/dev/null 2>&1 ||
        { "${args[@]}" -machine "dumpdtb=$tmp" "$@"; exit 1; }
    node=/chosen/module@$(printf %x $kernel_addr)
    fdtput -t x "$tmp" /chosen '#address-cells' 2
    fdtput -t x "$tmp" /chosen '#size-cells' 2
    fdtput -c "$tmp" "$node"
    fdtput -t s "$tmp" "$node" compatible multiboot,kernel multiboot,module
    fdtput -t x "$tmp" "$node" reg 0 "$(printf 0x%x $kernel_addr)" 0 "$(printf 0x%x "$kernel_size")"
    [[ -n $kargs_set ]] && fdtput -t s "$tmp" "$node" bootargs "$kargs"
    args+=(-dtb "$dtb" -device "loader,file=$kernel,addr=$(printf 0x%x $kernel_addr),force-raw=on")
    if [[ -n $initrd ]]; then
        inode=/chosen/module@$(printf %x $initrd_addr)
        fdtput -c "$tmp" "$inode"
        fdtput -t s "$tmp" "$inode" compatible multiboot,ramdisk multiboot,module
        fdtput -t x "$tmp" "$inode" reg 0 "$(printf 0x%x $initrd_addr)" 0 "$(printf 0x%x "$initrd_size")"
        args+=(-device "loader,file=$initrd,addr=$(printf 0x%x $initrd_addr),force-raw=on")
    fi
    mv -f "$tmp" "$dtb"
fi

if [[ -n $dt_edit ]]; then
    [[ -z $kernel && -z $uboot && -z $bare ]] || { echo "qemu-cmd: --dt-edit goes without --kernel, --uboot and --bare" >&2; exit 2; }
    [[ -x $dt_edit ]] || { echo "qemu-cmd: --dt-edit $dt_edit is not an executable script" >&2; exit 1; }
    dtb_dir=${PASSAGE_DTB_DIR:-$(cd "$(dirname "$image")" && pwd)/qemu-dtb}
    mkdir -p "$dtb_dir"
    find "$dtb_dir" -maxdepth 1 -name '*edited-*' -mmin +1440 -delete 2>/dev/null || true
    key=$(printf '%s\n' "${args[@]}" -- "$@" -- "$dt_edit" | cat - "$dt_edit" | sha256sum | cut -c1-16)
    dtb=$dtb_dir/edited-$key.dtb
    tmp=$(mktemp "$dtb_dir/.edited-$key-XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    "${args[@]}" -machine "dumpdtb=$tmp" "$@" >/dev/null 2>&1 ||
        { "${args[@]}" -machine "dumpdtb=$tmp" "$@"; exit 1; }
    "$dt_edit" "$tmp" >&2 || { echo "qemu-cmd: $dt_edit failed on $tmp" >&2; exit 1; }
    mv -f "$tmp" "$dtb"
    args+=(-dtb "$dtb")
fi

if [[ -n $load_addr ]]; then
    (( load_addr % 0x200000 == 0 )) || { echo "qemu-cmd: --load-addr $load_addr is not 2 MiB aligned" >&2; exit 2; }
    stub=$(dirname "$image")/boot_stub.elf
    [[ -f $stub ]] || { echo "qemu-cmd: no boot stub at $stub (build the cross tree)" >&2; exit 1; }
    nm=${NM:-aarch64-linux-gnu-nm}
    command -v "$nm" >/dev/null || nm=nm
    slot=$("$nm" "$stub" | awk '$3 == "boot_stub_slot" { print "0x" $1 }')
    [[ -n $slot ]] || { echo "qemu-cmd: $stub has no boot_stub_slot symbol" >&2; exit 1; }
    args+=(-kernel "$stub" -device "loader,file=$image,addr=$(printf 0x%x "$load_addr"),force-raw=on"
           -device "loader,addr=$slot,data=$(printf 0x%x "$load_addr"),data-len=8")
else
    args+=(-kernel "$image")
fi
[[ -n $append ]] && args+=(-append "$append")
[[ -n $gdb ]] && args+=(-S -gdb "tcp::$gdb")
args+=("$@")
printf '%s\n' "${args[@]}"
