// PSCI calls through the conduit the device tree names (SMC or HVC).
#pragma once

#include "passage/platform.h"
#include "passage/vcpu/psci.h"  // the function IDs

namespace passage::arch {


u64 psci_call(PsciMethod method, u64 fid, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0);

// An SMCCC call with all four result registers (for calls forwarded from the guest).
struct SmcccResult {
    u64 x0, x1, x2, x3;
};
SmcccResult smccc_call(PsciMethod method, u64 fid, u64 a1, u64 a2, u64 a3);


// Powers off; if PSCI returns (or there is none), parks the CPU in WFI.
[[noreturn]] void system_off(PsciMethod method);

}  // namespace passage::arch
