#!/usr/bin/env bash
# Installs what is missing, builds passage, and boots it under QEMU.
#
#   ./scripts/run.sh [--gic 2|3] [--cpu CPU] [--smp N] [--mem SIZE]
#                    [--passage "passage.opt=..."] [--gdb]
#                    [--kernel Image [--initrd FILE] [--append "guest cmdline"]]
#                    [-- extra QEMU args]
#
# Without --kernel, passage runs its built-in test guest. --kernel boots your
# own kernel (an arm64 Image or an ELF) as a boot module, with --initrd and
# its command line from --append. --passage sets passage's own options.
# --gdb starts QEMU halted with a gdb stub and prints the command to attach.
# Everything after -- goes to QEMU as it is, e.g. -- -device e1000e.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

opts=() gdb= extra=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --gic | --cpu | --smp | --mem | --kernel | --initrd) opts+=("$1" "$2"); shift 2 ;;
    --passage) opts+=(--append "$2"); shift 2 ;;
    --append) opts+=(--kernel-args "$2"); shift 2 ;;
    --gdb) gdb=1234; shift ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

./scripts/deps.sh ${gdb:+gdb-multiarch}
cmake --preset cross >/dev/null
cmake --build --preset cross -j"$(nproc)" >/dev/null

image=build/cross/passage.bin
[[ -n $gdb ]] && opts+=(--gdb "$gdb")
mapfile -t cmd < <(./scripts/qemu-cmd.sh "$image" "${opts[@]}" -- "${extra[@]}")
if [[ -n $gdb ]]; then
    # passage is linked at 0 and relocates itself; QEMU -kernel loads it at 0x40200000.
    echo "QEMU is halted with a gdb stub on port $gdb. In another terminal:"
    echo "  gdb-multiarch -q -ex 'add-symbol-file build/cross/passage.elf -o 0x40200000' -ex 'target remote :$gdb'"
fi
echo "+ ${cmd[*]}" >&2
exec "${cmd[@]}"
