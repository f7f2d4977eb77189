// The register state hyp/arch/aarch64/vectors.S saves on every exception.
#pragma once

#include "passage/types.h"

namespace passage {

struct TrapFrame {
    u64 x[31];
    u64 sp;
    u64 elr;
    u64 spsr;
    u64 esr;
    u64 far;
    u64 hpfar;
    u64 pad;
};

// A guest's HVC or SMC that reaches C++ (vectors.S, guest_call): the call's
// x0-x3, its results written back in place. Nothing else of the guest is in
// reach: vectors.S keeps what the call may clobber, and ELR is already past
// the call.
struct CallFrame {
    u64 x[4];
};

// hyp/arch/aarch64/exception.cpp checks asm_defs.h FRAME_SIZE and offsets against these.
static_assert(sizeof(TrapFrame) == 38 * 8);
static_assert(__builtin_offsetof(TrapFrame, elr) == 32 * 8);
static_assert(__builtin_offsetof(TrapFrame, hpfar) == 36 * 8);

}  // namespace passage
