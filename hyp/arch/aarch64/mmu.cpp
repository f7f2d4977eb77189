#include "mmu.h"

#include "asm_defs.h"
#include "passage/log.h"
#include "passage/mm/el2_layout.h"
#include "sysreg.h"
#include "sysreg_fields.h"

extern "C" {
extern char __relro_start[], __bss_end[], __early_pool_start[], __early_pool_end[];
extern unsigned char passage_stacks[][STACK_SIZE];
}

// Every CPU turns its MMU on from these (guest_entry.S: the boot CPU here,
// a secondary before it touches its stack). Cleaned to memory for the
// secondaries by el2_mmu_publish.
extern "C" {
passage::arch::MmuRegs passage_el2_mmu;
}

namespace passage::arch {
namespace {

using ull = unsigned long long;

alignas(4096) __attribute__((section(".pool.el2"))) u64 g_el2_tables[mm::kEl2TablePages * 512];


static_assert(__builtin_offsetof(MmuRegs, mair) == MMU_REGS_MAIR && __builtin_offsetof(MmuRegs, tcr) == MMU_REGS_TCR);
static_assert(__builtin_offsetof(MmuRegs, ttbr) == MMU_REGS_TTBR && __builtin_offsetof(MmuRegs, sctlr) == MMU_REGS_SCTLR);

unsigned parange_bits(u64 parange)
{
    constexpr unsigned bits[] = {32, 36, 40, 42, 44, 48, 52};
    return parange < 7 ? bits[parange] : 48;
}

}  // namespace

unsigned pa_bits()
{
    unsigned bits = parange_bits(id::MMFR0_PARange::get(read_id_aa64mmfr0_el1()));
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

    u64 parange = id::MMFR0_PARange::get(read_id_aa64mmfr0_el1());
    u64 ps = parange > 5 ? 5 : parange;  // passage uses at most 48-bit PAs
    u64 tcr = tcr::kEl2Res1 | tcr::T0SZ::make(16) | tcr::IRGN0::make(tcr::kWriteBack) | tcr::ORGN0::make(tcr::kWriteBack) |
              tcr::SH0::make(tcr::kInnerShare) | tcr::TG0::make(tcr::kGranule4K) | tcr::PS::make(ps);

    // With the MMU off every data access is Device-nGnRnE: passage's writes
    // so far went straight to memory, past any line the cache may still hold
    // for the address. Once the MMU is on, a read that hits such a line sees
    // the value from before the write, so those lines must go (clean and
    // invalidate: it never throws away data that is only in the cache).
    // Only what was written with the MMU off can be stale:
    //  - the relocation targets (head.S) and .data: from __relro_start on;
    //    scripts/check-image.sh fails the build if a relocation lies lower;
    //  - BSS (cleared by head.S, then written), and the early pool after
    //    it (the device-tree index, built before the MMU is on);
    //  - the boot CPU's stack, the first of passage_stacks;
    //  - the table pages build_el2_map wrote.
    // The rest of the image, code and read-only data, was only read. The
    // arm64 boot protocol (booting.rst) has the loader clean the loaded
    // image to the PoC, so cached lines of it are clean and equal to memory.
    // Nothing else was written: the device tree and the boot modules were
    // only read, and the stage-2 and SMMU pools, the other CPUs' stacks
    // and the EL2 table pages not used are first written with the MMU on.
    // Nor can a line come back before the MMU is on: Device accesses
    // allocate none.
    dcache_clean_inval_poc(reinterpret_cast<u64>(__relro_start),
                           reinterpret_cast<u64>(__bss_end) - reinterpret_cast<u64>(__relro_start));
    dcache_clean_inval_poc(reinterpret_cast<u64>(__early_pool_start),
                           reinterpret_cast<u64>(__early_pool_end) - reinterpret_cast<u64>(__early_pool_start));
    dcache_clean_inval_poc(reinterpret_cast<u64>(passage_stacks[0]), sizeof passage_stacks[0]);
    dcache_clean_inval_poc(t.root(), t.pages_used() * kPageSize);
    passage_el2_mmu = {mm::kMairEl2, tcr, t.root(),
                       sctlr::kEl2Res1 | sctlr::M::kMask | sctlr::C::kMask | sctlr::SA::kMask | sctlr::I::kMask |
                           sctlr::WXN::kMask};
    el2_mmu_enable(&passage_el2_mmu);
    return t.pages_used();
}

void el2_mmu_publish()
{
    dcache_clean_inval_poc(reinterpret_cast<u64>(&passage_el2_mmu), sizeof passage_el2_mmu);
    dcache_clean_inval_poc(reinterpret_cast<u64>(g_el2_tables), sizeof g_el2_tables);
}


}  // namespace passage::arch
