#!/usr/bin/env bash
# Linux must not complain about the platform under passage more than it does
# bare on the same QEMU machine: compares the kernel's warning-like lines of
# two console logs (timestamps, addresses and numbers normalised away).
#   compare-warnings.sh BARE_LOG PASSAGE_LOG
set -euo pipefail
bare=$1 passage=$2
[[ -s $bare && -s $passage ]] || { echo "compare-warnings: missing log ($bare, $passage)" >&2; exit 1; }

warnings() {
    grep -aE '^\[ *[0-9]+\.[0-9]+\]' "$1" |
        sed -E 's/^\[ *[0-9]+\.[0-9]+\] //; s/0x[0-9a-f]+/X/g; s/[0-9]+/N/g' |
        grep -aiE 'warn|error|fail|fw_bug|firmware|unable|unsupported|not supported|invalid|can.t|cannot|bug|taint' |
        sort -u
}

only_passage=$(comm -13 <(warnings "$bare") <(warnings "$passage"))
echo "kernel warning-like lines: $(warnings "$bare" | wc -l) bare, $(warnings "$passage" | wc -l) under passage"
if [[ -n $only_passage ]]; then
    echo "FAIL: under passage only:"
    echo "$only_passage" | sed 's/^/  /'
    exit 1
fi
echo "PASS: no platform warning under passage that bare Linux does not print"
