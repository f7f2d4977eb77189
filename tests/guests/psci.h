// PSCI (Arm DEN 0022) through the conduit the device tree names: SMC under
// passage, HVC when QEMU itself answers (standalone at EL1).
#pragma once

#include "fdt.h"

namespace guest::psci {

constexpr u32 kVersion = 0x84000000;
constexpr u32 kCpuOff = 0x84000002;
constexpr u32 kCpuOn64 = 0xC4000003;
constexpr u32 kAffinityInfo64 = 0xC4000004;
constexpr u32 kSystemOff = 0x84000008;
constexpr u32 kFeatures = 0x8400000A;

// AFFINITY_INFO answers.
constexpr i64 kAffinityOn = 0;
constexpr i64 kAffinityOff = 1;
constexpr i64 kAffinityOnPending = 2;

// The conduit every call uses; SMC until the device tree says otherwise.
void set_conduit(Conduit c);
Conduit conduit();

i64 call(u64 fid, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0);

inline u32 version() { return static_cast<u32>(call(kVersion)); }
inline i64 cpu_on(u64 mpidr, u64 entry, u64 context) { return call(kCpuOn64, mpidr, entry, context); }
inline i64 affinity_info(u64 mpidr) { return call(kAffinityInfo64, mpidr, 0); }
inline i64 cpu_off() { return call(kCpuOff); }

// SYSTEM_OFF; if it returns, parks the CPU.
[[noreturn]] void system_off();

const char* error_text(i64 ret);

}  // namespace guest::psci
