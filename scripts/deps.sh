#!/usr/bin/env bash
# Installs what passage needs on Debian 12, and only what is missing; asks
# for root (sudo) only when it must install. Also unpacks Debian's arm64
# libfdt (its -dev package conflicts with the host's) under build/deps, and
# QEMU 10.0 from bookworm-backports in build/deps/qemu10 (scripts/qemu10.sh).
# seabios brings the Bochs display's option ROM (vgabios-bochs-display.bin).
#
#   scripts/deps.sh            # everything for building, running and testing
#   scripts/deps.sh PKG...     # and these extra packages (gdb-multiarch)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
    cmake make g++ gcc
    g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
    qemu-system-arm ipxe-qemu seabios
    catch2 libfdt-dev device-tree-compiler libbenchmark-dev
    clang-14 libclang-rt-14-dev
    cpio xz-utils python3 gcc-arm-linux-gnueabihf
    u-boot-qemu u-boot-tools mtools fdisk
    "$@"
)

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else echo "deps: need root to run: $*" >&2; exit 1
    fi
}

updated=
apt_update() {
    [[ -n $updated ]] && return
    echo "deps: apt-get update"
    as_root apt-get update -qq
    updated=1
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "deps: installing ${missing[*]}"
    apt_update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's arm64 libfdt for the image. libfdt-dev:arm64 cannot be installed
# beside the host's libfdt-dev, so it is downloaded and unpacked instead.
fdt_dir=$root/build/deps/libfdt-arm64
if [[ ! -f $fdt_dir/usr/lib/aarch64-linux-gnu/libfdt.a ]]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "deps: dpkg --add-architecture arm64"
        as_root dpkg --add-architecture arm64
        updated=
    fi
    if ! apt-cache show libfdt-dev:arm64 >/dev/null 2>&1; then apt_update; fi
    tmp=$(mktemp -d)
    chmod 755 "$tmp"  # apt drops to _apt for downloads
    (cd "$tmp" && apt-get download -q libfdt-dev:arm64 >/dev/null)
    rm -rf "$fdt_dir"
    mkdir -p "$fdt_dir"
    dpkg-deb -x "$tmp"/libfdt-dev_*_arm64.deb "$fdt_dir"
    rm -rf "$tmp"
    echo "deps: arm64 libfdt unpacked in ${fdt_dir#"$root"/}"
fi

# QEMU 10.0 beside the system's 7.2 (the Linux layout tests run on both).
"$root/scripts/qemu10.sh" >/dev/null
