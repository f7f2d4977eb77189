#!/usr/bin/env bash
# Prints (one word a line) the QEMU command that boots a passage image.
# Shared by run.sh and the ctest boot tests so both boot the same machine.
#
#   qemu-cmd.sh IMAGE [--gic 2|3] [--cpu CPU] [--smp N] [--mem SIZE]
#               [--append ARGS] [--el1] [--gdb PORT] [-- extra qemu args]
set -euo pipefail
image=$1; shift
gic=3 cpu=max smp=2 mem=1G append= virt=on gdb=
while [[ $# -gt 0 ]]; do
    case $1 in
    --gic) gic=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --el1) virt=off; shift ;;
    --gdb) gdb=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "qemu-cmd: unknown option $1" >&2; exit 2 ;;
    esac
done
args=(qemu-system-aarch64
      -machine "virt,virtualization=$virt,gic-version=$gic"
      -cpu "$cpu" -smp "$smp" -m "$mem"
      -nographic -no-reboot -kernel "$image")
[[ -n $append ]] && args+=(-append "$append")
[[ -n $gdb ]] && args+=(-S -gdb "tcp::$gdb")
args+=("$@")
printf '%s\n' "${args[@]}"
