#!/usr/bin/env bash
# Unpacks QEMU 10.0 (qemu-system-arm from bookworm-backports) into
# build/deps/qemu10 beside the system's QEMU 7.2, which stays as it is, and
# prints the path of its wrapper, build/deps/qemu10/qemu-system-aarch64.
#
#   scripts/qemu10.sh [--refresh]
#
# bookworm-backports is not in the machine's apt sources and is not added
# there: a private apt configuration under build/deps/apt (its own sources
# file, lists and cache) downloads the packages, and dpkg-deb -x unpacks
# them; nothing is installed. The Depends of qemu-system-arm that the
# machine lacks are unpacked beside it (from bookworm, or backports where
# bookworm's is too old), and the wrapper sets LD_LIBRARY_PATH to them.
# ldd must then find every library, and --version must say 10.0.
#
# Idempotent: once the wrapper answers --version with 10.0 this asks apt
# nothing and prints the path at once. --refresh unpacks it all again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/build/deps/qemu10
apt_dir=$root/build/deps/apt
wrapper=$dest/qemu-system-aarch64
want=10.0
refresh=
[[ ${1:-} == --refresh ]] && refresh=1
log() { echo "qemu10: $*" >&2; }
die() { echo "qemu10: $*" >&2; exit 1; }

if [[ -z $refresh && -x $wrapper ]] && "$wrapper" --version 2>/dev/null | grep -q "version $want"; then
    echo "$wrapper"
    exit 0
fi
for tool in apt-get apt-cache dpkg-deb ldd; do
    command -v $tool >/dev/null || die "needs $tool"
done

# The private apt: bookworm-backports and bookworm, this machine's
# architecture only, no lock on the system's state.
arch=$(dpkg --print-architecture)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f $keyring ]] || die "no $keyring (debian-archive-keyring)"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
cat >"$apt_dir/sources.list" <<EOF
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm-backports main
deb [signed-by=$keyring] http://deb.debian.org/debian bookworm main
EOF
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
          -o "APT::Architectures::=$arch" -o Debug::NoLocking=1)
log "apt-get update (bookworm-backports, private lists in ${apt_dir#"$root"/})"
apt-get "${apt_opts[@]}" update -qq >/dev/null || die "apt-get update of the private sources failed"

version=$(apt-cache "${apt_opts[@]}" madison qemu-system-arm | awk -F'|' '$3 ~ /bookworm-backports/ { gsub(/ /, "", $2); print $2; exit }')
[[ $version == *:$want.* || $version == $want.* ]] || die "bookworm-backports has qemu-system-arm '${version:-none}', not $want.x"

# qemu-system-arm's Depends that this machine does not have installed
# (qemu-system-common and -data are the same version's; only -data is
# needed: the firmware and keymaps).
missing=()
deps=$(apt-cache "${apt_opts[@]}" show "qemu-system-arm=$version" | sed -n 's/^Depends: //p' | head -1)
IFS=',' read -ra items <<<"$deps"
for item in "${items[@]}"; do
    p=$(awk '{ print $1 }' <<<"${item%%|*}")
    case $p in qemu-system-common | qemu-system-data | "") continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

tmp=$(mktemp -d "$root/build/deps/qemu10-download.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp"  # apt drops to _apt for downloads
log "downloading qemu-system-arm and qemu-system-data $version${missing[*]:+ and ${missing[*]}}"
(cd "$tmp" && apt-get "${apt_opts[@]}" download -q "qemu-system-arm=$version" "qemu-system-data=$version" \
    "${missing[@]}" >/dev/null 2>"$tmp/apt.err") || { cat "$tmp/apt.err" >&2; die "apt-get download failed"; }
rm -rf "$dest.new"
mkdir -p "$dest.new/root/modules"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dest.new/root"; done

libs=$dest/root/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
cat >"$dest.new/qemu-system-aarch64" <<EOF
#!/bin/sh
# QEMU $version from bookworm-backports, unpacked by scripts/qemu10.sh.
# Its own data directory first, then the system's (the iPXE option ROMs);
# its own (empty) module directory, never QEMU 7.2's modules.
d=$dest/root
QEMU_MODULE_DIR=\$d/modules LD_LIBRARY_PATH=$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} \\
    exec "\$d/usr/bin/qemu-system-aarch64" -L "\$d/usr/share/qemu" -L /usr/share/qemu "\$@"
EOF
chmod 755 "$dest.new/qemu-system-aarch64"
rm -rf "$dest"
mv "$dest.new" "$dest"
rm -rf "$tmp"
trap - EXIT

notfound=$(LD_LIBRARY_PATH=$libs ldd "$dest/root/usr/bin/qemu-system-aarch64" | grep 'not found' || true)
[[ -z $notfound ]] || die "libraries still missing (bookworm's too old?):"$'\n'"$notfound"
got=$("$wrapper" --version | head -1)
[[ $got == *"version $want"* ]] || die "$wrapper --version says '$got', not $want"
log "$got"
echo "$wrapper"
