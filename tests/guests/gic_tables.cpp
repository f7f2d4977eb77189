// gic-tables: the GIC walks tables at addresses the guest programs, and no
// SMMU stands in its way, so passage vets them (issue 13). On QEMU virt
// (redistributors at 0x080a0000, ITS at 0x08080000): GICR_PENDBASER and
// GITS_CBASER pointed at passage's region are not taken (they read back
// unchanged); pointed at guest RAM they are. Nothing is enabled meanwhile,
// so the GIC touches no memory either way.
#include "checks.h"
#include "console.h"
#include "exceptions.h"
#include "mmu.h"

namespace guest {

namespace {

constexpr u64 kPage = 4096;
constexpr u64 kQemuVirtRedist = 0x080a0000;
constexpr u64 kQemuVirtIts = 0x08080000;

u64 pa_bits(u64 v, unsigned lo) { return (v >> lo) & ((u64{1} << (48 - lo)) - 1); }

// Reads 32 bits, or reports that the read aborted.
bool try_read32(u64 va, u32& value)
{
    expect_abort();
    value = 0;
    asm volatile("ldr %w0, [%1]" : "+r"(value) : "r"(va) : "memory");
    return !take_abort_record().taken;
}

}  // namespace

void check_gic_tables(Context& ctx)
{
    const char* name = "gic-tables";
    const GuestPlatform& p = ctx.plat;
    if (ctx.standalone) return skip(name, "no hypervisor");
    // Run on the DMA-isolation machine only (QEMU's edu attached), so the
    // other boot tests' counts stay as they are.
    bool edu = false;
    for (unsigned i = 0; ctx.pci_scanned && i < ctx.pci.count; ++i)
        edu = edu || (ctx.pci.fns[i].vendor == 0x1234 && ctx.pci.fns[i].device == 0x11e8);
    if (!edu) return skip(name, "not a DMA-isolation run (no edu attached)");
    u64 hole = 0;
    for (unsigned i = 0; i + 1 < p.mem_count && !hole; ++i)
        if (p.mem[i].end() < p.mem[i + 1].base) hole = p.mem[i].end();
    if (!hole || p.mem_count == 0) return skip(name, "no gap in guest RAM: cannot find passage's region");
    if (!mmu::map(kQemuVirtRedist, kQemuVirtRedist, 16 * kPage, mmu::Mem::DeviceNGnRE) ||
        !mmu::map(kQemuVirtRedist + 0xf000, kQemuVirtRedist + 0xf000, kPage, mmu::Mem::DeviceNGnRE))
        (void)0;  // the second call fails if the first covered it
    u32 pidr2 = 0;
    if (!try_read32(kQemuVirtRedist + 0xffe8, pidr2) || ((pidr2 >> 4) & 0xf) < 3)
        return skip(name, "no GICv3 redistributor at 0x%lx (QEMU virt, gic-version=3)", kQemuVirtRedist);

    // A valid place: the last 64 KiB of guest RAM (nothing is enabled, so
    // the GIC never reads it here).
    const MemRange& top = p.mem[p.mem_count - 1];
    const u64 ram_table = (top.end() - 0x10000) & ~u64{0xffff};
    const u64 pend = kQemuVirtRedist + 0x78;
    const u64 orig = mmio_read64(pend);
    mmio_write64(pend, hole & ~u64{0xffff});
    const u64 after_bad = mmio_read64(pend);
    mmio_write64(pend, ram_table);
    const u64 after_good = mmio_read64(pend);
    if (pa_bits(orig, 16) != 0) mmio_write64(pend, orig);  // 0 (reset) is not guest RAM: it stays refused
    info("GICR_PENDBASER 0x%lx: passage's 0x%lx -> reads 0x%lx; guest RAM 0x%lx -> reads 0x%lx", orig, hole, after_bad,
         ram_table, after_good);
    if (pa_bits(after_bad, 16) == pa_bits(hole, 16))
        return fail(name, "GICR_PENDBASER took passage's address 0x%lx", hole);
    if (pa_bits(after_good, 16) != pa_bits(ram_table, 16))
        return fail(name, "GICR_PENDBASER refused guest RAM 0x%lx (reads 0x%lx)", ram_table, after_good);

    // The ITS command queue, if there is an ITS.
    (void)mmu::map(kQemuVirtIts, kQemuVirtIts, 16 * kPage, mmu::Mem::DeviceNGnRE);
    if (try_read32(kQemuVirtIts + 0xffe8, pidr2) && ((pidr2 >> 4) & 0xf) >= 3) {
        const u64 cbaser = kQemuVirtIts + 0x80;
        const u64 corig = mmio_read64(cbaser);
        mmio_write64(cbaser, (u64{1} << 63) | (hole & ~u64{0xfff}));
        const u64 cbad = mmio_read64(cbaser);
        if (pa_bits(corig, 12) != 0) mmio_write64(cbaser, corig);
        info("GITS_CBASER 0x%lx: Valid at passage's 0x%lx -> reads 0x%lx", corig, hole, cbad);
        if (pa_bits(cbad, 12) == pa_bits(hole, 12)) return fail(name, "GITS_CBASER took passage's address 0x%lx", hole);
    }
    pass(name);
}

}  // namespace guest
