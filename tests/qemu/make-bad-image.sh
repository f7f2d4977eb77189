#!/usr/bin/env bash
# Writes a file with a valid arm64 Image header whose image_size (4 GiB)
# cannot fit in the guest's RAM, for the loader's refusal test.
#   make-bad-image.sh OUT
set -euo pipefail
out=$1
{
    printf '\x00\x00\x00\x14\x00\x00\x00\x00'              # code0: b .; code1
    printf '\x00\x00\x00\x00\x00\x00\x00\x00'              # text_offset 0
    printf '\x00\x00\x00\x00\x01\x00\x00\x00'              # image_size 4 GiB
    printf '\x0a\x00\x00\x00\x00\x00\x00\x00'              # flags: LE, 4K, anywhere
    printf '\x00%.0s' {1..24}                              # res2-res4
    printf 'ARM\x64'                                       # magic
    printf '\x00%.0s' {1..4}                               # res5
    printf '\x00%.0s' {1..4032}
} >"$out"
