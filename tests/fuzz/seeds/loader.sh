#!/usr/bin/env bash
# Seeds for the loader fuzzer, each a 96-byte control block (see
# loader_fuzz.cpp) then a file: arm64 Image headers (new and pre-3.17),
# ELF64 AArch64 executables with one and two PT_LOAD segments, the test
# guest if the cross tree has built it, and DTBs with /chosen boot modules
# (the guest fixtures, and QEMU's tree given modules with fdtput).
#   seeds/loader.sh OUTDIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=$1
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The files, in $tmp: Images and ELFs built byte by byte.
python3 - "$tmp" <<'PY'
import struct, sys
d = sys.argv[1]
def image(name, text_offset, image_size, flags, body=256):
    hdr = struct.pack('<IIQQQQQQII', 0x14000010, 0, text_offset, image_size, flags, 0, 0, 0, 0x644d5241, 0)
    open(f'{d}/{name}', 'wb').write(hdr + bytes((i * 7) & 255 for i in range(body)))
image('image-4k-anywhere', 0, 0x30000, 0b1010)
image('image-text-offset', 0x80000, 0x100000, 0b0010)
image('image-old', 0, 0, 0)
def elf(name, segs, entry):
    # segs: (paddr, vaddr, filesz, memsz); the file bytes follow the headers.
    phoff, n = 64, len(segs)
    off = phoff + 56 * n
    eh = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9)
    eh += struct.pack('<HHIQQQIHHHHHH', 2, 183, 1, entry, phoff, 0, 0, 64, 56, n, 64, 0, 0)
    ph, body = b'', b''
    for paddr, vaddr, filesz, memsz in segs:
        ph += struct.pack('<IIQQQQQQ', 1, 5, off + len(body), vaddr, paddr, filesz, memsz, 0x1000)
        body += bytes((i * 13 + paddr) & 255 for i in range(filesz))
    open(f'{d}/{name}', 'wb').write(eh + ph + body)
elf('elf-one-load', [(0x40080000, 0x40080000, 0x200, 0x1000)], 0x40080000)
elf('elf-two-loads', [(0x40080000, 0xffff000000080000, 0x180, 0x180), (0x40100000, 0xffff000000100000, 0x40, 0x2000)],
    0xffff000000080010)
PY
[[ -f $root/build/cross/test_guest.elf ]] && cp "$root/build/cross/test_guest.elf" "$tmp/elf-test-guest"
for dts in "$root"/tests/unit/guest/fixtures/modules*.dts "$root"/tests/unit/guest/fixtures/guest-board.dts; do
    dtc -q -I dts -O dtb -o "$tmp/dtb-$(basename "$dts" .dts)" "$dts"
done
# QEMU's tree with a kernel and a ramdisk module added by fdtput.
"$root/tests/unit/platform/dump-dtbs.sh" "$tmp/qemu" >/dev/null
q=$tmp/dtb-qemu-modules
dtc -q -I dtb -O dtb -p 1024 -o "$q" "$tmp/qemu/qemu-virt-gicv3.dtb"
fdtput -t i "$q" /chosen '#address-cells' 2
fdtput -t i "$q" /chosen '#size-cells' 2
fdtput -c "$q" /chosen/module@44000000 /chosen/module@46000000
fdtput -t s "$q" /chosen/module@44000000 compatible multiboot,kernel multiboot,module
fdtput -t x "$q" /chosen/module@44000000 reg 0 44000000 0 1000000
fdtput -t s "$q" /chosen/module@44000000 bootargs 'console=ttyAMA0 root=/dev/vda'
fdtput -t s "$q" /chosen/module@46000000 compatible multiboot,ramdisk multiboot,module
fdtput -t x "$q" /chosen/module@46000000 reg 0 46000000 0 400000
rm -rf "$tmp/qemu"

# The control blocks: flags, RAM ranges, kept regions, kernel and initrd
# places, as pages of the 8 MiB arena at 0x40000000.
control() {  # control FLAGS "page pages"... (4 RAM then 4 kept) KERNEL_OFF INITRD_OFF INITRD_SIZE
    python3 - "$@" <<'PY'
import struct, sys
a = sys.argv[1:]
flags, nram, nkeep = int(a[0], 0), int(a[1]), int(a[2])
ranges = [tuple(int(x, 0) for x in r.split()) for r in a[3:11]]
b = struct.pack('<BBBB', flags, nram, nkeep, 0) + b''.join(struct.pack('<II', *r) for r in ranges)
b += struct.pack('<III', *(int(x, 0) for x in a[11:14]))
sys.stdout.buffer.write(b.ljust(96, b'\0'))
PY
}
none="0 0"
i=0
for f in "$tmp"/*; do
    name=$(basename "$f")
    # RAM: the whole arena; then two ranges around a hole, with a kept region.
    { control 0x3 1 0 "0 2048" "$none" "$none" "$none" "$none" "$none" "$none" "$none" 0x500000 0x300000 0x20000; cat "$f"; } >"$out/$name-a"
    { control 0x2 2 1 "0 256" "512 1536" "$none" "$none" "600 16" "$none" "$none" "$none" 0x100000 0 0; cat "$f"; } >"$out/$name-b"
    i=$((i + 2))
done
echo "seeds/loader: $i inputs in $out" >&2
