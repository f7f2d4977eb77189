#!/usr/bin/env bash
# passage-inspect over every device tree of Debian's arm64 kernel package
# (tests/boards/fetch-dtbs.sh --all puts them in build/boards/all, as
# VENDOR/NAME.dtb), then a table by vendor: how many trees passage-inspect
# understands whole, and what a boot there would still lack.
#
#   corpus.sh PASSAGE_INSPECT DTB_DIR [--markdown FILE] [--jobs N]
#
# The bad-input check, over every tree: no crash (exit 0 or 1, never a
# signal), no hang (10 s each), and either a summary ending in its "needs:"
# or one line on stderr saying why. Any tree that breaks it fails the run.
# The table goes to stdout (and to FILE with --markdown); docs/boards.md
# holds the last one.
set -uo pipefail
inspect=${1:?usage: corpus.sh PASSAGE_INSPECT DTB_DIR [--markdown FILE] [--jobs N]}
dir=${2:?usage: corpus.sh PASSAGE_INSPECT DTB_DIR [--markdown FILE] [--jobs N]}
shift 2
markdown= jobs=2
while [[ $# -gt 0 ]]; do
    case $1 in
    --markdown) markdown=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "corpus: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -x $inspect ]] || { echo "corpus: no passage-inspect at $inspect" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One tree: a tab-separated record
#   vendor  name  verdict  console  memory  psci  gic  ecam  reason
# verdict: whole (a summary), refused (a one-line reason), broken (the
# bad-input contract is not kept: a crash, a hang, or no clear answer).
one() {
    local inspect=$1 dir=$2 file=$3 out err rc rel vendor name errfile
    rel=${file#"$dir"/}
    vendor=${rel%%/*}
    name=${rel#*/}
    name=${name%.dtb}
    errfile=$(mktemp)
    out=$(timeout 10 "$inspect" "$file" 2>"$errfile")
    rc=$?
    err=$(cat "$errfile")
    rm -f "$errfile"
    local verdict console=- memory=- psci=- gic=- ecam=- reason=-
    if [[ $rc -eq 0 ]] && grep -q '^needs:' <<<"$out"; then
        verdict=whole
        console=$(sed -n '/^needs:/,$p' <<<"$out" | awk '$1 == "console" { print ($2 == "yes:" ? $3 : "none"); exit }')
        memory=$(sed -n '/^needs:/,$p' <<<"$out" | awk '$1 == "memory" { print ($2 == "yes:" ? "tree" : "bootloader"); exit }')
        psci=$(sed -n '/^needs:/,$p' <<<"$out" | awk '$1 == "psci" { print ($2 == "yes:" ? $3 : "none"); exit }')
        gic=$(sed -n '/^needs:/,$p' <<<"$out" | awk '$1 == "gic" { print $3; exit }')
        ecam=$(sed -n '/^needs:/,$p' <<<"$out" | awk '$1 == "pci" { print $2; exit }')
        if [[ $console == none ]]; then
            reason=$(grep -m1 '^  console    none usable:' <<<"$out" | sed 's/^  console    none usable: //')
        fi
    elif [[ $rc -eq 1 && $(wc -l <<<"$err") -eq 1 && $err == "passage-inspect: $file: "* ]]; then
        verdict=refused
        reason=${err#"passage-inspect: $file: "}
    else
        verdict=broken
        reason="exit $rc$([[ $rc -eq 124 ]] && echo ' (timeout)'), stderr: $(head -c 200 <<<"$err" | tr '\n\t' '  ')"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$vendor" "$name" "$verdict" "$console" "$memory" "$psci" "$gic" \
        "$ecam" "$reason"
}
export -f one

start=$SECONDS
find "$dir" -name '*.dtb' | sort >"$tmp/files"
total=$(wc -l <"$tmp/files")
[[ $total -gt 0 ]] || { echo "corpus: no .dtb under $dir (run tests/boards/fetch-dtbs.sh --all)" >&2; exit 2; }
xargs -a "$tmp/files" -d '\n' -P "$jobs" -n 1 bash -c 'one "$0" "$1" "$2"' "$inspect" "$dir" | sort >"$tmp/records"
seconds=$((SECONDS - start))
[[ $(wc -l <"$tmp/records") -eq $total ]] || { echo "corpus: $total trees but $(wc -l <"$tmp/records") records" >&2; exit 1; }

# Console reasons grouped: the kind of UART (its compatible) or the cause.
console_cause() { sed -E 's/^console [^ ]+ \(([^)]*)\) is of a kind passage has no driver for$/\1/; s@^/chosen/stdout-path "[^"]*" names no node$@stdout-path names no node@; s@^no /chosen/stdout-path and no arm,pl011 node$@no stdout-path@'; }

{
    echo "| vendor | trees | whole | refused | console driven | memory in the tree | PSCI in the tree | GICv3 / GICv2 | ECAM host bridge |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    # One row a vendor, sorted, then the totals.
    awk -F'\t' '
        { v[$1]++; w[$1] += $3 == "whole"; r[$1] += $3 != "whole"; c[$1] += $3 == "whole" && $4 != "none"
          m[$1] += $5 == "tree"; p[$1] += $6 == "smc" || $6 == "hvc"; g3[$1] += $7 == "GICv3"; g2[$1] += $7 == "GICv2"
          e[$1] += $8 + 0 > 0 }
        END { for (k in v) printf "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", k, v[k], w[k], r[k], c[k], m[k], p[k], g3[k], g2[k], e[k] }
        ' "$tmp/records" | sort >"$tmp/rows"
    awk -F'\t' '{ printf "| %s | %d | %d | %d | %d | %d | %d | %d / %d | %d |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' "$tmp/rows"
    awk -F'\t' '{ for (i = 2; i <= 10; i++) t[i] += $i }
        END { printf "| **all** | **%d** | **%d** | **%d** | **%d** | **%d** | **%d** | **%d / %d** | **%d** |\n", t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10] }' "$tmp/rows"
    echo
    echo "Refused (passage-inspect's one-line reason, grouped):"
    echo
    awk -F'\t' '$3 == "refused" { print $9 }' "$tmp/records" | sed -E 's/0x[0-9a-f]+/ADDR/g' | sort | uniq -c | sort -rn |
        awk '{ n = $1; $1 = ""; printf "- %d: %s\n", n, substr($0, 2) }'
    awk -F'\t' '$3 == "refused" { printf "  - %s/%s\n", $1, $2 }' "$tmp/records"
    echo
    echo "Consoles passage has no driver for, by kind (the rest of those trees is understood):"
    echo
    awk -F'\t' '$3 == "whole" && $4 == "none" { print $9 }' "$tmp/records" | console_cause | sort | uniq -c | sort -rn |
        awk '{ n = $1; $1 = ""; printf "`%s` (%d)\n", substr($0, 2), n }' | paste -sd '|' | sed 's/|/, /g'
} >"$tmp/table"
cat "$tmp/table"
[[ -n $markdown ]] && cp "$tmp/table" "$markdown"

broken=$(awk -F'\t' '$3 == "broken"' "$tmp/records")
echo
echo "corpus: $total trees in ${seconds}s: $(awk -F'\t' '$3 == "whole"' "$tmp/records" | wc -l) whole," \
    "$(awk -F'\t' '$3 == "refused"' "$tmp/records" | wc -l) refused with a reason," \
    "$(awk -F'\t' '$3 == "broken"' "$tmp/records" | wc -l) broken"
if [[ -n $broken ]]; then
    echo "FAIL: the bad-input contract is broken for:"
    awk -F'\t' '$3 == "broken" { printf "  %s/%s: %s\n", $1, $2, $9 }' <<<"$broken"
    exit 1
fi
echo "PASS: every tree gave a summary or a one-line reason, no crash, no hang"
