// Where the guest's kernel, initrd and device tree go in guest RAM, and the
// copies that put them there.
//
// Rules (Documentation/arch/arm64/booting.rst):
// - A Linux Image sits text_offset bytes above a 2 MiB-aligned base; with
//   flags bit 3 clear that base should be as close as possible to the base
//   of DRAM, with it set it may be anywhere. So with bit 3 set a kernel
//   module already on such a base stays where it is when image_size bytes
//   from there (BSS included) lie inside guest RAM, clear of the regions
//   to keep and of the initrd; otherwise it is copied to the lowest base
//   that fits.
// - The DTB is 8-byte aligned, at most 2 MiB, and must not share a 2 MiB
//   block with memory that needs other attributes: it gets a 2 MiB block of
//   its own, wholly inside guest RAM.
// - An ELF test guest is loaded at its segments' physical addresses, which
//   must lie in guest RAM.
//
// Boot modules sit somewhere in RAM when passage starts. Nothing is placed
// over a region the caller says must be kept (the host DTB, reserved
// memory), nor over a module that has not been copied yet. The copies run
// initrd first, then the kernel, each with memmove semantics, so a module
// may overlap its own destination, and the kernel may land where the initrd
// was once the initrd has moved.
#pragma once

#include <span>

#include "passage/diagnostic.h"
#include "passage/guest/elf.h"
#include "passage/guest/image.h"
#include "passage/platform.h"
#include "passage/result.h"

namespace passage {

constexpr u64 kDtbBlockSize = 2 * MiB;
// Guest RAM ranges and kept regions, each: the host DTB, every reserved
// range and every spin-table release page fit (1 + 16 + 8).
constexpr usize kMaxLayoutRanges = 32;

struct LayoutRequest {
    // Guest RAM, already without the hypervisor's own memory. Any order.
    std::span<const MemRange> ram;
    // The kernel: exactly one of these.
    const LinuxImage* linux_image = nullptr;
    const ElfImage* elf = nullptr;
    // Where the kernel's file sits now; size 0 when it is not in RAM the
    // guest could get (e.g. the built-in test guest inside passage's image).
    MemRange image_source;
    bool has_initrd = false;
    MemRange initrd_source;  // where the initrd sits now, and its size
    // The guest DTB's size; at most 2 MiB (the block is reserved whole).
    u64 dtb_size = kDtbBlockSize;
    // Regions that must never be overwritten: the host DTB, /memreserve/ and
    // /reserved-memory ranges, anything else the caller still needs.
    std::span<const MemRange> keep;
};

struct GuestLayout {
    bool is_elf = false;
    bool kernel_in_place = false;  // a Linux Image left where it was: no copy needed
    u64 kernel_base = 0;           // Linux: the load address (2 MiB base + text_offset); ELF: lowest segment
    u64 kernel_size = 0;           // Linux: image_size; ELF: lowest segment start to highest segment end
    u64 entry = 0;                 // physical address of the first instruction
    bool has_initrd = false;
    bool initrd_in_place = false;  // left where it was: no copy needed
    u64 initrd_base = 0;
    u64 initrd_size = 0;
    u64 dtb_base = 0;  // 2 MiB aligned; [dtb_base, dtb_base + 2 MiB) holds only the DTB
    u64 dtb_size = kDtbBlockSize;  // room for build_guest_dtb (the whole block)
};

// Plans the layout, or says what does not fit, naming the address and size.
Status plan_guest_layout(const LayoutRequest& req, GuestLayout& out, Diagnostic& diag);

// `size` bytes of guest RAM, `align`-aligned and as high as they fit, that
// are free by the rules above: clear of the regions to keep and of the
// modules' current places (the layout's own outputs are not known yet).
// Scratch passage may use before the guest is loaded; the caller clears it
// before the guest runs.
Status find_free_ram(const LayoutRequest& req, u64 size, u64 align, MemRange& out, Diagnostic& diag);

// Physical memory as the copies see it: map(ctx, phys, size) returns a
// pointer through which [phys, phys + size) can be read and written as one
// contiguous range, or nullptr. On the target it is the EL2 identity map; in
// host tests an arena.
// zero(ctx, p, n), if given, clears n bytes at a pointer map gave (an ELF
// segment's tail): the target zeroes RAM by cache blocks (DC ZVA), which
// portable code cannot; without it, memset.
struct PhysAccess {
    void* (*map)(void* ctx, u64 phys, u64 size) = nullptr;
    void* ctx = nullptr;
    void (*zero)(void* ctx, u8* p, usize n) = nullptr;
};

// The bytes to load: the kernel file (an Image or ELF, as parsed into the
// request) and the initrd, wherever they are now.
struct GuestPayload {
    const u8* image = nullptr;
    usize image_size = 0;
    const u8* initrd = nullptr;
    usize initrd_size = 0;
};

// Copies the initrd, then the kernel, to the planned addresses with memmove
// semantics (either is skipped when it stays in place); zeroes each ELF
// segment's memsz - filesz tail. Does not write the DTB (build_guest_dtb
// does, into [dtb_base, dtb_base + dtb_size), after this) and does no cache
// maintenance: the caller cleans the kernel, initrd and DTB ranges to the
// point of coherency before entering the guest.
Status load_guest(const LayoutRequest& req, const GuestLayout& layout, const GuestPayload& payload,
                  const PhysAccess& phys, Diagnostic& diag);

}  // namespace passage
