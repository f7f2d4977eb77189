// The test guest's view of the CPU: system registers, barriers, cache and
// TLB maintenance, and the MMIO accessors every device access goes through.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest {

using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using i64 = int64_t;

// read_<reg>() / write_<reg>(v): a declaration, the register name must be a
// literal in the instruction.
#define GUEST_SYSREG(reg)                                                      \
    inline u64 read_##reg()                                                    \
    {                                                                          \
        u64 v;                                                                 \
        asm volatile("mrs %0, " #reg : "=r"(v)::"memory");                     \
        return v;                                                              \
    }                                                                          \
    inline void write_##reg(u64 v) { asm volatile("msr " #reg ", %0" ::"r"(v) : "memory"); }

GUEST_SYSREG(currentel)
GUEST_SYSREG(mpidr_el1)
GUEST_SYSREG(id_aa64mmfr0_el1)
GUEST_SYSREG(sctlr_el1)
GUEST_SYSREG(tcr_el1)
GUEST_SYSREG(mair_el1)
GUEST_SYSREG(ttbr0_el1)
GUEST_SYSREG(par_el1)
GUEST_SYSREG(cntfrq_el0)
GUEST_SYSREG(cntpct_el0)
GUEST_SYSREG(ctr_el0)
GUEST_SYSREG(cntvct_el0)
GUEST_SYSREG(id_aa64dfr0_el1)
GUEST_SYSREG(vbar_el1)
GUEST_SYSREG(pmcr_el0)
GUEST_SYSREG(pmceid0_el0)
GUEST_SYSREG(pmcntenset_el0)
GUEST_SYSREG(pmcntenclr_el0)
GUEST_SYSREG(pmevtyper0_el0)
GUEST_SYSREG(pmevcntr0_el0)
#undef GUEST_SYSREG

inline void isb() { asm volatile("isb" ::: "memory"); }
inline void dsb_sy() { asm volatile("dsb sy" ::: "memory"); }
inline void dsb_ish() { asm volatile("dsb ish" ::: "memory"); }
inline void dsb_ishst() { asm volatile("dsb ishst" ::: "memory"); }
inline void wfi() { asm volatile("wfi" ::: "memory"); }

// The affinity fields of MPIDR_EL1 (Aff3, Aff2, Aff1, Aff0), as /cpus reg holds them.
inline u64 my_mpidr() { return read_mpidr_el1() & 0xff00ffffffull; }

// Smallest data-cache line (CTR_EL0.DminLine, log2 of words).
inline u64 dcache_line() { return u64{4} << ((read_ctr_el0() >> 16) & 0xf); }

// Data-cache maintenance by VA over [base, base + size), to the point of coherency.
inline void dcache_clean_poc(u64 base, u64 size)
{
    u64 line = dcache_line();
    for (u64 a = base & ~(line - 1); a < base + size; a += line) asm volatile("dc cvac, %0" ::"r"(a) : "memory");
    dsb_sy();
}
inline void dcache_clean_inval_poc(u64 base, u64 size)
{
    u64 line = dcache_line();
    for (u64 a = base & ~(line - 1); a < base + size; a += line) asm volatile("dc civac, %0" ::"r"(a) : "memory");
    dsb_sy();
}
inline void dcache_inval_poc(u64 base, u64 size)
{
    u64 line = dcache_line();
    for (u64 a = base & ~(line - 1); a < base + size; a += line) asm volatile("dc ivac, %0" ::"r"(a) : "memory");
    dsb_sy();
}

// MMIO accessors. Each is exactly one plain load or store with a base
// register and no offset, writeback or pair: the form a hypervisor can decode
// from ESR_EL2 (ISV = 1) if it ever traps the access. A plain pointer
// dereference may compile to ldp/stp or post-indexed forms, which it cannot.
inline u8 mmio_read8(u64 addr)
{
    u32 v;
    asm volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
    return static_cast<u8>(v);
}
inline u32 mmio_read32(u64 addr)
{
    u32 v;
    asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
    return v;
}
inline u64 mmio_read64(u64 addr)
{
    u64 v;
    asm volatile("ldr %0, [%1]" : "=r"(v) : "r"(addr) : "memory");
    return v;
}
inline void mmio_write8(u64 addr, u8 v) { asm volatile("strb %w0, [%1]" ::"r"(u32{v}), "r"(addr) : "memory"); }
inline void mmio_write32(u64 addr, u32 v) { asm volatile("str %w0, [%1]" ::"r"(v), "r"(addr) : "memory"); }
inline void mmio_write64(u64 addr, u64 v) { asm volatile("str %0, [%1]" ::"r"(v), "r"(addr) : "memory"); }

// Seconds-scale deadlines on the physical counter.
inline u64 deadline_after_ms(u64 ms) { return read_cntpct_el0() + read_cntfrq_el0() / 1000 * ms; }
inline bool expired(u64 deadline) { return read_cntpct_el0() >= deadline; }

// Image bounds from guest.ld.
extern "C" char __image_start[], __image_end[];
inline u64 image_start() { return reinterpret_cast<u64>(__image_start); }
inline u64 image_end() { return reinterpret_cast<u64>(__image_end); }

}  // namespace guest
