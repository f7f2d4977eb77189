// System-register access and barriers: the only place with inline assembly
// besides boot/. Target-only.
#pragma once

#include "passage/types.h"

namespace passage::arch {

// Defines read_<reg>() and write_<reg>(v). A declaration, not a statement:
// the register name must be a literal in the instruction.
#define PASSAGE_SYSREG(reg)                                                   \
    inline u64 read_##reg()                                                   \
    {                                                                         \
        u64 v;                                                                \
        asm volatile("mrs %0, " #reg : "=r"(v));                              \
        return v;                                                             \
    }                                                                         \
    inline void write_##reg(u64 v) { asm volatile("msr " #reg ", %0" ::"r"(v) : "memory"); }

PASSAGE_SYSREG(currentel)
PASSAGE_SYSREG(mpidr_el1)
PASSAGE_SYSREG(midr_el1)
PASSAGE_SYSREG(id_aa64mmfr0_el1)
PASSAGE_SYSREG(id_aa64mmfr1_el1)
PASSAGE_SYSREG(id_aa64mmfr2_el1)
PASSAGE_SYSREG(id_aa64pfr0_el1)
PASSAGE_SYSREG(sctlr_el2)
PASSAGE_SYSREG(tcr_el2)
PASSAGE_SYSREG(ttbr0_el2)
PASSAGE_SYSREG(mair_el2)
PASSAGE_SYSREG(hcr_el2)
PASSAGE_SYSREG(vtcr_el2)
PASSAGE_SYSREG(vttbr_el2)
PASSAGE_SYSREG(cntfrq_el0)
PASSAGE_SYSREG(cntpct_el0)
PASSAGE_SYSREG(par_el1)
PASSAGE_SYSREG(id_aa64pfr1_el1)
PASSAGE_SYSREG(id_aa64isar1_el1)
PASSAGE_SYSREG(cptr_el2)
PASSAGE_SYSREG(cnthctl_el2)
PASSAGE_SYSREG(cntvoff_el2)
PASSAGE_SYSREG(vpidr_el2)
PASSAGE_SYSREG(vmpidr_el2)
PASSAGE_SYSREG(mdcr_el2)
PASSAGE_SYSREG(tpidr_el2)
PASSAGE_SYSREG(pmcr_el0)
PASSAGE_SYSREG(id_aa64dfr0_el1)
PASSAGE_SYSREG(hstr_el2)
// The guest's EL1 state, which passage reads and writes to inject
// exceptions and for the self-test.
PASSAGE_SYSREG(vbar_el1)
PASSAGE_SYSREG(sctlr_el1)
PASSAGE_SYSREG(esr_el1)
PASSAGE_SYSREG(far_el1)
PASSAGE_SYSREG(elr_el1)
PASSAGE_SYSREG(spsr_el1)
PASSAGE_SYSREG(tcr_el1)
PASSAGE_SYSREG(ttbr0_el1)
PASSAGE_SYSREG(mair_el1)
#undef PASSAGE_SYSREG

// Registers the assembler may not know by name on every toolchain: by encoding.
#define PASSAGE_SYSREG_ENC(reg, enc)                                          \
    inline u64 read_##reg()                                                   \
    {                                                                         \
        u64 v;                                                                \
        asm volatile("mrs %0, " enc : "=r"(v));                               \
        return v;                                                             \
    }                                                                         \
    inline void write_##reg(u64 v) { asm volatile("msr " enc ", %0" ::"r"(v) : "memory"); }

PASSAGE_SYSREG_ENC(id_aa64isar2_el1, "S3_0_C0_C6_2")
PASSAGE_SYSREG_ENC(zcr_el2, "S3_4_C1_C2_0")
PASSAGE_SYSREG_ENC(smcr_el2, "S3_4_C1_C2_6")
PASSAGE_SYSREG_ENC(icc_sre_el2, "S3_4_C12_C9_5")
PASSAGE_SYSREG_ENC(ich_hcr_el2, "S3_4_C12_C11_0")
// ID registers of later architecture versions (RAZ where not allocated) and
// the identification registers of optional features (UNDEFINED without them).
PASSAGE_SYSREG_ENC(id_aa64pfr2_el1, "S3_0_C0_C4_2")
PASSAGE_SYSREG_ENC(id_aa64smfr0_el1, "S3_0_C0_C4_5")
PASSAGE_SYSREG_ENC(id_aa64mmfr3_el1, "S3_0_C0_C7_3")
PASSAGE_SYSREG_ENC(id_aa64mmfr4_el1, "S3_0_C0_C7_4")
PASSAGE_SYSREG_ENC(pmbidr_el1, "S3_0_C9_C10_7")
PASSAGE_SYSREG_ENC(pmsidr_el1, "S3_0_C9_C9_7")
PASSAGE_SYSREG_ENC(trbidr_el1, "S3_0_C9_C11_7")
PASSAGE_SYSREG_ENC(smidr_el1, "S3_1_C0_C0_6")
PASSAGE_SYSREG_ENC(mpamidr_el1, "S3_0_C10_C4_4")
PASSAGE_SYSREG_ENC(amcgcr_el0, "S3_3_C13_C2_2")
// The EL2 controls of later features (guest.cpp writes each only where the
// ID registers say it exists).
PASSAGE_SYSREG_ENC(hcrx_el2, "S3_4_C1_C2_2")
PASSAGE_SYSREG_ENC(smprimap_el2, "S3_4_C1_C2_5")
PASSAGE_SYSREG_ENC(hfgrtr_el2, "S3_4_C1_C1_4")
PASSAGE_SYSREG_ENC(hfgwtr_el2, "S3_4_C1_C1_5")
PASSAGE_SYSREG_ENC(hfgitr_el2, "S3_4_C1_C1_6")
PASSAGE_SYSREG_ENC(hdfgrtr_el2, "S3_4_C3_C1_4")
PASSAGE_SYSREG_ENC(hdfgwtr_el2, "S3_4_C3_C1_5")
PASSAGE_SYSREG_ENC(hafgrtr_el2, "S3_4_C3_C1_6")
PASSAGE_SYSREG_ENC(hdfgrtr2_el2, "S3_4_C3_C1_0")
PASSAGE_SYSREG_ENC(hdfgwtr2_el2, "S3_4_C3_C1_1")
PASSAGE_SYSREG_ENC(hfgrtr2_el2, "S3_4_C3_C1_2")
PASSAGE_SYSREG_ENC(hfgwtr2_el2, "S3_4_C3_C1_3")
PASSAGE_SYSREG_ENC(hfgitr2_el2, "S3_4_C3_C1_7")
PASSAGE_SYSREG_ENC(pmscr_el2, "S3_4_C9_C9_0")
PASSAGE_SYSREG_ENC(brbcr_el2, "S2_4_C9_C0_0")
PASSAGE_SYSREG_ENC(mpam2_el2, "S3_4_C10_C5_0")
PASSAGE_SYSREG_ENC(mpamhcr_el2, "S3_4_C10_C4_0")
PASSAGE_SYSREG_ENC(gcscr_el1, "S3_0_C2_C5_0")
PASSAGE_SYSREG_ENC(gcscre0_el1, "S3_0_C2_C5_2")
PASSAGE_SYSREG_ENC(lorc_el1, "S3_0_C10_C4_3")
PASSAGE_SYSREG_ENC(amcntenset0_el0, "S3_3_C13_C2_5")
PASSAGE_SYSREG_ENC(amcntenset1_el0, "S3_3_C13_C3_1")
#undef PASSAGE_SYSREG_ENC

inline void isb() { asm volatile("isb" ::: "memory"); }
inline void dsb_sy() { asm volatile("dsb sy" ::: "memory"); }
inline void dsb_ish() { asm volatile("dsb ish" ::: "memory"); }
inline void dsb_ishst() { asm volatile("dsb ishst" ::: "memory"); }
inline void wfi() { asm volatile("wfi" ::: "memory"); }
inline void tlbi_alle2() { asm volatile("tlbi alle2" ::: "memory"); }
inline void ic_iallu() { asm volatile("ic iallu" ::: "memory"); }

// Smallest data-cache line, from CTR_EL0.DminLine.
inline u64 dcache_line()
{
    u64 ctr;
    asm volatile("mrs %0, ctr_el0" : "=r"(ctr));
    return u64{4} << ((ctr >> 16) & 0xf);
}

enum class DcOp { CleanInvalPoc, CleanPoc };

template <DcOp Op>
inline void dc_line(u64 a)
{
    if constexpr (Op == DcOp::CleanInvalPoc) asm volatile("dc civac, %0" ::"r"(a) : "memory");
    else asm volatile("dc cvac, %0" ::"r"(a) : "memory");
}

// Eight lines from a, `rounds` times (rounds > 0); a ends past the last.
template <DcOp Op>
inline void dc_rounds_of_8(u64& a, u64 line, u64 rounds)
{
#define PASSAGE_DC8(op)                                                                                       \
    "1:\n\t"                                                                                                  \
    "dc " op ", %0\n\tadd %0, %0, %2\n\tdc " op ", %0\n\tadd %0, %0, %2\n\t"                                   \
    "dc " op ", %0\n\tadd %0, %0, %2\n\tdc " op ", %0\n\tadd %0, %0, %2\n\t"                                   \
    "dc " op ", %0\n\tadd %0, %0, %2\n\tdc " op ", %0\n\tadd %0, %0, %2\n\t"                                   \
    "dc " op ", %0\n\tadd %0, %0, %2\n\tdc " op ", %0\n\tadd %0, %0, %2\n\t"                                   \
    "subs %1, %1, #1\n\tb.ne 1b"
    if constexpr (Op == DcOp::CleanInvalPoc)
        asm volatile(PASSAGE_DC8("civac") : "+r"(a), "+r"(rounds) : "r"(line) : "cc", "memory");
    else asm volatile(PASSAGE_DC8("cvac") : "+r"(a), "+r"(rounds) : "r"(line) : "cc", "memory");
#undef PASSAGE_DC8
}

// One DC operation on every line of [base, base + size), eight lines a
// round: one line a loop, the loop's own instructions were three of every
// four (a few MiB are tens of thousands of lines).
template <DcOp Op>
inline void dc_range(u64 base, u64 size)
{
    u64 ctr;
    asm volatile("mrs %0, ctr_el0" : "=r"(ctr));
    const unsigned line_log2 = 2 + ((ctr >> 16) & 0xf);  // CTR_EL0.DminLine: log2 of words
    const u64 line = u64{1} << line_log2;
    const u64 end = base + size;
    u64 a = align_down(base, line);
    if (const u64 rounds = (end - a) >> (line_log2 + 3); rounds > 0) dc_rounds_of_8<Op>(a, line, rounds);
    for (; a < end; a += line) dc_line<Op>(a);
}

// Zeroes [base, base + size): DC ZVA for the whole blocks inside (one
// instruction a block, DCZID_EL0.BS), stores for the edges, or stores
// only where DCZID_EL0.DZP prohibits DC ZVA. Only with the MMU on and the
// range mapped Normal: on Device memory DC ZVA faults. Volatile stores:
// the memory is the guest's, the compiler must not drop them.
inline void zero_normal_memory(u64 base, u64 size)
{
    u64 dczid;
    asm volatile("mrs %0, dczid_el0" : "=r"(dczid));
    const u64 end = base + size;
    u64 a = base;
    auto store_to = [&a](u64 stop) {
        for (; a < stop && (a & 7) != 0; ++a) *reinterpret_cast<volatile u8*>(a) = 0;
        for (; stop - a >= 8 && a < stop; a += 8) *reinterpret_cast<volatile u64*>(a) = 0;
        for (; a < stop; ++a) *reinterpret_cast<volatile u8*>(a) = 0;
    };
    if ((dczid & (1u << 4)) == 0) {  // DZP clear: DC ZVA permitted
        const unsigned block_log2 = 2 + (dczid & 0xf);
        const u64 block = u64{1} << block_log2;
        const u64 first = align_up(base, block);
        const u64 last = align_down(end, block);
        if (first < last && first >= base) {
            store_to(first);
            u64 rounds = (last - first) >> block_log2;
            for (; rounds >= 4; rounds -= 4) {
                asm volatile("dc zva, %0" ::"r"(a) : "memory");
                asm volatile("dc zva, %0" ::"r"(a + block) : "memory");
                asm volatile("dc zva, %0" ::"r"(a + 2 * block) : "memory");
                asm volatile("dc zva, %0" ::"r"(a + 3 * block) : "memory");
                a += 4 * block;
            }
            for (; rounds > 0; --rounds, a += block) asm volatile("dc zva, %0" ::"r"(a) : "memory");
        }
    }
    store_to(end);
}

// Clean and invalidate [base, base + size) to the point of coherency.
inline void dcache_clean_inval_poc(u64 base, u64 size)
{
    dc_range<DcOp::CleanInvalPoc>(base, size);
    dsb_sy();
}

// Clean [base, base + size) to the point of coherency: what passage wrote for
// a guest that starts with its MMU (and so its caches) off.
inline void dcache_clean_poc(u64 base, u64 size)
{
    dc_range<DcOp::CleanPoc>(base, size);
    dsb_sy();
}

inline void icache_inval_all_is()
{
    asm volatile("ic ialluis" ::: "memory");
    dsb_sy();
    isb();
}

}  // namespace passage::arch
