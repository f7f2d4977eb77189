// A memory copy/set exception (ESR EC 0x27) from the guest's EL1: the
// CPY*/SET* sequence was interrupted where it cannot go on (the main or
// epilogue instruction found registers in the other algorithm's format, or
// the sequence was split). Documentation/arch/arm64/mops.rst asks the
// hypervisor to restart it: registers put back in the format the prologue
// instruction takes, and the PC back at the prologue (Arm ARM rules CNTMJ
// and MWFQH, "Memory Copy and Memory Set exceptions").
#pragma once

#include "passage/types.h"

namespace passage::vcpu {

constexpr u32 kEcMops = 0x27;

// Rewinds x (the guest's x0..x30; register 31 is XZR, read as 0, never
// written), pc (the main or epilogue instruction) and spsr (its PSTATE).
void mops_rewind(u64 esr, u64 (&x)[31], u64& pc, u64& spsr);

}  // namespace passage::vcpu
