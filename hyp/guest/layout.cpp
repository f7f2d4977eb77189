// Guest placement and loading. See passage/guest/layout.h.
#include "passage/guest/layout.h"

#include "util.h"

namespace passage {

using guest::contains;
using guest::last_byte;
using guest::well_formed;

namespace {

unsigned long long ull(u64 v) { return v; }

// A small fixed set of ranges nothing may be placed over.
class RangeSet {
public:
    static constexpr usize kCapacity = 2 * kMaxLayoutRanges + ElfImage::kMaxSegments + 8;

    void add(const MemRange& r)
    {
        if (r.size == 0) return;
        // Callers size the set for everything they add; the check keeps an
        // invariant violation from writing past the array.
        if (count_ < kCapacity) ranges_[count_++] = r;
    }
    void add(std::span<const MemRange> rs)
    {
        for (const MemRange& r : rs) add(r);
    }
    // The first range overlapping [start, start + size), or nullptr.
    const MemRange* overlapping(u64 start, u64 size) const
    {
        for (usize i = 0; i < count_; ++i)
            if (ranges_overlap(start, size, ranges_[i].base, ranges_[i].size)) return &ranges_[i];
        return nullptr;
    }

private:
    MemRange ranges_[kCapacity];
    usize count_ = 0;
};

bool align_up_checked(u64 v, u64 align, u64& out)
{
    if (v > ~u64{0} - (align - 1)) return false;
    out = align_up(v, align);
    return true;
}

// The lowest start = b + offset, b a multiple of align, with
// [start, start + size) inside ram and clear of blocked.
bool find_lowest(const MemRange& ram, u64 align, u64 offset, u64 size, const RangeSet& blocked, u64& start_out)
{
    if (size == 0 || size > ram.size) return false;
    const u64 last_start = ram.base + (ram.size - size);
    u64 b = 0;
    if (!align_up_checked(ram.base > offset ? ram.base - offset : 0, align, b)) return false;
    // Each round moves past one blocked range, so this ends.
    for (;;) {
        if (b > ~u64{0} - offset) return false;
        const u64 start = b + offset;
        if (start > last_start) return false;
        const MemRange* r = blocked.overlapping(start, size);
        if (r == nullptr) {
            start_out = start;
            return true;
        }
        if (last_byte(*r) == ~u64{0}) return false;
        const u64 next = last_byte(*r) + 1;
        if (!align_up_checked(next > offset ? next - offset : 0, align, b)) return false;
    }
}

// The highest such start.
bool find_highest(const MemRange& ram, u64 align, u64 offset, u64 size, const RangeSet& blocked, u64& start_out)
{
    if (size == 0 || size > ram.size) return false;
    u64 top = ram.base + (ram.size - size);  // the highest start that fits
    for (;;) {
        if (top < offset) return false;
        const u64 start = align_down(top - offset, align) + offset;
        if (start < ram.base) return false;
        const MemRange* r = blocked.overlapping(start, size);
        if (r == nullptr) {
            start_out = start;
            return true;
        }
        if (r->base < size) return false;
        top = r->base - size;  // below r: lower than start, since r overlaps it
    }
}

struct SortedRam {
    MemRange ranges[kMaxLayoutRanges];
    usize count = 0;
};

Status sort_ram(std::span<const MemRange> ram, SortedRam& out, Diagnostic& diag)
{
    if (ram.empty()) return fail(diag, Error::InvalidArgument, 0, "guest layout: no guest RAM");
    if (ram.size() > kMaxLayoutRanges)
        return fail(diag, Error::Unsupported, ram.size(), "guest layout: %zu guest RAM ranges (at most %zu)", ram.size(),
                    kMaxLayoutRanges);
    for (const MemRange& r : ram) {
        if (!well_formed(r))
            return fail(diag, Error::InvalidArgument, r.base, "guest layout: guest RAM range 0x%llx size 0x%llx is empty or wraps",
                        ull(r.base), ull(r.size));
        usize i = out.count++;
        while (i > 0 && out.ranges[i - 1].base > r.base) {
            out.ranges[i] = out.ranges[i - 1];
            --i;
        }
        out.ranges[i] = r;
    }
    return {};
}

bool in_ram(const SortedRam& ram, const MemRange& r)
{
    if (!well_formed(r)) return false;
    for (usize i = 0; i < ram.count; ++i)
        if (contains(ram.ranges[i], r)) return true;
    return false;
}

u64 largest_ram(const SortedRam& ram)
{
    u64 best = 0;
    for (usize i = 0; i < ram.count; ++i)
        if (ram.ranges[i].size > best) best = ram.ranges[i].size;
    return best;
}

bool place_lowest(const SortedRam& ram, u64 align, u64 offset, u64 size, const RangeSet& blocked, u64& start)
{
    for (usize i = 0; i < ram.count; ++i)
        if (find_lowest(ram.ranges[i], align, offset, size, blocked, start)) return true;
    return false;
}

bool place_highest(const SortedRam& ram, u64 align, u64 offset, u64 size, const RangeSet& blocked, u64& start)
{
    for (usize i = ram.count; i > 0; --i)
        if (find_highest(ram.ranges[i - 1], align, offset, size, blocked, start)) return true;
    return false;
}

// What the kernel occupies once loaded: one range for an Image, the
// segments for an ELF.
struct KernelFootprint {
    MemRange parts[ElfImage::kMaxSegments];
    usize count = 0;
};

void add_footprint(RangeSet& set, const KernelFootprint& k)
{
    for (usize i = 0; i < k.count; ++i) set.add(k.parts[i]);
}

bool footprint_overlaps(const KernelFootprint& k, const MemRange& r)
{
    for (usize i = 0; i < k.count; ++i)
        if (ranges_overlap(k.parts[i].base, k.parts[i].size, r.base, r.size)) return true;
    return false;
}

// Places the initrd and the DTB once the kernel's place is fixed.
Status place_rest(const LayoutRequest& req, const SortedRam& ram, const KernelFootprint& kernel, GuestLayout& out,
                  Diagnostic& diag)
{
    out.has_initrd = req.has_initrd;
    if (req.has_initrd) {
        out.initrd_size = req.initrd_source.size;
        if (in_ram(ram, req.initrd_source) && !footprint_overlaps(kernel, req.initrd_source)) {
            out.initrd_in_place = true;
            out.initrd_base = req.initrd_source.base;
        } else {
            // Copied before the kernel: clear of the kernel's destination
            // and of its file, which is still to be read.
            RangeSet blocked;
            blocked.add(req.keep);
            add_footprint(blocked, kernel);
            blocked.add(req.image_source);
            if (!place_highest(ram, kPageSize, 0, req.initrd_source.size, blocked, out.initrd_base))
                return fail(diag, Error::NoMemory, req.initrd_source.size,
                            "guest layout: no room for the initrd (%llu bytes, now at 0x%llx) in guest RAM clear of the "
                            "kernel at 0x%llx-0x%llx and the regions to keep",
                            ull(req.initrd_source.size), ull(req.initrd_source.base), ull(out.kernel_base),
                            ull(out.kernel_base + out.kernel_size - 1));
        }
    }

    // The DTB's block: clear of everything, modules' current places
    // included, so it may be written before or after the copies.
    RangeSet blocked;
    blocked.add(req.keep);
    add_footprint(blocked, kernel);
    blocked.add(req.image_source);
    if (req.has_initrd) {
        blocked.add(req.initrd_source);
        blocked.add(MemRange{out.initrd_base, out.initrd_size});
    }
    if (!place_highest(ram, kDtbBlockSize, 0, kDtbBlockSize, blocked, out.dtb_base))
        return fail(diag, Error::NoMemory, kDtbBlockSize,
                    "guest layout: no free 2 MiB-aligned 2 MiB block in guest RAM for the DTB (clear of the kernel at "
                    "0x%llx size 0x%llx, the initrd and the regions to keep)",
                    ull(out.kernel_base), ull(out.kernel_size));
    out.dtb_size = kDtbBlockSize;
    return {};
}

// The Image at the lowest 2 MiB base + text_offset clear of the regions to
// keep (and of the initrd's current place, if asked), then the rest.
Status place_linux(const LayoutRequest& req, const SortedRam& ram, bool avoid_initrd, GuestLayout& out, Diagnostic& diag)
{
    const LinuxImage& img = *req.linux_image;
    RangeSet blocked;
    blocked.add(req.keep);
    if (avoid_initrd) blocked.add(req.initrd_source);
    u64 start = 0;
    if (!place_lowest(ram, kLinuxImageAlign, img.text_offset, img.image_size, blocked, start))
        return fail(diag, Error::NoMemory, img.image_size,
                    "guest layout: no place for the kernel (%llu bytes at text_offset 0x%llx above a 2 MiB-aligned "
                    "base) in guest RAM clear of the regions to keep%s",
                    ull(img.image_size), ull(img.text_offset), avoid_initrd ? " and the initrd" : "");
    GuestLayout l;
    l.kernel_base = start;
    l.kernel_size = img.image_size;
    l.entry = start;
    KernelFootprint k;
    k.parts[k.count++] = MemRange{start, img.image_size};
    if (Status s = place_rest(req, ram, k, l, diag); !s) return s;
    out = l;
    return {};
}

// Flags bit 3 set and the module already text_offset above a 2 MiB
// boundary, with image_size bytes from there inside one guest RAM range and
// clear of the regions to keep and of the initrd's current place: the
// kernel may run where it was loaded, and nothing is copied. False (and the
// kernel is placed as usual) otherwise, or when the DTB then finds no block.
bool place_linux_in_place(const LayoutRequest& req, const SortedRam& ram, GuestLayout& out)
{
    const LinuxImage& img = *req.linux_image;
    const MemRange kernel{req.image_source.base, img.image_size};
    if (!img.place_anywhere || req.image_source.size == 0) return false;
    if (kernel.base < img.text_offset || !is_aligned(kernel.base - img.text_offset, kLinuxImageAlign)) return false;
    if (!in_ram(ram, kernel)) return false;
    for (const MemRange& keep : req.keep)
        if (ranges_overlap(kernel.base, kernel.size, keep.base, keep.size)) return false;
    if (req.has_initrd && ranges_overlap(kernel.base, kernel.size, req.initrd_source.base, req.initrd_source.size))
        return false;
    GuestLayout l;
    l.kernel_in_place = true;
    l.kernel_base = kernel.base;
    l.kernel_size = kernel.size;
    l.entry = kernel.base;
    KernelFootprint k;
    k.parts[k.count++] = kernel;
    Diagnostic d;
    if (!place_rest(req, ram, k, l, d)) return false;
    out = l;
    return true;
}

Status plan_linux(const LayoutRequest& req, const SortedRam& ram, GuestLayout& out, Diagnostic& diag)
{
    const LinuxImage& img = *req.linux_image;
    if (img.image_size == 0 || img.copy_size > img.image_size)
        return fail(diag, Error::InvalidArgument, img.image_size, "guest layout: Image header not parsed (image_size 0x%llx)",
                    ull(img.image_size));
    if (img.image_size > largest_ram(ram))
        return fail(diag, Error::NoMemory, img.image_size,
                    "guest layout: the kernel needs %llu bytes (image_size 0x%llx) but the largest guest RAM range is "
                    "%llu bytes",
                    ull(img.image_size), ull(img.image_size), ull(largest_ram(ram)));
    if (place_linux_in_place(req, ram, out)) return {};

    // Two tries: with the kernel clear of the initrd's current place (the
    // initrd then stays), or only clear of the regions to keep (the initrd
    // moves first). Flags bit 3 clear wants the lowest base above all, so
    // it tries the second first. A failure reports the preferred try.
    const bool initrd_clear_first = img.place_anywhere;
    bool failed = false;
    Failure first{Error::NoMemory, img.image_size};
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool avoid_initrd = (attempt == 0) == initrd_clear_first;
        if (avoid_initrd && !req.has_initrd) continue;
        Diagnostic d;
        Status s = place_linux(req, ram, avoid_initrd, out, d);
        if (s) return s;
        if (!failed) {
            failed = true;
            first = s.failure();
            diag = d;
        }
    }
    return first;
}

Status plan_elf(const LayoutRequest& req, const SortedRam& ram, GuestLayout& out, Diagnostic& diag)
{
    const ElfImage& elf = *req.elf;
    if (elf.segment_count == 0 || elf.segment_count > ElfImage::kMaxSegments)
        return fail(diag, Error::InvalidArgument, elf.segment_count, "guest layout: ELF not parsed (%zu segments)",
                    elf.segment_count);
    KernelFootprint k;
    u64 low = ~u64{0}, high = 0;
    for (usize i = 0; i < elf.segment_count; ++i) {
        const ElfSegment& s = elf.segments[i];
        MemRange r{s.paddr, s.memsz};
        if (!in_ram(ram, r))
            return fail(diag, Error::OutOfRange, s.paddr,
                        "guest ELF: segment at 0x%llx size 0x%llx is not inside guest RAM (outside memory, or over the "
                        "hypervisor)",
                        ull(s.paddr), ull(s.memsz));
        for (const MemRange& keep : req.keep)
            if (ranges_overlap(r.base, r.size, keep.base, keep.size))
                return fail(diag, Error::Overlap, s.paddr,
                            "guest ELF: segment at 0x%llx size 0x%llx overlaps 0x%llx-0x%llx, which must be kept",
                            ull(s.paddr), ull(s.memsz), ull(keep.base), ull(last_byte(keep)));
        if (ranges_overlap(r.base, r.size, req.image_source.base, req.image_source.size))
            return fail(diag, Error::Overlap, s.paddr,
                        "guest ELF: segment at 0x%llx size 0x%llx overlaps the ELF file itself at 0x%llx size 0x%llx; "
                        "load the module elsewhere",
                        ull(s.paddr), ull(s.memsz), ull(req.image_source.base), ull(req.image_source.size));
        k.parts[k.count++] = r;
        if (s.paddr < low) low = s.paddr;
        if (last_byte(r) > high) high = last_byte(r);
    }
    GuestLayout l;
    l.is_elf = true;
    l.kernel_base = low;
    l.kernel_size = high - low + 1;
    l.entry = elf.entry_phys;
    Status s = place_rest(req, ram, k, l, diag);
    if (!s) return s;
    out = l;
    return {};
}

}  // namespace

Status plan_guest_layout(const LayoutRequest& req, GuestLayout& out, Diagnostic& diag)
{
    out = GuestLayout{};
    if ((req.linux_image == nullptr) == (req.elf == nullptr))
        return fail(diag, Error::InvalidArgument, 0, "guest layout: give exactly one kernel (an Image or an ELF)");
    SortedRam ram;
    if (Status s = sort_ram(req.ram, ram, diag); !s) return s;
    if (req.keep.size() > kMaxLayoutRanges)
        return fail(diag, Error::Unsupported, req.keep.size(), "guest layout: %zu regions to keep (at most %zu)",
                    req.keep.size(), kMaxLayoutRanges);
    if (req.dtb_size == 0 || req.dtb_size > kDtbBlockSize)
        return fail(diag, Error::InvalidArgument, req.dtb_size,
                    "guest layout: a DTB of %llu bytes (booting.rst allows at most 2 MiB)", ull(req.dtb_size));
    if (req.image_source.size != 0 && !well_formed(req.image_source))
        return fail(diag, Error::InvalidArgument, req.image_source.base, "guest layout: kernel module at 0x%llx size 0x%llx wraps",
                    ull(req.image_source.base), ull(req.image_source.size));
    if (req.has_initrd) {
        const MemRange& i = req.initrd_source;
        if (!well_formed(i))
            return fail(diag, Error::InvalidArgument, i.base, "guest layout: initrd at 0x%llx size 0x%llx is empty or wraps",
                        ull(i.base), ull(i.size));
        if (ranges_overlap(i.base, i.size, req.image_source.base, req.image_source.size))
            return fail(diag, Error::Overlap, i.base,
                        "guest layout: the initrd at 0x%llx size 0x%llx overlaps the kernel module at 0x%llx size 0x%llx",
                        ull(i.base), ull(i.size), ull(req.image_source.base), ull(req.image_source.size));
    }
    return req.linux_image != nullptr ? plan_linux(req, ram, out, diag) : plan_elf(req, ram, out, diag);
}

Status find_free_ram(const LayoutRequest& req, u64 size, u64 align, MemRange& out, Diagnostic& diag)
{
    SortedRam ram;
    if (Status s = sort_ram(req.ram, ram, diag); !s) return s;
    if (req.keep.size() > kMaxLayoutRanges)
        return fail(diag, Error::Unsupported, req.keep.size(), "guest layout: %zu regions to keep (at most %zu)",
                    req.keep.size(), kMaxLayoutRanges);
    if (size == 0 || align == 0 || (align & (align - 1)) != 0)
        return fail(diag, Error::InvalidArgument, size, "scratch: %llu bytes aligned to %llu is not a request", ull(size),
                    ull(align));
    RangeSet blocked;
    blocked.add(req.keep);
    blocked.add(req.image_source);
    if (req.has_initrd) blocked.add(req.initrd_source);
    u64 start = 0;
    if (!place_highest(ram, align, 0, size, blocked, start))
        return fail(diag, Error::NoMemory, size,
                    "scratch: no %llu free bytes in guest RAM clear of the boot modules and the regions to keep", ull(size));
    out = MemRange{start, size};
    return {};
}

namespace {

Result<u8*> map_or_fail(const PhysAccess& phys, u64 addr, u64 size, Diagnostic& diag, const char* what)
{
    void* p = phys.map(phys.ctx, addr, size);
    if (p == nullptr)
        return fail(diag, Error::OutOfRange, addr, "guest load: cannot reach the %s at 0x%llx size 0x%llx", what, ull(addr),
                    ull(size));
    return static_cast<u8*>(p);
}

}  // namespace

Status load_guest(const LayoutRequest& req, const GuestLayout& layout, const GuestPayload& payload,
                  const PhysAccess& phys, Diagnostic& diag)
{
    if (phys.map == nullptr || payload.image == nullptr)
        return fail(diag, Error::InvalidArgument, 0, "guest load: no memory access or no kernel bytes");

    // The initrd first: the kernel may be going where it is now.
    if (layout.has_initrd && !layout.initrd_in_place && layout.initrd_size != 0) {
        if (payload.initrd == nullptr || payload.initrd_size != layout.initrd_size)
            return fail(diag, Error::InvalidArgument, payload.initrd_size,
                        "guest load: initrd of %zu bytes, but %llu were planned", payload.initrd_size,
                        ull(layout.initrd_size));
        auto dst = map_or_fail(phys, layout.initrd_base, layout.initrd_size, diag, "initrd");
        if (!dst) return dst.failure();
        __builtin_memmove(*dst, payload.initrd, layout.initrd_size);
    }

    if (req.linux_image != nullptr && !layout.is_elf) {
        const LinuxImage& img = *req.linux_image;
        if (payload.image_size < img.copy_size)
            return fail(diag, Error::InvalidArgument, payload.image_size,
                        "guest load: Image of %zu bytes, but its header was parsed from %llu", payload.image_size,
                        ull(img.copy_size));
        if (layout.kernel_in_place) return {};
        auto dst = map_or_fail(phys, layout.kernel_base, img.copy_size, diag, "kernel");
        if (!dst) return dst.failure();
        __builtin_memmove(*dst, payload.image, img.copy_size);
        return {};
    }
    if (req.elf == nullptr || !layout.is_elf)
        return fail(diag, Error::InvalidArgument, 0, "guest load: the layout was not planned for this kernel");
    for (usize i = 0; i < req.elf->segment_count; ++i) {
        const ElfSegment& s = req.elf->segments[i];
        if (!guest::within(s.offset, s.filesz, payload.image_size))
            return fail(diag, Error::InvalidArgument, s.offset, "guest load: ELF segment %zu lies past the %zu bytes given", i,
                        payload.image_size);
        auto dst = map_or_fail(phys, s.paddr, s.memsz, diag, "ELF segment");
        if (!dst) return dst.failure();
        __builtin_memmove(*dst, payload.image + s.offset, s.filesz);
        if (phys.zero != nullptr) phys.zero(phys.ctx, *dst + s.filesz, s.memsz - s.filesz);
        else __builtin_memset(*dst + s.filesz, 0, s.memsz - s.filesz);
    }
    return {};
}

}  // namespace passage
