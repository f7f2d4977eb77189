// The guest's exception handling: one expected synchronous abort at a time
// (the abort-in-hypervisor check), anything else is reported and the guest
// powers off.
#pragma once

#include "arch.h"

namespace guest {

// What head.S saves on every exception.
struct Frame {
    u64 x[31];
    u64 elr, spsr, esr, far;
    u64 pad;
};
static_assert(sizeof(Frame) == 36 * 8, "head.S FRAME_SIZE");

// Vector index of a synchronous exception from the current EL on SP_EL1
// (VBAR_EL1 + 0x200).
constexpr unsigned kVectorCurrentSpxSync = 4;

struct AbortRecord {
    bool taken;
    unsigned vector;
    u64 esr, far, elr;
};

// Arms the handler for one synchronous exception: it records it, skips the
// instruction (ELR += 4) and returns, instead of reporting it.
void expect_abort();
// Disarms and returns what (if anything) arrived.
AbortRecord take_abort_record();

// One 32-bit load of `va` with the handler armed: what arrived, the load's
// own address (ELR of its abort) and the value it read (0 if it aborted).
struct Probe {
    AbortRecord abort;
    u64 pc;
    u32 value;
};
Probe probe_read32(u64 va);

// ESR_EL1 fields (Arm ARM D17.2.40).
constexpr unsigned esr_ec(u64 esr) { return static_cast<unsigned>((esr >> 26) & 0x3f); }
constexpr unsigned esr_fsc(u64 esr) { return static_cast<unsigned>(esr & 0x3f); }
constexpr unsigned kEcDataAbortSameEl = 0x25;
constexpr unsigned kFscSyncExternal = 0x10;

}  // namespace guest
