#include "mmu.h"

#include "passage/log.h"
#include "passage/mm/el2_map.h"
#include "sysreg.h"

namespace passage::arch {
namespace {

using ull = unsigned long long;
using mm::El2Attr;

constexpr usize kTablePages = 64;
alignas(4096) __attribute__((section(".pool.el2"))) u64 g_el2_tables[kTablePages * 512];

// TCR_EL2 (E2H = 0), Arm ARM D17.2.131.
using T0SZ = Field<5, 0>;
using IRGN0 = Field<9, 8>;
using ORGN0 = Field<11, 10>;
using SH0 = Field<13, 12>;
using TG0 = Field<15, 14>;
using PS = Field<18, 16>;
constexpr u64 kTcrRes1 = (u64{1} << 31) | (u64{1} << 23);

// SCTLR_EL2 (E2H = 0) RES1 bits, and the bits passage sets.
constexpr u64 kSctlrRes1 = 0x30C50830;
constexpr u64 kSctlrM = 1u << 0, kSctlrC = 1u << 2, kSctlrSA = 1u << 3, kSctlrI = 1u << 12, kSctlrWXN = 1u << 19;

struct MmuRegs {
    u64 mair, tcr, ttbr, sctlr;
};
MmuRegs g_mmu;

void mmu_on(const MmuRegs& r)
{
    write_mair_el2(r.mair);
    write_tcr_el2(r.tcr);
    write_ttbr0_el2(r.ttbr);
    isb();
    tlbi_alle2();
    dsb_sy();
    ic_iallu();
    dsb_sy();
    isb();
    write_sctlr_el2(r.sctlr);
    isb();
}

unsigned parange_bits(u64 parange)
{
    constexpr unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
    return parange < 7 ? bits[parange] : 48;
}

Status map_mmio(mm::El2PageTable& t, const MemRange& r, El2Attr attr, const char* what)
{
    if (r.size == 0) return {};
    u64 base = align_down(r.base, kPageSize);
    u64 size = align_up(r.base + r.size, kPageSize) - base;
    auto s = t.map(base, size, attr);
    if (!s) log_error("EL2 map: %s at 0x%llx (+0x%llx): %s", what, (ull)r.base, (ull)r.size, error_name(s.error()));
    return s;
}

Status map_ram(mm::El2PageTable& t, const BootInfo& b, const MemRange& r)
{
    // RAM around the image is RW XN; the image itself gets its own types.
    u64 lo = align_up(r.base, kPageSize), hi = align_down(r.end(), kPageSize);
    if (b.image_base > lo && b.image_base < hi) {
        if (auto s = t.map(lo, b.image_base - lo, El2Attr::ReadWrite); !s) return s;
    }
    if (b.image_end > lo && b.image_end < hi) {
        if (auto s = t.map(b.image_end, hi - b.image_end, El2Attr::ReadWrite); !s) return s;
    }
    if (b.image_base >= hi || b.image_end <= lo) return t.map(lo, hi - lo, El2Attr::ReadWrite);
    return {};
}

}  // namespace

unsigned pa_bits()
{
    unsigned bits = parange_bits(read_id_aa64mmfr0_el1() & 0xf);
    return bits > 48 ? 48 : bits;
}

Result<usize> enable_el2_mmu(const BootInfo& b, const Platform& p)
{
    mm::El2PageTable t(g_el2_tables, kTablePages);
    if (auto s = t.map(b.image_base, b.text_end - b.image_base, El2Attr::Code); !s) return s.failure();
    if (auto s = t.map(b.text_end, b.rodata_end - b.text_end, El2Attr::ReadOnly); !s) return s.failure();
    if (auto s = t.map(b.rodata_end, b.image_end - b.rodata_end, El2Attr::ReadWrite); !s) return s.failure();
    for (usize i = 0; i < p.memory_count; ++i)
        if (auto s = map_ram(t, b, p.memory[i]); !s) return s.failure();

    if (auto s = map_mmio(t, {p.uart.base, p.uart.size}, El2Attr::Device, "console"); !s) return s.failure();
    const Gic& g = p.gic;
    if (auto s = map_mmio(t, g.dist, El2Attr::Device, "GIC distributor"); !s) return s.failure();
    for (usize i = 0; i < g.redist_count; ++i)
        if (auto s = map_mmio(t, g.redist[i], El2Attr::Device, "GIC redistributors"); !s) return s.failure();
    for (usize i = 0; i < g.its_count; ++i)
        if (auto s = map_mmio(t, g.its[i], El2Attr::Device, "GIC ITS"); !s) return s.failure();
    if (g.version == GicVersion::V2)
        if (auto s = map_mmio(t, g.cpu_if, El2Attr::Device, "GIC CPU interface"); !s) return s.failure();
    for (usize i = 0; i < p.smmu_count; ++i)
        if (auto s = map_mmio(t, p.smmus[i].reg, El2Attr::Device, "SMMUv3"); !s) return s.failure();
    for (usize i = 0; i < p.bridge_count; ++i) {
        const PciHostBridge& hb = p.bridges[i];
        if (auto s = map_mmio(t, {hb.ecam_base, hb.ecam_size}, El2Attr::DeviceStrict, "ECAM"); !s) return s.failure();
        // The windows: passage forwards the guest's accesses to trapped
        // BARs (sub-page ones, I/O ports) to the physical BARs there.
        for (usize w = 0; w < hb.window_count && w < PciHostBridge::kMaxWindows; ++w)
            if (auto s = map_mmio(t, {hb.windows[w].cpu_addr, hb.windows[w].size}, El2Attr::Device, "PCI window"); !s)
                return s.failure();
    }

    u64 parange = read_id_aa64mmfr0_el1() & 0xf;
    u64 ps = parange > 5 ? 5 : parange;  // passage uses at most 48-bit PAs
    u64 tcr = kTcrRes1 | T0SZ::make(16) | IRGN0::make(1) | ORGN0::make(1) | SH0::make(3) | TG0::make(0) | PS::make(ps);

    // Everything written with the MMU off went straight to memory; drop any
    // stale lines before the caches come on.
    dcache_clean_inval_poc(b.image_base, b.image_end - b.image_base);
    g_mmu = {mm::kMairEl2, tcr, t.root(), kSctlrRes1 | kSctlrM | kSctlrC | kSctlrSA | kSctlrI | kSctlrWXN};
    mmu_on(g_mmu);
    return t.pages_used();
}

void el2_mmu_publish()
{
    dcache_clean_inval_poc(reinterpret_cast<u64>(&g_mmu), sizeof g_mmu);
    dcache_clean_inval_poc(reinterpret_cast<u64>(g_el2_tables), sizeof g_el2_tables);
}

void el2_mmu_on_secondary() { mmu_on(g_mmu); }

}  // namespace passage::arch
