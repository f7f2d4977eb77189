#!/usr/bin/env bash
# Fetches the device trees of the boards docs/boards.md describes from
# Debian's arm64 kernel package (nothing is committed): Arm Juno r1 and r2,
# NXP LS1028A RDB and QDS. They land in build/boards/dtbs (or --out DIR),
# downloaded once; a stamp records the package and version. With --all,
# every tree of the package (about 1,023, as VENDOR/NAME.dtb) lands in
# build/boards/all instead, for tests/boards/corpus.sh.
#
#   tests/boards/fetch-dtbs.sh [--all] [--out DIR]
#
# Which package: the kernel tests/linux/fetch.sh already chose (its stamp in
# build/linux/kernel; its downloaded .deb in build/linux/deb is reused),
# else the one linux-image-arm64:arm64 depends on.
# Prints the directory as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out= all=
while [[ $# -gt 0 ]]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --all) all=1; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch-dtbs: unknown option $1" >&2; exit 2 ;;
    esac
done
log() { echo "fetch-dtbs: $*" >&2; }
die() { echo "fetch-dtbs: $*" >&2; exit 1; }

# Path inside the package's dtbs directory -> name here.
dtbs=(arm/juno-r1.dtb arm/juno-r2.dtb freescale/fsl-ls1028a-rdb.dtb freescale/fsl-ls1028a-qds.dtb)

if [[ -z $out ]]; then
    if [[ -n $all ]]; then out=$root/build/boards/all; else out=$root/build/boards/dtbs; fi
fi

have_all() {
    local d
    [[ -f $out/stamp ]] || return 1
    if [[ -n $all ]]; then
        [[ -n $(find "$out" -name '*.dtb' -print -quit) ]]
        return
    fi
    for d in "${dtbs[@]}"; do [[ -f $out/${d##*/} ]] || return 1; done
}
if have_all; then
    log "$(cat "$out/stamp") (cached)"
    echo "$out"
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb tar; do
    command -v $tool >/dev/null || die "needs $tool"
done
dpkg --print-foreign-architectures | grep -qx arm64 ||
    die "the arm64 architecture is not added: run scripts/deps.sh (it adds it) or dpkg --add-architecture arm64"

pkg= ver=
if [[ -f $root/build/linux/kernel/stamp ]]; then
    read -r _ pkg ver < <(grep '^kernel ' "$root/build/linux/kernel/stamp")
fi
if [[ -z $pkg ]]; then
    pkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { sub(/:arm64$/, "", $2); print $2; exit }')
    [[ -n $pkg ]] || die "apt knows no linux-image-arm64:arm64 (apt-get update?)"
fi
spec=$pkg:arm64${ver:+=$ver}
mkdir -p "$out"
tmp=$(mktemp -d "$out/download.XXXXXX")
chmod 755 "$tmp"  # apt drops to _apt for downloads
trap 'rm -rf "$tmp"' EXIT
deb=
for cached in "$root"/build/linux/deb/"${pkg}"_*_arm64.deb; do
    [[ -f $cached ]] && deb=$cached
done
if [[ -n $deb ]]; then
    log "using $deb"
else
    log "downloading $spec"
    (cd "$tmp" && apt-get download -q "$spec" >/dev/null 2>"$tmp/apt.err") ||
        { cat "$tmp/apt.err" >&2; die "apt-get download $spec failed"; }
    deb=$(echo "$tmp"/linux-image-*_arm64.deb)
    [[ -f $deb ]] || die "no .deb after apt-get download $spec"
fi
ver=$(dpkg-deb -f "$deb" Version)
if [[ -n $all ]]; then
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards '*.dtb' || die "$spec: cannot unpack its trees"
    base=$(find "$tmp" -path '*/linux-image-*/*' -name '*.dtb' -printf '%h\n' | sed 's@/[^/]*$@@' | sort -u | head -1)
    [[ -n $base ]] || die "$spec has no device trees"
    (cd "$base" && find . -name '*.dtb' -print0 | cpio -0 -pdm --quiet "$out") || die "cannot copy the trees"
    echo "$pkg $ver" >"$out/stamp"
    log "$(cat "$out/stamp"): $(find "$out" -path "$tmp" -prune -o -name '*.dtb' -print | wc -l) device trees"
    echo "$out"
    exit 0
fi
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards \
    $(printf '*/%s ' "${dtbs[@]}") ||
    die "$spec has not all of: ${dtbs[*]}"
for d in "${dtbs[@]}"; do
    f=$(find "$tmp" -path "*/dtbs/*/$d" -o -path "*/linux-image-*/$d" | head -1)
    [[ -n $f ]] || die "$spec has no $d"
    cp "$f" "$out/${d##*/}"
done
echo "$pkg $ver" >"$out/stamp"
log "$(cat "$out/stamp"): ${dtbs[*]##*/}"
echo "$out"
