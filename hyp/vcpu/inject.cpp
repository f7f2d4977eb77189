// Injected exceptions. See passage/vcpu/inject.h: the abort, the hot one, is
// inline there; the undefined instruction is rare and lives here.
#include "passage/vcpu/inject.h"

namespace passage::vcpu {

Injection inject_undefined(u64 elr, u64 spsr, const El1State& el1)
{
    const EntryRule r = entry_rule(el1);
    Injection in;
    in.esr_el1 = u64{1} << 25;  // EC 0, IL
    in.elr_el1 = elr;
    in.spsr_el1 = spsr;
    in.elr_el2 = el1.vbar + sync_vector_offset(spsr);
    in.spsr_el2 = (spsr & r.keep) | r.set;
    return in;
}

}  // namespace passage::vcpu
