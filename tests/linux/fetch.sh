#!/usr/bin/env bash
# Fetches Debian's arm64 Linux kernel and busybox-static from the configured
# apt sources and builds the Linux guest's initramfs. Nothing here is
# committed: everything lands under build/linux (or --out DIR).
#
#   tests/linux/fetch.sh [--out DIR] [--refresh] [--package NAME | --debian12]
#
# Prints, as its last two lines:
#   Image: <path>
#   initramfs: <path>
#
# The initramfs also holds /bin/a32-access, a 32-bit (armhf) program
# built here from a32-access.c with Debian's arm-linux-gnueabihf-gcc
# (scripts/deps.sh installs gcc-arm-linux-gnueabihf); no binary is committed.
#
# Idempotent: the kernel and busybox are downloaded once (a stamp records the
# package and version); the initramfs is rebuilt only when it is missing or
# older than init.sh, a32-access.c or this script. --refresh asks apt again for the newest
# kernel and downloads it if it changed. --package NAME takes that kernel
# package (e.g. linux-image-6.1.0-57-arm64) instead of the one chosen below;
# --debian12 takes Debian 12's own 6.1 (the Depends of linux-image-arm64),
# a kernel that renumbers PCI buses itself, into build/linux-6.1 unless
# --out says otherwise.
#
# Which kernel: the Depends of the meta-package linux-image-6.12-arm64:arm64
# (6.12, from bookworm-security on Debian 12); where the sources have no 6.12,
# the Depends of linux-image-arm64:arm64 (Debian 12's own 6.1). `apt-get
# download` takes no globs, hence the look-up through the meta-package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out= refresh= package= debian12=
while [[ $# -gt 0 ]]; do
    case $1 in
    --out) out=$2; shift 2 ;;
    --refresh) refresh=1; shift ;;
    --package) package=${2%:arm64}; shift 2 ;;
    --debian12) debian12=1; shift ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -z $out ]] && out=$root/build/linux${debian12:+-6.1}
[[ $out == /* ]] || out=$PWD/$out  # the downloads run in a temporary directory
log() { echo "fetch: $*" >&2; }
die() { echo "fetch: $*" >&2; exit 1; }

# The guest's modules, by name. Their dependencies are added from each
# module's own .modinfo (what `modinfo -F depends` prints); those the kernel
# has built in (modules.builtin) are left out.
# The layouts' devices (linux-test.sh --layout): NVMe, xHCI, the Bochs
# display and the conventional e1000 besides the virtio and e1000e drivers.
# In Debian's 6.12 all of these are modules (none in modules.builtin).
wanted_modules=(virtio_pci virtio_blk virtio_net e1000e e1000 nvme xhci_pci bochs)  # virtio_pci: built into 6.12, not 6.1

kdir=$out/kernel          # Image, config, version, needed modules (decompressed)
stamp=$kdir/stamp
image=$out/Image
initramfs=$out/initramfs.cpio.gz
mkdir -p "$out"

for tool in apt-get apt-cache dpkg-deb xz cpio gzip arm-linux-gnueabihf-gcc; do
    command -v $tool >/dev/null || die "needs $tool (scripts/deps.sh installs it)"
done

updated=
apt_update() {
    [[ -n $updated ]] && return 0
    log "apt-get update"
    if [[ $(id -u) -eq 0 ]]; then apt-get update -qq; else sudo apt-get update -qq; fi
    updated=1
}
# The first "Depends: linux-image-..." of a meta-package, without :arm64.
meta_depends() {
    apt-cache depends "$1:arm64" 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { sub(/:arm64$/, "", $2); print $2; exit }'
}
choose_kernel() {
    local p
    if [[ -n $package ]]; then echo "$package"; return; fi
    for attempt in 1 2; do
        p=
        [[ -z $debian12 ]] && p=$(meta_depends linux-image-6.12-arm64)
        [[ -z $p ]] && p=$(meta_depends linux-image-arm64)
        if [[ -n $p ]]; then echo "$p"; return; fi
        [[ $attempt -eq 1 ]] && apt_update >&2
    done
    die "no arm64 kernel in the apt sources (is the arm64 architecture added? dpkg --add-architecture arm64)"
}
candidate() { apt-cache policy "$1:arm64" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }'; }

have_kernel() { [[ -f $stamp && -f $kdir/Image && -f $kdir/busybox ]]; }
# The package's .deb is kept (deb/) so a changed module list needs no download.
modules_line() { echo "modules ${wanted_modules[*]}"; }
have_modules() { grep -qxF "$(modules_line)" "$stamp"; }

fetch_kernel() {
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        die "the arm64 architecture is not added: run scripts/deps.sh (it adds it) or dpkg --add-architecture arm64"
    fi
    local pkg ver bbver
    pkg=$(choose_kernel)
    ver=$(candidate "$pkg")
    [[ -n $ver && $ver != "(none)" ]] || { apt_update; ver=$(candidate "$pkg"); }
    [[ -n $ver && $ver != "(none)" ]] || die "$pkg:arm64 has no candidate version"
    if have_kernel && grep -qx "kernel $pkg $ver" "$stamp"; then
        log "$pkg $ver already here"
        return
    fi
    bbver=$(candidate busybox-static)
    log "downloading $pkg:arm64 $ver and busybox-static:arm64 $bbver"
    local tmp
    tmp=$(mktemp -d "$out/download.XXXXXX")
    chmod 755 "$tmp"  # apt drops to _apt for downloads
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download -q "$pkg:arm64=$ver" busybox-static:arm64 >/dev/null 2>"$tmp/apt.err") ||
        { cat "$tmp/apt.err" >&2; die "apt-get download failed"; }
    mkdir -p "$tmp/k" "$tmp/b"
    dpkg-deb -x "$tmp"/linux-image-*_arm64.deb "$tmp/k"
    dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$tmp/b"

    local vmlinuz config moddir kver
    vmlinuz=$(find "$tmp/k/boot" -name 'vmlinuz-*' | head -1)
    config=$(find "$tmp/k/boot" -name 'config-*' | head -1)
    [[ -n $vmlinuz && -n $config ]] || die "$pkg has no /boot/vmlinuz-* or config-*"
    kver=${vmlinuz##*/vmlinuz-}
    moddir=$tmp/k/lib/modules/$kver
    [[ -d $moddir ]] || die "$pkg has no /lib/modules/$kver"
    # Debian's arm64 vmlinuz is a plain Image: "ARMd" at offset 56.
    [[ $(dd if="$vmlinuz" bs=1 skip=56 count=4 2>/dev/null) == ARMd ]] ||
        die "$vmlinuz is not a plain arm64 Image (no ARMd magic at offset 56)"

    rm -rf "$kdir.new"
    mkdir -p "$kdir.new/modules"
    cp "$vmlinuz" "$kdir.new/Image"
    cp "$config" "$kdir.new/config"
    cp "$moddir/modules.builtin" "$kdir.new/modules.builtin"
    cp "$tmp/b/bin/busybox" "$kdir.new/busybox"
    echo "$kver" >"$kdir.new/release"
    resolve_modules "$moddir" "$kdir.new"

    printf 'kernel %s %s\nbusybox %s\nrelease %s\n%s\n' "$pkg" "$ver" "$bbver" "$kver" "$(modules_line)" \
        >"$kdir.new/stamp"
    rm -rf "$kdir"
    mv "$kdir.new" "$kdir"
    ln -f "$kdir/Image" "$image"
    rm -rf "$out/deb"
    mkdir -p "$out/deb"
    mv "$tmp"/linux-image-*_arm64.deb "$out/deb/"
    rm -rf "$tmp"
    trap - EXIT
    rm -f "$initramfs"  # a new kernel needs its own modules in the initramfs
}

# The module list changed since the kernel was fetched: the modules again,
# from the kept .deb (downloaded again when it is gone).
refetch_modules() {
    local deb tmp kver
    deb=$(find "$out/deb" -name 'linux-image-*_arm64.deb' 2>/dev/null | head -1 || true)
    if [[ -z $deb ]]; then
        log "module list changed and no kept .deb: downloading the kernel again"
        rm -f "$stamp"
        fetch_kernel
        return
    fi
    log "module list changed: taking the modules from ${deb#"$root"/}"
    kver=$(cat "$kdir/release")
    tmp=$(mktemp -d "$out/modules.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards "./lib/modules/$kver/*" "./usr/lib/modules/$kver/*" 2>/dev/null || true
    local moddir=$tmp/lib/modules/$kver
    [[ -d $moddir ]] || moddir=$tmp/usr/lib/modules/$kver
    [[ -d $moddir ]] || die "${deb##*/} has no lib/modules/$kver"
    rm -rf "$kdir/modules"
    mkdir -p "$kdir/modules"
    resolve_modules "$moddir" "$kdir"
    sed -i '/^modules /d' "$stamp"
    modules_line >>"$stamp"
    rm -rf "$tmp"
    trap - EXIT
    rm -f "$initramfs"
}

# Copies the wanted modules and their dependencies, decompressed, into
# DEST/modules and writes DEST/modules/load-order (dependencies first).
resolve_modules() {
    local moddir=$1 dest=$2
    declare -A path=() state=()
    local f n
    while IFS= read -r f; do
        n=${f##*/}; n=${n%%.ko*}; n=${n//-/_}
        path[$n]=$f
    done < <(find "$moddir/kernel" -name '*.ko*')
    declare -A builtin=()
    while IFS= read -r f; do
        n=${f##*/}; n=${n%.ko}; builtin[${n//-/_}]=1
    done <"$moddir/modules.builtin"
    order=()
    visit() {
        local m=${1//-/_} deps d
        [[ ${state[$m]:-} == 'done' ]] && return
        [[ ${state[$m]:-} == visiting ]] && die "module dependency cycle at $m"
        if [[ -n ${builtin[$m]:-} ]]; then
            log "module $m: built in"
            state[$m]='done'
            return
        fi
        [[ -n ${path[$m]:-} ]] || die "module $m: neither built in nor in the package"
        state[$m]=visiting
        case ${path[$m]} in
        *.ko.xz) xz -dc "${path[$m]}" >"$dest/modules/$m.ko" ;;
        *.ko.zst) zstd -qdc "${path[$m]}" >"$dest/modules/$m.ko" ;;
        *.ko.gz) gzip -dc "${path[$m]}" >"$dest/modules/$m.ko" ;;
        *) cp "${path[$m]}" "$dest/modules/$m.ko" ;;
        esac
        # The .modinfo section holds NUL-separated key=value strings.
        deps=$(tr '\0' '\n' <"$dest/modules/$m.ko" | sed -n 's/^depends=//p' | head -1)
        log "module $m: ${path[$m]#"$moddir"/}, depends: ${deps:-nothing}"
        for d in ${deps//,/ }; do visit "$d"; done
        state[$m]='done'
        order+=("$m")
    }
    for n in "${wanted_modules[@]}"; do visit "$n"; done
    printf '%s\n' "${order[@]}" >"$dest/modules/load-order"
}

build_initramfs() {
    log "building ${initramfs#"$root"/}"
    stage=$(mktemp -d "$out/initramfs.XXXXXX")
    trap 'rm -rf "$stage" "$stage.cpio.gz"' EXIT
    mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,lib/modules}
    cp "$kdir/busybox" "$stage/bin/busybox"
    chmod 755 "$stage/bin/busybox"
    ln -s busybox "$stage/bin/sh"
    cp "$here/init.sh" "$stage/init"
    chmod 755 "$stage/init"
    # Thumb, so the bad access is a T32 instruction; static and freestanding.
    arm-linux-gnueabihf-gcc -std=gnu2x -Os -mthumb -Wall -Wextra -Werror -static -nostdlib -ffreestanding \
        -fno-stack-protector -fno-pie -no-pie -Wl,--build-id=none \
        -o "$stage/bin/a32-access" "$here/a32-access.c" || die "building a32-access failed"
    cp "$kdir"/modules/*.ko "$kdir/modules/load-order" "$stage/lib/modules/"
    cp "$kdir/release" "$stage/lib/modules/release"
    # No /dev/console node (that needs root): init mounts devtmpfs first and
    # then opens the console itself.
    (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 | gzip -9n) >"$stage.cpio.gz"
    mv "$stage.cpio.gz" "$initramfs"  # whole, even when two runs build it at once
    rm -rf "$stage"
    trap - EXIT
}

if [[ -n $refresh || -n $package ]] || ! have_kernel; then
    fetch_kernel
else
    log "$(sed -n 's/^kernel //p' "$stamp") (cached; --refresh to look for a newer one)"
    have_modules || refetch_modules
fi
[[ $image -ef $kdir/Image ]] || ln -f "$kdir/Image" "$image"
if [[ ! -f $initramfs || $here/init.sh -nt $initramfs || $here/a32-access.c -nt $initramfs || $0 -nt $initramfs ||
      $stamp -nt $initramfs ]]; then
    build_initramfs
fi
echo "Image: $image"
echo "initramfs: $initramfs"
