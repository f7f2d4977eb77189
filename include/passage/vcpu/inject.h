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

// A synchronous external abort on a data access (instruction == false) or an
// instruction fetch, at `far`, taken from the state in elr/spsr.
Injection inject_external_abort(u64 elr, u64 spsr, u64 far, bool instruction, bool write, const El1State& el1);

// An undefined instruction (ESR EC 0, IL 1) at elr.
Injection inject_undefined(u64 elr, u64 spsr, const El1State& el1);

// Vector offset from VBAR_EL1 for a synchronous exception taken from `spsr`.
u64 sync_vector_offset(u64 spsr);

}  // namespace passage::vcpu
