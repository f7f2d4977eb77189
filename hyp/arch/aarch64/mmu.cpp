#include "mmu.h"

#include "passage/log.h"
#include "passage/mm/el2_layout.h"
#include "sysreg.h"

namespace passage::arch {
namespace {

using ull = unsigned long long;

alignas(4096) __attribute__((section(".pool.el2"))) u64 g_el2_tables[mm::kEl2TablePages * 512];

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

}  // namespace

unsigned pa_bits()
{
    unsigned bits = parange_bits(read_id_aa64mmfr0_el1() & 0xf);
    return bits > 48 ? 48 : bits;
}

Result<usize> enable_el2_mmu(const BootInfo& b, const Platform& p)
{
    mm::El2PageTable t(g_el2_tables, mm::kEl2TablePages);
    Diagnostic diag;
    if (auto s = mm::build_el2_map(t, b, p, diag); !s) {
        log_error("%s", diag.text);
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
