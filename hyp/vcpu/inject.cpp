#include "passage/vcpu/inject.h"

#include "passage/bits.h"
#include "passage/vcpu/aarch32.h"

namespace passage::vcpu {
namespace {

// PSTATE as saved in SPSR_ELx (AArch64).
using M = Field<4, 0>;
using DAIF = Field<9, 6>;
using SSBS = Bit<12>;
using ALLINT = Bit<13>;
using PAN = Bit<22>;  // the same bit in the AArch32 SPSR layout
using UAO = Bit<23>;
using TCO = Bit<25>;
constexpr u64 kModeEl0t = 0b00000, kModeEl1t = 0b00100, kModeEl1h = 0b00101;

// SCTLR_EL1
using SPAN = Bit<23>;
using DSSBS = Bit<44>;
using SPINTMASK = Bit<62>;

constexpr u64 kEsrIl = u64{1} << 25;
constexpr u64 kFscSyncExternal = 0x10;
constexpr u64 kWnR = u64{1} << 6;

Injection enter_el1(u64 elr, u64 spsr, const El1State& el1, u64 esr)
{
    Injection in;
    in.esr_el1 = esr;
    in.elr_el1 = elr;
    in.spsr_el1 = spsr;
    in.elr_el2 = el1.vbar + sync_vector_offset(spsr);
    // NZCV (31:28) and DIT (24) carry over; they sit at the same bits in the
    // AArch32 layout. Everything else AArch32 has (Q, GE, IT, T, E) is not
    // AArch64 PSTATE and is left behind, in SPSR_EL1.
    u64 p = spsr & (Field<31, 28>::kMask | Bit<24>::kMask);
    p = M::set(p, kModeEl1h);  // EL1, SPSel = 1, nRW = 0
    p = DAIF::set(p, 0b1111);
    p = PAN::set(p, SPAN::get(el1.sctlr) == 0 ? 1 : PAN::get(spsr));
    p = SSBS::set(p, DSSBS::get(el1.sctlr));
    p = UAO::set(p, 0);
    if (el1.mte) p = TCO::set(p, 1);
    if (el1.nmi) p = ALLINT::set(p, SPINTMASK::get(el1.sctlr) == 0 ? 1 : 0);
    // SS (21), IL (20) and BTYPE (11:10) are left cleared: SS stays 0 as
    // passage never single-steps the guest (MDSCR_EL1.SS is the guest's own).
    in.spsr_el2 = p;
    return in;
}

}  // namespace

u64 sync_vector_offset(u64 spsr)
{
    if (from_aarch32(spsr)) return 0x600;
    switch (M::get(spsr)) {
    case kModeEl0t: return 0x400;
    case kModeEl1t: return 0x000;
    default: return 0x200;  // EL1h
    }
}

Injection inject_external_abort(u64 elr, u64 spsr, u64 far, bool instruction, bool write, const El1State& el1)
{
    bool from_el0 = M::get(spsr) == kModeEl0t || from_aarch32(spsr);  // AArch32 is only ever EL0
    u64 ec = instruction ? (from_el0 ? 0x20 : 0x21) : (from_el0 ? 0x24 : 0x25);
    u64 esr = (ec << 26) | kEsrIl | kFscSyncExternal | (!instruction && write ? kWnR : 0);
    Injection in = enter_el1(elr, spsr, el1, esr);
    in.far_el1 = far;
    in.set_far = true;
    return in;
}

Injection inject_undefined(u64 elr, u64 spsr, const El1State& el1)
{
    return enter_el1(elr, spsr, el1, kEsrIl);
}

}  // namespace passage::vcpu
