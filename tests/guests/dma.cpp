// DMA under the SMMU (issue 13), with QEMU's edu device (1234:11e8): it
// copies between a DMA address and its 4 KiB buffer at device address
// 0x40000 (BAR0: 0x80 source, 0x88 destination, 0x90 count, 0x98 command:
// bit 0 run, bit 1 buffer-to-memory; run clears when the copy is done).
//   dma-copy:          page A -> buffer -> page B, through the guest's stage 2
//   dma-read-blocked:  passage's region -> buffer -> page B: nothing of
//                      passage arrives (the SMMU faults it; passage logs it)
//   dma-write-blocked: buffer -> passage's region: passage keeps running and
//                      logs the fault (the boot test reads its log)
//   dma-bar:           page A -> buffer -> ivshmem BAR2 at its guest address,
//                      before and after the guest moves that BAR (the SMMU
//                      follows stage 2); DMA to the old address after the
//                      move lands nowhere (the SMMU's TLB was invalidated)
//   smmu-hidden:       no SMMU node or iommu-map in the DTB, and QEMU virt's
//                      SMMU registers (0x9050000) abort
#include "checks.h"
#include "console.h"
#include "exceptions.h"
#include "mmu.h"

namespace guest {

namespace {

constexpr u64 kPage = 4096;
constexpr u64 kEduBuffer = 0x40000;
constexpr u32 kCopy = 256;                 // QEMU 7.2's edu aborts on the buffer's last byte: stay clear
constexpr u64 kQemuVirtSmmu = 0x9050000;   // where QEMU virt puts its SMMUv3 (iommu=smmuv3)

alignas(kPage) u8 g_page_a[kPage];
alignas(kPage) u8 g_page_b[kPage];

const pci::Function* find_edu(const Context& ctx)
{
    for (unsigned i = 0; ctx.pci_scanned && i < ctx.pci.count; ++i)
        if (ctx.pci.fns[i].vendor == 0x1234 && ctx.pci.fns[i].device == 0x11e8) return &ctx.pci.fns[i];
    return nullptr;
}

struct Edu {
    u64 mmio;
    // One copy; false if the device never finished (1 s).
    bool copy(u64 src, u64 dst, u32 count, bool to_memory)
    {
        dsb_sy();
        mmio_write64(mmio + 0x80, src);
        mmio_write64(mmio + 0x88, dst);
        mmio_write64(mmio + 0x90, count);
        mmio_write64(mmio + 0x98, to_memory ? 3 : 1);
        u64 deadline = deadline_after_ms(1000);
        while (mmio_read64(mmio + 0x98) & 1)
            if (expired(deadline)) return false;
        dsb_sy();
        return true;
    }
};

void fill(u8* p, u8 seed)
{
    for (u64 i = 0; i < kPage; ++i) p[i] = u8(seed + i * 7);
}

bool same(const u8* a, const u8* b, u64 n)
{
    for (u64 i = 0; i < n; ++i)
        if (a[i] != b[i]) return false;
    return true;
}

// The gap in guest RAM is passage's own region (its image starts there).
u64 hypervisor_region(const GuestPlatform& p)
{
    for (unsigned i = 0; i + 1 < p.mem_count; ++i)
        if (p.mem[i].end() < p.mem[i + 1].base) return p.mem[i].end();
    return 0;
}

bool setup(Context& ctx, Edu& edu, const char* const* names, unsigned n)
{
    const pci::Function* f = find_edu(ctx);
    const char* why = ctx.standalone ? "no hypervisor: no SMMU to confine DMA"
                      : !f           ? "no edu (1234:11e8) attached"
                      : !f->bars[0].present ? "edu BAR0 is not assigned" : nullptr;
    if (why) {
        for (unsigned i = 0; i < n; ++i) skip(names[i], "%s", why);
        return false;
    }
    const GuestPlatform& p = ctx.plat;
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    u64 bar = pci::cpu_address(p, f->bars[0].addr);
    static u64 mapped = 0;  // the second check finds it mapped by the first
    if (mapped != bar && !mmu::map(bar, bar, 1 << 20, mmu::Mem::DeviceNGnRE)) {
        for (unsigned i = 0; i < n; ++i) fail(names[i], "cannot map edu BAR0 0x%lx", bar);
        return false;
    }
    mapped = bar;
    // Memory decoding and bus mastering.
    ecam.write32(f->bus, f->dev, f->fn, 0x04, (ecam.read32(f->bus, f->dev, f->fn, 0x04) & 0xffff) | 0x6);
    edu.mmio = bar;
    info("edu %02x:%02x.%u BAR0 0x%lx, ident 0x%x", f->bus, f->dev, f->fn, bar, mmio_read32(bar));
    return true;
}

}  // namespace

void check_dma(Context& ctx)
{
    static const char* const kNames[] = {"dma-copy", "dma-read-blocked", "dma-write-blocked"};
    Edu edu{};
    if (!setup(ctx, edu, kNames, 3)) return;
    const u64 a = reinterpret_cast<u64>(g_page_a), b = reinterpret_cast<u64>(g_page_b);

    // A -> buffer -> B: the SMMU translates through the guest's stage 2.
    fill(g_page_a, 0x5a);
    for (u64 i = 0; i < kPage; ++i) g_page_b[i] = 0;
    if (!edu.copy(a, kEduBuffer, kCopy, false) || !edu.copy(kEduBuffer, b, kCopy, true))
        fail("dma-copy", "edu never finished a copy");
    else if (!same(g_page_a, g_page_b, kCopy)) fail("dma-copy", "page B 0x%lx does not hold page A's bytes after the copy", b);
    else pass("dma-copy");

    const u64 hyp = hypervisor_region(ctx.plat);
    if (!hyp) {
        fail("dma-read-blocked", "no gap in guest RAM: cannot find passage's region");
        fail("dma-write-blocked", "no gap in guest RAM: cannot find passage's region");
        return;
    }
    // passage's region -> buffer -> B. The buffer still holds A's bytes;
    // what QEMU leaves there on a fault is zeros or A's bytes, never
    // passage's image (its arm64 Image header has "ARM\x64" at +56).
    for (u64 i = 0; i < kPage; ++i) g_page_b[i] = 0xee;
    info("DMA from passage's region 0x%lx into the edu buffer", hyp);
    if (!edu.copy(hyp, kEduBuffer, kCopy, false) || !edu.copy(kEduBuffer, b, kCopy, true)) {
        fail("dma-read-blocked", "edu never finished a copy");
    } else {
        bool zeros = true;
        for (u64 i = 0; i < kCopy; ++i) zeros = zeros && g_page_b[i] == 0;
        const bool magic = g_page_b[56] == 'A' && g_page_b[57] == 'R' && g_page_b[58] == 'M' && g_page_b[59] == 0x64;
        if (magic) fail("dma-read-blocked", "passage's image header arrived in guest memory through the edu buffer");
        else if (!zeros && !same(g_page_a, g_page_b, kCopy))
            fail("dma-read-blocked", "the edu buffer changed: byte 0 is 0x%x, expected A's 0x%x or 0", g_page_b[0], g_page_a[0]);
        else pass("dma-read-blocked");
    }

    // buffer -> passage's region: refused; passage goes on (this guest
    // would not get another line out otherwise) and logs the fault.
    fill(g_page_a, 0xc3);
    info("DMA from the edu buffer into passage's region 0x%lx", hyp + kPage);
    if (!edu.copy(a, kEduBuffer, kCopy, false) || !edu.copy(kEduBuffer, hyp + kPage, kCopy, true))
        return fail("dma-write-blocked", "edu never finished a copy");
    for (u64 i = 0; i < kPage; ++i) g_page_b[i] = 0;
    if (!edu.copy(kEduBuffer, b, kCopy, true) || !same(g_page_a, g_page_b, kCopy))
        return fail("dma-write-blocked", "the edu buffer no longer holds what was written to it");
    pass("dma-write-blocked");
}

void check_dma_bar(Context& ctx)
{
    const char* name = "dma-bar";
    Edu edu{};
    if (!setup(ctx, edu, &name, 1)) return;
    pci::Function* f = nullptr;
    for (unsigned i = 0; i < ctx.pci.count && !f; ++i)
        if (ctx.pci.fns[i].vendor == 0x1af4 && ctx.pci.fns[i].device == 0x1110) f = &ctx.pci.fns[i];
    if (!f) return skip(name, "no ivshmem-plain (1af4:1110) attached");
    const GuestPlatform& p = ctx.plat;
    if (p.probe_only) return skip(name, "linux,pci-probe-only: the BAR cannot move");
    pci::Bar& bar = f->bars[2];
    pci::Ecam ecam(p.ecam_base, p.bus_first, p.bus_last);
    const PciWindow* w = nullptr;
    for (unsigned i = 0; i < p.window_count && !w; ++i)
        if (p.windows[i].space == PciWindow::Mem64 && bar.addr >= p.windows[i].pci_base &&
            bar.addr < p.windows[i].pci_base + p.windows[i].size)
            w = &p.windows[i];
    if (!bar.present || !bar.is64 || f->bus != p.bus_first || !w)
        return skip(name, "ivshmem BAR2 0x%lx is not a 64-bit BAR in the host bridge's 64-bit window", bar.addr);
    const u64 a = reinterpret_cast<u64>(g_page_a), b = reinterpret_cast<u64>(g_page_b);
    constexpr u64 kOff = 0x2000;  // a page of BAR2 the ivshmem checks do not use
    const u64 old = bar.addr, old_cpu = pci::cpu_address(p, old);
    (void)mmu::map(old_cpu + kOff, old_cpu + kOff, kPage, mmu::Mem::DeviceNGnRE);  // ivshmem-nc mapped it already, maybe
    auto bar_holds = [&](u64 va, u8 seed) {
        fill(g_page_b, seed);
        for (u32 i = 0; i < kCopy; i += 4)
            if (mmio_read32(va + i) != *reinterpret_cast<u32*>(g_page_b + i)) return false;
        return true;
    };
    // Before the move: A -> buffer -> BAR2 + 0x2000 (an SMMU TLB entry for it now exists).
    fill(g_page_a, 0x11);
    if (!edu.copy(a, kEduBuffer, kCopy, false) || !edu.copy(kEduBuffer, old_cpu + kOff, kCopy, true))
        return fail(name, "edu never finished a copy");
    if (!bar_holds(old_cpu + kOff, 0x11)) {
        for (u64 i = 0; i < kPage; ++i) g_page_b[i] = 0;
        bool back = edu.copy(old_cpu + kOff, kEduBuffer, kCopy, false) && edu.copy(kEduBuffer, b, kCopy, true);
        info("BAR2 word 0x%x; DMA back from it %s: 0x%x; page A 0x%x", mmio_read32(old_cpu + kOff), back ? "done" : "unfinished",
             *reinterpret_cast<u32*>(g_page_b), *reinterpret_cast<u32*>(g_page_a));
        return fail(name, "DMA into BAR2 at 0x%lx did not arrive", old_cpu + kOff);
    }
    info("DMA into ivshmem BAR2 at 0x%lx arrived", old_cpu + kOff);

    // The move, as an OS does it: decoding off, the BAR written, decoding on.
    static pci::BarMap others;
    pci::size_bars(ecam, ctx.pci, f, 2, others);
    const u64 size = pci::bar_size(ecam, *f, 2);
    const u64 target = pci::free_place(w->pci_base, w->size, size, old, others);
    if (!target) return fail(name, "no free 0x%lx bytes in the 64-bit window", size);
    pci::disable_memory(ecam, *f);
    pci::write_bar(ecam, *f, 2, target);
    pci::enable_memory(ecam, *f);
    const u64 cpu = pci::cpu_address(p, target);
    if (!mmu::map(cpu + kOff, cpu + kOff, kPage, mmu::Mem::DeviceNGnRE)) return fail(name, "cannot map 0x%lx", cpu + kOff);
    bool moved_ok = bar_holds(cpu + kOff, 0x11);  // the same memory, at its new guest address
    fill(g_page_a, 0x22);
    bool copied = edu.copy(a, kEduBuffer, kCopy, false) && edu.copy(kEduBuffer, cpu + kOff, kCopy, true);
    bool arrived = copied && bar_holds(cpu + kOff, 0x22);
    // The old guest address is no BAR any more: a DMA there must not reach
    // the BAR through a translation the SMMU kept.
    fill(g_page_a, 0x33);
    bool copied_old = edu.copy(a, kEduBuffer, kCopy, false) && edu.copy(kEduBuffer, old_cpu + kOff, kCopy, true);
    bool stale = copied_old && !bar_holds(cpu + kOff, 0x22);
    pci::disable_memory(ecam, *f);
    pci::write_bar(ecam, *f, 2, old);  // back, for the checks after this one
    pci::enable_memory(ecam, *f);
    (void)b;
    if (!moved_ok) return fail(name, "BAR2 moved to 0x%lx does not show its memory there", cpu);
    if (!copied || !copied_old) return fail(name, "edu never finished a copy");
    if (!arrived) return fail(name, "DMA to BAR2 at its new guest address 0x%lx did not arrive", cpu + kOff);
    if (stale) return fail(name, "DMA to BAR2's old address 0x%lx still reached it after the move", old_cpu + kOff);
    info("BAR2 moved 0x%lx -> 0x%lx: DMA to the new address arrives, to the old one does not", old, target);
    pass(name);
}

void check_smmu_hidden(Context& ctx)
{
    const char* name = "smmu-hidden";
    if (ctx.standalone || !find_edu(ctx)) return skip(name, "not an SMMU run (no edu attached)");
    const GuestPlatform& p = ctx.plat;
    if (p.smmu_node) return fail(name, "the device tree has an arm,smmu-v3 node");
    if (p.iommu_refs) return fail(name, "the device tree has %u iommu-map/iommus properties", p.iommu_refs);
    if (!mmu::map(kQemuVirtSmmu, kQemuVirtSmmu, kPage, mmu::Mem::DeviceNGnRE))
        return fail(name, "cannot map 0x%lx at stage 1", kQemuVirtSmmu);
    expect_abort();
    u32 value = 0;
    asm volatile("ldr %w0, [%1]" : "+r"(value) : "r"(kQemuVirtSmmu) : "memory");
    if (!take_abort_record().taken) return fail(name, "SMMU IDR0 at 0x%lx read 0x%x: its registers reach the guest", kQemuVirtSmmu, value);
    expect_abort();
    asm volatile("str %w0, [%1]" ::"r"(0u), "r"(kQemuVirtSmmu + 0x20) : "memory");  // CR0 = 0 would turn it off
    if (!take_abort_record().taken) return fail(name, "a write to SMMU CR0 did not abort");
    info("no SMMU node or iommu-map in the device tree; SMMU registers at 0x%lx abort", kQemuVirtSmmu);
    pass(name);
}

}  // namespace guest
