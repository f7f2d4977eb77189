// Running the guest on this CPU: the EL2 register set Linux's booting.rst
// asks of a hypervisor entering it at EL1 (docs/design.md, "Entering the
// guest and its traps"), the first ERET, and the secondaries' start.
#pragma once

#include <span>

#include "asm_defs.h"
#include "passage/platform.h"
#include "passage/stage2/descriptor.h"
#include "passage/vcpu/el2_features.h"
#include "passage/vcpu/inject.h"
#include "passage/vcpu/psci.h"
#include "passage/vcpu/trap_frame.h"
#include "passage/vcpu/trap_handlers.h"
#include "sysreg.h"

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
    vcpu::EntryRules entry_rules;  // the same, folded per SCTLR_EL1 (inject.h)
    stage2::Encoding encoding;
};

struct CpuFeaturesEl2 {
    bool fwb = false;
    vcpu::CpuIdRegs id;
};

// The ID registers of this CPU (and the feature identification registers
// they say exist).
CpuFeaturesEl2 read_cpu_features();

// The EL2 register set for the guest on this CPU model.
GuestHw make_guest_hw(const CpuFeaturesEl2& f, GicVersion gic, u64 vtcr, u64 vttbr, stage2::Encoding enc);

// Writes every EL2 register the guest depends on, on this CPU.
void configure_el2_for_guest(const GuestHw& hw);

// This CPU's index (TPIDR_EL2). Inline: the trap path asks it.
inline usize this_cpu() { return static_cast<usize>(read_tpidr_el2()); }
inline void set_this_cpu(usize index) { write_tpidr_el2(index); }

class Spinlock;

// A guest as the arch layer sees it: boot/ fills one per guest (pointing
// into the guest object it owns) and hands it to run_guest; each CPU then
// runs that guest, and the trap path reaches it only through this.
struct GuestContext {
    GuestHw hw;
    vcpu::VcpuSet* cpus = nullptr;  // the PSCI state of its vCPUs, under cpus_lock
    Spinlock* cpus_lock = nullptr;
    std::span<const MemRange> ram;  // CPU_ON's entry-point check
    vcpu::TrapHandlers handlers;    // what the trap path hands on (trap.cpp)
};

// Per physical CPU, the guest it runs (run_guest and start_cpu write it).
extern GuestContext* g_cpu_guest[MAX_CPUS];

// The guest this CPU runs (trap path only). Inline: every trap asks.
inline GuestContext& current_guest() { return *g_cpu_guest[read_tpidr_el2()]; }

// Starts physical CPU `cpu` for `guest` through PSCI, at `entry` with x0 = context.
i64 start_cpu(GuestContext& guest, usize cpu, u64 entry, u64 context);

// First entry on the boot CPU.
[[noreturn]] void run_guest(GuestContext& guest, usize cpu, u64 entry, u64 x0);

// Handles a synchronous exception from the guest (trap.cpp); returns to resume it.
void handle_guest_sync(TrapFrame& frame);


// Handles a guest's HVC or SMC that its fast path left to C++ (trap.cpp).
void handle_guest_call(CallFrame& frame);

}  // namespace passage::arch

extern "C" [[noreturn]] void enter_guest(passage::u64 entry, passage::u64 x0, passage::u64 el2_stack_top);
