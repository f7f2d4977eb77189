#!/usr/bin/env bash
# Checks a built image: the arm64 Image header (magic; flags: LE, 4 KiB,
# placement anywhere; image_size covering the whole ELF, BSS, stacks and
# pools included) and that every dynamic relocation is one head.S applies
# (R_AARCH64_RELATIVE). Usage: check-image.sh passage.elf passage.bin
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
(( (flags & 1) == 0 )) || fail "flags 0x$(printf %x "$flags"): big-endian bit set"
(( (flags & 6) == 2 )) || fail "flags 0x$(printf %x "$flags"): page size field is not 4 KiB"
# Bit 3 (placement anywhere) is claimed: booti then runs the image where it
# was loaded, rounded up to 2 MiB, so image_size must cover whole 2 MiB blocks
# (nothing of passage's may share a block with what comes after it).
(( (flags & 8) == 8 )) || fail "flags 0x$(printf %x "$flags"): bit 3 (placement anywhere) is clear"
(( (flags >> 4) == 0 )) || fail "flags 0x$(printf %x "$flags"): reserved bits set"
(( image_size % 0x200000 == 0 )) || fail "image_size $image_size is not a multiple of 2 MiB"
(( text_offset == 0 )) || fail "text_offset $text_offset, expected 0"

# Everything the ELF occupies (linked at 0): every allocated section,
# NOLOAD ones (BSS, stacks, pools) included.
mem_end=0
while read -r addr size; do
    (( 0x$addr + 0x$size > mem_end )) && mem_end=$(( 0x$addr + 0x$size ))
done < <("$readelf" -SW "$elf" | sed -n 's/^ *\[ *[0-9]*\] *//p' | awk '$7 ~ /A/ { print $3, $5 }')
(( mem_end > 0 )) || fail "$elf: no allocated sections found"
(( image_size >= mem_end )) || fail "image_size $image_size does not cover the ELF's sections (up to $mem_end)"

bad=$("$readelf" -rW "$elf" | awk '/^[0-9a-f]+ +[0-9a-f]+ R_/ && $3 != "R_AARCH64_RELATIVE" {print $3}' | sort -u)
[[ -z $bad ]] || fail "$elf has relocations head.S cannot apply: $bad"
# Relocation targets are written with the MMU off: enable_el2_mmu cleans
# them from the caches only from __relro_start to __bss_end.
# (awk reads to the end: an early exit would leave readelf writing into a
# closed pipe, and pipefail would fail the check at random.)
relro_start=$("$readelf" -sW "$elf" | awk '$8 == "__relro_start" && !v { v = $2 } END { print v }')
bss_end=$("$readelf" -sW "$elf" | awk '$8 == "__bss_end" && !v { v = $2 } END { print v }')
[[ -n $relro_start && -n $bss_end ]] || fail "$elf: no __relro_start or __bss_end symbol"
outside=$("$readelf" -rW "$elf" | awk -v lo=$((0x$relro_start)) -v hi=$((0x$bss_end)) \
    '/^[0-9a-f]+ +[0-9a-f]+ R_/ { a = 0; h = "0123456789abcdef"; s = tolower($1)
        for (i = 1; i <= length(s); ++i) a = a * 16 + index(h, substr(s, i, 1)) - 1
        if ((a < lo || a + 8 > hi) && n++ < 3) print $1 }')
[[ -z $outside ]] || fail "$elf has relocations outside __relro_start..__bss_end (not cleaned at MMU on): $outside"
"$readelf" -SW "$elf" | grep -qE '\.init_array' && fail "$elf has static constructors (.init_array); passage runs none"
echo "check-image: $bin ok: image_size $image_size, sections up to $mem_end, file $file_size bytes, flags 0x$(printf %x "$flags")"
