#!/usr/bin/env bash
# Seeds for the guest_dtb fuzzer: the dtb fuzzer's trees as they are (the
# host's memory, no bootargs, no initrd), and each QEMU and guest fixture
# tree again with a tail asking for an initrd, probe-only, bootargs and two
# RAM ranges (the layout guest_dtb_fuzz.cpp describes).
#   seeds/guest_dtb.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
"$here/dtb.sh" "$out"
le64() { printf '%016x' "$1" | sed 's/../& /g' | awk '{ for (i = 8; i >= 1; --i) printf "\\x%s", $i }'; }
le16() { printf '\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8)); }
for dtb in "$out"/qemu-*.dtb "$out"/fixture-guest-*.dtb; do
    {
        cat "$dtb"
        printf '\x0f'; printf "$(le16 0)"; printf '\x02'
        printf "$(le64 0x40000000)$(le64 0x200000)$(le64 0x40600000)$(le64 0x3fa00000)"
        printf "$(le64 0x48000000)$(le64 0x48800000)"
        printf 'console=ttyAMA0 earlycon root=/dev/vda'
    } >"${dtb%.dtb}-tail.dtb"
done
