// Fuzzer 3: the guest loader. The input is a 96-byte control block, then a
// file: an ELF or an arm64 Image (parsed as the boot parses a kernel
// module, then placed and copied into an 8 MiB arena standing for guest
// RAM), or a DTB (its /chosen boot modules found, then placed). Control
// block, little-endian, zero when absent:
//    0 u8  flags   bit 0 initrd, bit 1 kernel file in the arena (else not
//                  in guest RAM), bit 2 addresses past the arena (plan only)
//    1 u8  ram     guest RAM ranges, mod kMaxRam + 1 (0: none)
//    2 u8  keep    regions to keep, mod kMaxKeep + 1
//    4 u32 page, u32 pages   per RAM range (kMaxRam), then per kept region
//   68 u32 kernel file offset in the arena
//   72 u32 initrd offset in the arena, u32 initrd size
//   80 u32 dtb_size (0: 2 MiB)
// What must hold: parsers and the planner refuse with a message; a plan
// keeps booting.rst's rules (alignment, inside RAM, clear of the kept
// regions and of one another); every copy maps only inside one RAM range,
// clear of the kept regions and the DTB block (else abort), writes only
// what it mapped (the rest of the arena is poisoned for ASan), and leaves
// the kernel, ELF segments and initrd where planned, byte for byte.
#include <sanitizer/asan_interface.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "passage/discover.h"
#include "passage/guest/elf.h"
#include "passage/guest/image.h"
#include "passage/guest/layout.h"
#include "passage/guest/modules.h"
#include "passage/log.h"

using namespace passage;

namespace {

constexpr u64 kArenaBase = 0x40000000;
constexpr u64 kArenaSize = 8 * MiB;
constexpr u64 kArenaPages = kArenaSize / kPageSize;
constexpr usize kControl = 96;
constexpr usize kMaxRam = 4, kMaxKeep = 4;
constexpr u64 kMaxInitrd = 1 * MiB;  // each byte is written and checked per run

alignas(4096) u8 g_arena[kArenaSize];

void quiet(const char*, usize) {}

[[noreturn]] void violated(const char* what, u64 a, u64 b)
{
    std::fprintf(stderr, "loader fuzz: %s (0x%llx, 0x%llx)\n", what, (unsigned long long)a, (unsigned long long)b);
    std::abort();
}

template <typename T>
T get(const u8* data, usize size, usize off)
{
    T v{};
    if (off < size) std::memcpy(&v, data + off, off + sizeof v <= size ? sizeof v : size - off);
    return v;
}

bool inside(const MemRange& outer, u64 base, u64 size)
{
    return size != 0 && base >= outer.base && base - outer.base <= outer.size && size <= outer.size - (base - outer.base);
}

bool in_one(std::span<const MemRange> ranges, u64 base, u64 size)
{
    for (const MemRange& r : ranges)
        if (inside(r, base, size)) return true;
    return false;
}

bool hits(std::span<const MemRange> ranges, u64 base, u64 size)
{
    for (const MemRange& r : ranges)
        if (ranges_overlap(base, size, r.base, r.size)) return true;
    return false;
}

u8* at(u64 phys) { return g_arena + (phys - kArenaBase); }

struct Rig {
    std::span<const MemRange> ram, keep;
    GuestLayout layout;
};

// The copies' view of guest RAM: only whole ranges inside one RAM range,
// clear of what must be kept and of the DTB block; each mapping is
// unpoisoned for exactly its size.
void* map(void* ctx, u64 phys, u64 size)
{
    const Rig& rig = *static_cast<const Rig*>(ctx);
    if (!inside(MemRange{kArenaBase, kArenaSize}, phys, size)) violated("a copy maps outside the arena", phys, size);
    if (!in_one(rig.ram, phys, size)) violated("a copy maps outside guest RAM", phys, size);
    if (hits(rig.keep, phys, size)) violated("a copy maps over a region to keep", phys, size);
    if (ranges_overlap(phys, size, rig.layout.dtb_base, kDtbBlockSize)) violated("a copy maps over the DTB block", phys, size);
    ASAN_UNPOISON_MEMORY_REGION(at(phys), size);
    return at(phys);
}

// booting.rst's rules and the request's, on a successful plan.
void check_plan(const LayoutRequest& req, const GuestLayout& l)
{
    if (!is_aligned(l.dtb_base, kDtbBlockSize) || !in_one(req.ram, l.dtb_base, kDtbBlockSize))
        violated("DTB block misplaced", l.dtb_base, 0);
    if (hits(req.keep, l.dtb_base, kDtbBlockSize)) violated("DTB block over a kept region", l.dtb_base, 0);
    if (ranges_overlap(l.dtb_base, kDtbBlockSize, req.image_source.base, req.image_source.size))
        violated("DTB block over the kernel file", l.dtb_base, req.image_source.base);
    if (req.linux_image != nullptr) {
        if (!is_aligned(l.kernel_base - req.linux_image->text_offset, kLinuxImageAlign) ||
            l.kernel_size != req.linux_image->image_size || l.entry != l.kernel_base)
            violated("kernel not at a 2 MiB base + text_offset", l.kernel_base, l.kernel_size);
        if (!in_one(req.ram, l.kernel_base, l.kernel_size)) violated("kernel outside RAM", l.kernel_base, l.kernel_size);
        if (!l.kernel_in_place && hits(req.keep, l.kernel_base, l.kernel_size)) violated("kernel over a kept region", l.kernel_base, 0);
        if (l.kernel_in_place && l.kernel_base != req.image_source.base) violated("kernel in place but moved", l.kernel_base, 0);
        if (ranges_overlap(l.dtb_base, kDtbBlockSize, l.kernel_base, l.kernel_size)) violated("DTB over the kernel", l.dtb_base, 0);
    } else {
        for (usize i = 0; i < req.elf->segment_count; ++i) {
            const ElfSegment& s = req.elf->segments[i];
            if (!in_one(req.ram, s.paddr, s.memsz) || hits(req.keep, s.paddr, s.memsz))
                violated("ELF segment outside RAM or over a kept region", s.paddr, s.memsz);
            if (ranges_overlap(l.dtb_base, kDtbBlockSize, s.paddr, s.memsz)) violated("DTB over an ELF segment", l.dtb_base, s.paddr);
        }
    }
    if (l.has_initrd != req.has_initrd) violated("initrd lost or invented", l.has_initrd, 0);
    if (l.has_initrd) {
        if (l.initrd_size != req.initrd_source.size || !in_one(req.ram, l.initrd_base, l.initrd_size))
            violated("initrd outside RAM", l.initrd_base, l.initrd_size);
        if (!l.initrd_in_place && hits(req.keep, l.initrd_base, l.initrd_size)) violated("initrd over a kept region", l.initrd_base, 0);
        if (ranges_overlap(l.initrd_base, l.initrd_size, l.kernel_base, l.kernel_size) && req.linux_image != nullptr)
            violated("initrd over the kernel", l.initrd_base, l.kernel_base);
        if (ranges_overlap(l.dtb_base, kDtbBlockSize, l.initrd_base, l.initrd_size) ||
            ranges_overlap(l.dtb_base, kDtbBlockSize, req.initrd_source.base, req.initrd_source.size))
            violated("DTB over the initrd", l.dtb_base, l.initrd_base);
    }
}

u8 initrd_byte(u64 i) { return u8(i * 131 + (i >> 9) + 7); }

// The boot modules of a DTB, then their placement with the kernel module
// taken as an Image that fills it (nothing is copied: the modules' bytes
// are not in the input).
void modules(const u8* fdt, usize size, std::span<const MemRange> ram, std::span<const MemRange> keep, u64 dtb_size)
{
    Diagnostic diag;
    if (!check_device_tree(fdt, size, diag)) return;
    BootModules mods;
    if (!discover_boot_modules(fdt, mods, diag)) {
        if (diag.text[0] == '\0') violated("a module failure without a message", 0, 0);
        return;
    }
    if (mods.bootargs != nullptr) {
        const u8* b = reinterpret_cast<const u8*>(mods.bootargs);
        if (b < fdt || b >= fdt + size || std::memchr(b, 0, usize(fdt + size - b)) == nullptr)
            violated("bootargs not a string inside the tree", usize(b - fdt), size);
    }
    if (!mods.has_kernel) return;
    LinuxImage img;
    img.image_size = mods.kernel.size;
    img.copy_size = mods.kernel.size;
    img.place_anywhere = true;
    LayoutRequest req;
    req.ram = ram;
    req.keep = keep;
    req.linux_image = &img;
    req.image_source = mods.kernel;
    req.has_initrd = mods.has_initrd;
    req.initrd_source = mods.initrd;
    req.dtb_size = dtb_size;
    GuestLayout layout;
    if (plan_guest_layout(req, layout, diag)) check_plan(req, layout);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size)
{
    set_log_sink(quiet);
    const u8 flags = get<u8>(data, size, 0);
    const bool wild = flags & 4;
    MemRange ram[kMaxRam], keep[kMaxKeep];
    const usize nram = get<u8>(data, size, 1) % (kMaxRam + 1);
    const usize nkeep = get<u8>(data, size, 2) % (kMaxKeep + 1);
    auto range = [&](usize off) {
        u64 page = get<u32>(data, size, off), pages = get<u32>(data, size, off + 4);
        if (wild) return MemRange{kArenaBase + (page << 12), pages << 12};  // may wrap: the planner must say so
        page %= kArenaPages;
        pages = pages % (kArenaPages - page) + 1;
        return MemRange{kArenaBase + page * kPageSize, pages * kPageSize};
    };
    for (usize i = 0; i < nram; ++i) ram[i] = range(4 + 8 * i);
    for (usize i = 0; i < nkeep; ++i) keep[i] = range(4 + 8 * (kMaxRam + i));
    const u64 dtb_size = get<u32>(data, size, 80) == 0 ? kDtbBlockSize : get<u32>(data, size, 80);
    const u8* file = data + kControl;  // 8-byte aligned: libFuzzer's buffer is malloc'd
    const usize file_size = size > kControl ? size - kControl : 0;
    if (size <= kControl) return 0;

    if (file_size >= 4 && file[0] == 0xd0 && file[1] == 0x0d && file[2] == 0xfe && file[3] == 0xed) {
        modules(file, file_size, {ram, nram}, {keep, nkeep}, dtb_size);
        return 0;
    }

    Diagnostic diag;
    LinuxImage img;
    ElfImage elf;
    LayoutRequest req;
    req.ram = {ram, nram};
    req.keep = {keep, nkeep};
    req.dtb_size = dtb_size;
    (void)looks_like_linux_image(file, file_size);
    if (looks_like_elf(file, file_size)) {
        if (!parse_elf(file, file_size, elf, diag)) return 0;
        req.elf = &elf;
    } else {
        if (!parse_linux_image(file, file_size, img, diag)) return 0;
        if (img.copy_size > file_size || img.copy_size > img.image_size) violated("copy_size past the file", img.copy_size, file_size);
        req.linux_image = &img;
    }

    // Where the modules sit: the kernel file in the arena or nowhere the
    // guest could get; the initrd in the arena, filled with a pattern.
    ASAN_POISON_MEMORY_REGION(g_arena, kArenaSize);
    GuestPayload payload{file, file_size, nullptr, 0};
    if ((flags & 2) && file_size <= kArenaSize) {
        u64 off = get<u32>(data, size, 68) % (kArenaSize - file_size + 1);
        req.image_source = {kArenaBase + off, file_size};
        ASAN_UNPOISON_MEMORY_REGION(g_arena + off, file_size);
        std::memcpy(g_arena + off, file, file_size);
        payload.image = g_arena + off;
    }
    if (flags & 1) {
        u64 isize = get<u32>(data, size, 76) % kMaxInitrd + 1;
        u64 off = get<u32>(data, size, 72) % (kArenaSize - isize + 1);
        req.has_initrd = true;
        req.initrd_source = {kArenaBase + off, isize};
        payload.initrd = g_arena + off;
        payload.initrd_size = isize;
    }
    Rig rig{req.ram, req.keep, {}};
    if (!plan_guest_layout(req, rig.layout, diag)) {
        if (diag.text[0] == '\0') violated("a plan failure without a message", 0, 0);
        return 0;
    }
    check_plan(req, rig.layout);
    if (wild) return 0;  // the plan may lie outside the arena
    if (req.has_initrd) {
        // The plan refused an initrd over the kernel file, so neither
        // pattern spoils the other.
        ASAN_UNPOISON_MEMORY_REGION(payload.initrd, payload.initrd_size);
        for (u64 i = 0; i < payload.initrd_size; ++i) const_cast<u8*>(payload.initrd)[i] = initrd_byte(i);
    }
    if (!load_guest(req, rig.layout, payload, PhysAccess{map, &rig}, diag)) {
        if (diag.text[0] == '\0') violated("a load failure without a message", 0, 0);
        return 0;
    }
    ASAN_UNPOISON_MEMORY_REGION(g_arena, kArenaSize);
    const GuestLayout& l = rig.layout;
    if (req.linux_image != nullptr && std::memcmp(at(l.kernel_base), file, img.copy_size) != 0)
        violated("the kernel is not where it was planned", l.kernel_base, img.copy_size);
    if (req.elf != nullptr)
        for (usize i = 0; i < elf.segment_count; ++i) {
            const ElfSegment& s = elf.segments[i];
            if (std::memcmp(at(s.paddr), file + s.offset, s.filesz) != 0) violated("an ELF segment's bytes", s.paddr, s.filesz);
            for (u64 k = s.filesz; k < s.memsz; ++k)
                if (at(s.paddr)[k] != 0) violated("an ELF segment's BSS is not zero", s.paddr, k);
        }
    if (l.has_initrd)
        for (u64 i = 0; i < l.initrd_size; ++i)
            if (at(l.initrd_base)[i] != initrd_byte(i)) violated("the initrd is not where it was planned", l.initrd_base, i);
    return 0;
}
