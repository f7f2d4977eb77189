// The guest's EL0 may run AArch32 (its EL1 is always AArch64: HCR_EL2.RW = 1).
// What passage must know of that state when it traps: the AArch32 SPSR
// layout (Arm ARM C5.2.18, SPSR_EL2 "when exception taken from AArch32"),
// a trapped instruction's condition (ISS CV/COND, D17.2.37) and the IT
// state a T32 instruction leaves behind (ITAdvance(), J1.3).
#pragma once

#include "passage/types.h"

namespace passage::vcpu {

// SPSR.M[4] (nRW): the exception was taken from AArch32.
constexpr bool from_aarch32(u64 spsr) { return (spsr >> 4 & 1) != 0; }

// PSTATE.IT[7:0], gathered from SPSR bits 15:10 (IT[7:2]) and 26:25 (IT[1:0]).
constexpr u32 it_state(u64 spsr) { return u32((spsr >> 8 & 0xfc) | (spsr >> 25 & 0x3)); }

// The SPSR after one instruction of an IT block has completed: ITAdvance().
// Outside an IT block (IT = 0) nothing changes.
u64 it_advance(u64 spsr);

// Whether a trapped AArch32 instruction's condition holds for the flags in
// SPSR: COND when ISS.CV = 1, else the IT block's condition (IT[7:4]); an
// instruction that is neither (CV = 0 outside an IT block) is unconditional.
// The architecture lets a conditional instruction trap even when its
// condition fails; such an instruction must then do nothing.
bool condition_passed(u64 esr, u64 spsr);

// The exception classes whose ISS carries CV and COND from AArch32: WFx, the
// MCR/MRC/MCRR/MRRC/LDC/STC, FP access and VMRS traps (EC 0x01, 0x03-0x08, 0x0C).
bool has_condition(u32 ec);

}  // namespace passage::vcpu
