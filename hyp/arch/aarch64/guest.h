// Running the guest on this CPU: the EL2 register set of DESIGN.md's
// "Entering Linux at EL1", the first ERET, and the secondaries' start.
#pragma once

#include "passage/platform.h"
#include "passage/stage2/descriptor.h"
#include "passage/vcpu/el2_features.h"
#include "passage/vcpu/psci.h"
#include "passage/vcpu/trap_frame.h"
#include "passage/vcpu/trap_handlers.h"

namespace passage::arch {

// What every CPU needs to run the guest; written by the boot CPU before any
// secondary starts (and cleaned to memory for CPUs whose MMU is still off).
struct GuestHw {
    u64 hcr = 0;
    u64 vtcr = 0;
    u64 vttbr = 0;
    bool gicv3 = false;
    vcpu::El2Config el2;  // every feature's EL2 setting (el2_features.h)
    vcpu::EntryFeatures entry;  // what injecting an exception sets in PSTATE
    stage2::Encoding encoding;
};

struct CpuFeaturesEl2 {
    bool fwb = false;
    vcpu::CpuIdRegs id;
};

// The ID registers of this CPU (and the feature identification registers
// they say exist).
CpuFeaturesEl2 read_cpu_features();

// What set_guest() recorded: the same on every CPU.
const GuestHw& guest_hw();

// The EL2 register set for the guest on this CPU model.
GuestHw make_guest_hw(const CpuFeaturesEl2& f, GicVersion gic, u64 vtcr, u64 vttbr, stage2::Encoding enc);

// Writes every EL2 register the guest depends on, on this CPU.
void configure_el2_for_guest(const GuestHw& hw);

// HCR_EL2.RW: EL1 is AArch64 (and, with E2H = 0, the EL2 regime passage is written for).
constexpr u64 kHcrRW = u64{1} << 31;

// SCTLR_EL1 with its RES1 bits, MMU and caches off.
constexpr u64 kSctlrEl1MmuOff = 0x30D00800;

// The guest's CPUs, their state, and this CPU's index (TPIDR_EL2).
vcpu::VcpuSet& guest_cpus();
usize this_cpu();
void set_this_cpu(usize index);

// For the trap path: the lock around guest_cpus(), the guest's RAM (CPU_ON's
// address check), and starting a physical CPU for the guest through PSCI.
class Spinlock;
Spinlock& guest_cpus_lock();
const MemRange* guest_ram(usize& count);
i64 start_cpu(usize cpu, u64 entry, u64 context);

// Records the guest's RAM (for CPU_ON's address check) and the hardware set-up.
void set_guest(const GuestHw& hw, const MemRange* ram, usize ram_count);

// First entry on the boot CPU.
[[noreturn]] void run_guest(usize cpu, u64 entry, u64 x0);

// What the trap path hands on (trap.cpp); set before the guest's first
// instruction, read by every CPU.
void set_trap_handlers(const vcpu::TrapHandlers& handlers);

// Handles a synchronous exception from the guest (trap.cpp); returns to resume it.
void handle_guest_sync(TrapFrame& frame);

}  // namespace passage::arch

extern "C" [[noreturn]] void enter_guest(passage::u64 entry, passage::u64 x0, passage::u64 el2_stack_top);
