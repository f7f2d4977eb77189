#!/usr/bin/env bash
# Linux under passage must see the PCI functions bare Linux sees on the same
# QEMU machine (same kernel, CPU, CPUs, GIC and devices): compares the
# guest's view that init.sh prints in two console logs,
#   linux-guest: pci BDF VENDOR:DEVICE class CLASS driver ...
#   linux-guest: pci BDF BARn|ROM KIND 0xSTART-0xEND
# by BDF, vendor:device, class and each BAR's kind and size. Addresses may
# differ: without linux,pci-probe-only Linux assigns the BARs itself, and
# under passage it may place them elsewhere. Bridge windows (WINn) are
# printed for information only: their sizes follow from the BARs.
#
#   compare-view.sh BARE_LOG PASSAGE_LOG [--view-out DIR]
#
# --view-out DIR writes each log's normalised view (bare.view,
# passage.view) there. Exits 0 when the views are the same, 1 otherwise.
set -euo pipefail
bare=${1:?usage: compare-view.sh BARE_LOG PASSAGE_LOG}
passage=${2:?usage: compare-view.sh BARE_LOG PASSAGE_LOG}
out=
[[ ${3:-} == --view-out ]] && out=${4:?--view-out needs a directory}
for f in "$bare" "$passage"; do
    [[ -s $f ]] || { echo "compare-view: FAIL: no log $f"; exit 1; }
done

# One line per function ("BDF id VENDOR:DEVICE class CLASS") and per BAR
# ("BDF BARn KIND size 0xSIZE"), sorted. With "all", the windows too.
view() {
    awk -v all="${2:-}" '
        function hex(s,    v, i) {  # mawk has no strtonum; exact below 2^53
            v = 0; s = tolower(s); sub(/^0x/, "", s)
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v
        }
        $1 != "linux-guest:" || $2 != "pci" { next }
        $5 == "class" { print $3, "id", $4, "class", $6; next }
        $4 ~ /^(BAR[0-5]|ROM)$/ || (all != "" && $4 ~ /^WIN/) {
            kind = $5; range = $6
            if ($6 == "pref") { kind = kind " pref"; range = $7 }
            split(range, r, "-")
            printf "%s %s %s size 0x%x\n", $3, $4, kind, hex(r[2]) - hex(r[1]) + 1
        }' "$1" | LC_ALL=C sort
}
bv=$(view "$bare") pv=$(view "$passage")
if [[ -n $out ]]; then
    mkdir -p "$out"
    echo "$bv" >"$out/bare.view"
    echo "$pv" >"$out/passage.view"
fi
nf() { grep -c ' id ' <<<"$1" || true; }
nb() { grep -cE ' (BAR[0-5]|ROM) ' <<<"$1" || true; }
echo "compare-view: bare: $(nf "$bv") functions, $(nb "$bv") BARs; under passage: $(nf "$pv") functions, $(nb "$pv") BARs"
[[ $(nf "$bv") -gt 0 ]] || { echo "compare-view: FAIL: the bare log has no 'linux-guest: pci' lines"; exit 1; }

failed=0
only_bare=$(LC_ALL=C comm -23 <(echo "$bv") <(echo "$pv"))
only_passage=$(LC_ALL=C comm -13 <(echo "$bv") <(echo "$pv"))
if [[ -n $only_bare ]]; then
    echo "compare-view: FAIL: bare Linux has, Linux under passage has not:"
    sed 's/^/    /' <<<"$only_bare"
    failed=1
fi
if [[ -n $only_passage ]]; then
    echo "compare-view: FAIL: Linux under passage has, bare Linux has not:"
    sed 's/^/    /' <<<"$only_passage"
    failed=1
fi
# Windows: reported, not judged.
wdiff=$(LC_ALL=C comm -3 <(view "$bare" all | grep ' WIN' || true) <(view "$passage" all | grep ' WIN' || true))
[[ -z $wdiff ]] || { echo "compare-view: note: bridge windows differ (bare left, passage right):"; sed 's/^/    /' <<<"$wdiff"; }

if [[ $failed -eq 0 ]]; then
    echo "compare-view: PASS: the same $(nf "$bv") functions (BDF, vendor:device, class) and $(nb "$bv") BAR sizes"
    exit 0
fi
exit 1
