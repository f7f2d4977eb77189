#!/usr/bin/env bash
# Fetches the device trees of the boards docs/boards.md describes from
# Debian's arm64 kernel package (nothing is committed): Arm Juno r1 and r2,
# NXP LS1028A RDB and QDS. They land in build/boards/dtbs (or --out DIR),
# downloaded once; a stamp records the package and version.
#
#   tests/boards/fetch-dtbs.sh [--out DIR]
#
# Which package: the kernel tests/linux/fetch.sh already chose (its stamp in
# build/linux/kernel), else the one linux-image-arm64:arm64 depends on.
# Prints the directory as its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/boards/dtbs
while [[ $# -gt 0 ]]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch-dtbs: unknown option $1" >&2; exit 2 ;;
    esac
done
log() { echo "fetch-dtbs: $*" >&2; }
die() { echo "fetch-dtbs: $*" >&2; exit 1; }

# Path inside the package's dtbs directory -> name here.
dtbs=(arm/juno-r1.dtb arm/juno-r2.dtb freescale/fsl-ls1028a-rdb.dtb freescale/fsl-ls1028a-qds.dtb)

have_all() {
    local d
    [[ -f $out/stamp ]] || return 1
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
log "downloading $spec"
mkdir -p "$out"
tmp=$(mktemp -d "$out/download.XXXXXX")
chmod 755 "$tmp"  # apt drops to _apt for downloads
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "$spec" >/dev/null 2>"$tmp/apt.err") ||
    { cat "$tmp/apt.err" >&2; die "apt-get download $spec failed"; }
deb=$(echo "$tmp"/linux-image-*_arm64.deb)
[[ -f $deb ]] || die "no .deb after apt-get download $spec"
ver=$(dpkg-deb -f "$deb" Version)
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
