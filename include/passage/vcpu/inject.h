// Injecting a synchronous exception into the guest's EL1, as the hardware
// would take it (Arm ARM D1.10, "Exception entry", and the pseudocode of
// AArch64.TakeException): the EL1 syndrome registers, the vector, and the
// PSTATE the guest resumes with. The guest may have been at EL1 or EL0 in
// AArch64, or at EL0 in AArch32 (its EL1 is always AArch64): from AArch32
// the vector is VBAR_EL1 + 0x600 and SPSR_EL1 holds the AArch32-format
// PSTATE, T and IT bits included, exactly as SPSR_EL2 has it; ELR_EL1 is the
// faulting instruction's address (the T bit says it is a T32 one).
#pragma once

#include "passage/types.h"

namespace passage::vcpu {

struct El1State {
    u64 vbar = 0;
    u64 sctlr = 0;
    // CPU features that change PSTATE on entry, from the ID registers (the
    // arch layer reads them; plain inputs here so the host tests can vary them).
    bool mte = false;  // FEAT_MTE (ID_AA64PFR1_EL1.MTE != 0): PSTATE.TCO is set
    bool nmi = false;  // FEAT_NMI (ID_AA64PFR1_EL1.NMI != 0): PSTATE.ALLINT = !SCTLR_EL1.SPINTMASK
};

struct Injection {
    u64 esr_el1 = 0;
    u64 far_el1 = 0;
    bool set_far = false;
    u64 elr_el1 = 0;   // where the guest was (the faulting instruction)
    u64 spsr_el1 = 0;  // the guest's PSTATE then
    u64 elr_el2 = 0;   // the vector to resume at
    u64 spsr_el2 = 0;  // the PSTATE to resume with
};

// What exception entry to EL1 does to PSTATE, folded for one SCTLR_EL1 and
// feature set: the new PSTATE is (the guest's & keep) | set. Kept: NZCV and
// DIT (the same bits in the AArch32 layout), and PAN when SCTLR_EL1.SPAN is
// 1. Set: EL1h, DAIF, PAN when SPAN is 0, SSBS = DSSBS, TCO with FEAT_MTE,
// ALLINT = !SPINTMASK with FEAT_NMI. Everything else (UAO, SS, IL, BTYPE,
// and what only AArch32 has: Q, GE, IT, T, E) is cleared; SS stays 0 as
// passage never single-steps the guest (MDSCR_EL1.SS is the guest's own).
// Folding these is what makes an injection a handful of instructions.
struct EntryRule {
    u64 keep = 0;
    u64 set = 0;
};

constexpr EntryRule entry_rule(const El1State& el1)
{
    constexpr u64 kNzcv = u64{0xf} << 28, kDit = u64{1} << 24, kPan = u64{1} << 22;
    constexpr u64 kEl1h = 0b00101, kDaif = u64{0xf} << 6, kSsbs = u64{1} << 12;
    constexpr u64 kAllint = u64{1} << 13, kTco = u64{1} << 25;
    const bool span = (el1.sctlr >> 23 & 1) != 0, dssbs = (el1.sctlr >> 44 & 1) != 0;
    const bool spintmask = (el1.sctlr >> 62 & 1) != 0;
    EntryRule r;
    r.keep = kNzcv | kDit | (span ? kPan : 0);
    r.set = kEl1h | kDaif | (span ? 0 : kPan) | (dssbs ? kSsbs : 0) | (el1.mte ? kTco : 0) |
            (el1.nmi && !spintmask ? kAllint : 0);
    return r;
}

// Vector offset from VBAR_EL1 for a synchronous exception taken from `spsr`:
// 0x600 from AArch32 (only ever EL0), 0x400 from EL0, 0x000 from EL1t,
// 0x200 from EL1h.
constexpr u64 sync_vector_offset(u64 spsr)
{
    if ((spsr >> 4 & 1) != 0) return 0x600;
    u64 m = spsr & 0x1f;
    return m == 0b00000 ? 0x400 : m == 0b00100 ? 0x000 : 0x200;
}

// entry_rule for each value of the only SCTLR_EL1 bits it reads (SPAN,
// DSSBS, SPINTMASK), worked out once per guest: the features are fixed.
class EntryRules {
public:
    constexpr EntryRules(bool mte = false, bool nmi = false)
    {
        for (usize i = 0; i < 8; ++i) {
            u64 sctlr = (u64(i & 1) << 23) | (u64(i >> 1 & 1) << 44) | (u64(i >> 2 & 1) << 62);
            rules_[i] = entry_rule(El1State{0, sctlr, mte, nmi});
        }
    }
    constexpr const EntryRule& operator()(u64 sctlr) const
    {
        return rules_[(sctlr >> 23 & 1) | (sctlr >> 43 & 2) | (sctlr >> 60 & 4)];
    }

private:
    EntryRule rules_[8] = {};
};

// A synchronous external abort on a data access (instruction == false) or an
// instruction fetch, at `far`, taken from the state in elr/spsr, entering
// EL1 at vbar with rule r. Inline: it is the whole of an abort outside the
// guest's address space.
constexpr Injection inject_external_abort(u64 elr, u64 spsr, u64 far, bool instruction, bool write, u64 vbar,
                                          const EntryRule& r)
{
    const bool from_el0 = (spsr & 0x1f) == 0 || (spsr >> 4 & 1) != 0;  // AArch32 is only ever EL0
    const u64 ec = instruction ? (from_el0 ? 0x20 : 0x21) : (from_el0 ? 0x24 : 0x25);
    Injection in;
    in.esr_el1 = (ec << 26) | (u64{1} << 25) | 0x10 | (!instruction && write ? u64{1} << 6 : 0);  // IL, FSC 0x10, WnR
    in.far_el1 = far;
    in.set_far = true;
    in.elr_el1 = elr;
    in.spsr_el1 = spsr;
    in.elr_el2 = vbar + sync_vector_offset(spsr);
    in.spsr_el2 = (spsr & r.keep) | r.set;
    return in;
}

constexpr Injection inject_external_abort(u64 elr, u64 spsr, u64 far, bool instruction, bool write, const El1State& el1)
{
    return inject_external_abort(elr, spsr, far, instruction, write, el1.vbar, entry_rule(el1));
}

// An undefined instruction (ESR EC 0, IL 1) at elr.
Injection inject_undefined(u64 elr, u64 spsr, const El1State& el1);

}  // namespace passage::vcpu
