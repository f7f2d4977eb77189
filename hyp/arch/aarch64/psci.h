// PSCI calls through the conduit the device tree names (SMC or HVC).
#pragma once

#include "passage/platform.h"

namespace passage::arch {

constexpr u32 kPsciVersion = 0x84000000;
constexpr u32 kPsciSystemOff = 0x84000008;
constexpr u32 kPsciSystemReset = 0x84000009;
constexpr u64 kPsciCpuOn64 = 0xC4000003;

u64 psci_call(PsciMethod method, u64 fid, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0);

// An SMCCC call with all four result registers (for calls forwarded from the guest).
struct SmcccResult {
    u64 x0, x1, x2, x3;
};
SmcccResult smccc_call(PsciMethod method, u64 fid, u64 a1, u64 a2, u64 a3);

constexpr u32 kPsciCpuOff = 0x84000002;

// Powers off; if PSCI returns (or there is none), parks the CPU in WFI.
[[noreturn]] void system_off(PsciMethod method);

}  // namespace passage::arch
