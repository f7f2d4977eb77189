#!/usr/bin/env bash
# Checks a built image: the arm64 Image header (magic, flags, image_size
# covering the whole ELF) and that every dynamic relocation is one head.S
# applies (R_AARCH64_RELATIVE). Usage: check-image.sh passage.elf passage.bin
set -euo pipefail
elf=$1 bin=$2
readelf=${READELF:-aarch64-linux-gnu-readelf}
command -v "$readelf" >/dev/null || readelf=readelf

fail() { echo "check-image: $*" >&2; exit 1; }

le64() { od -An -tu8 -j "$1" -N 8 "$bin" | tr -d ' '; }
magic=$(od -An -c -j 56 -N 4 "$bin" | tr -d ' ')
[[ $magic == 'ARMd' ]] || fail "$bin: no arm64 Image magic at offset 56 (found '$magic')"
text_offset=$(le64 8)
image_size=$(le64 16)
flags=$(le64 24)
file_size=$(stat -c %s "$bin")
(( image_size >= file_size )) || fail "image_size $image_size is smaller than the file ($file_size)"
(( image_size % 4096 == 0 )) || fail "image_size $image_size is not page aligned"
(( (flags & 6) == 2 )) || fail "flags 0x$(printf %x "$flags"): page size field is not 4 KiB"
(( text_offset == 0 )) || fail "text_offset $text_offset, expected 0"

bad=$("$readelf" -rW "$elf" | awk '/^[0-9a-f]+ +[0-9a-f]+ R_/ && $3 != "R_AARCH64_RELATIVE" {print $3}' | sort -u)
[[ -z $bad ]] || fail "$elf has relocations head.S cannot apply: $bad"
"$readelf" -SW "$elf" | grep -qE '\.init_array' && fail "$elf has static constructors (.init_array); passage runs none"
echo "check-image: $bin ok: image_size $image_size, file $file_size bytes, flags 0x$(printf %x "$flags")"
