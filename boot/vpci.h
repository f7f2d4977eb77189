// The guest's virtual config space at EL2 (issue 7): the ECAM is not mapped
// into the guest; its accesses trap and drivers/pci/vconfig.cpp answers them.
#pragma once

#include "passage/pci/device_table.h"
#include "passage/plan/address_plan.h"
#include "passage/stage2/page_table.h"
#include "passage/vcpu/trap_frame.h"
#include "stage2_env.h"

namespace passage {

constexpr usize kStage2Pages = 512;  // 2 MiB of stage-2 tables
using GuestTable = stage2::PageTable<arch::El2Stage2Env<kStage2Pages>>;

// Takes the ECAM out of the plan (before stage 2 is built) and remembers what
// the virtual config space will need. False when it cannot be used (then the
// ECAM stays mapped, Device-nGnRnE, and the log says why).
bool vpci_prepare(const Platform& p, plan::GuestPlan& plan, MemRange hyp, const char* cmdline);

// After stage 2 is built: applies passage.assign/passage.deny and the quirks,
// unmaps what the guest must not see (and drops it from the plan), prints
// each function's status.
void vpci_start(const Platform& p, pci::DeviceTable& table, plan::GuestPlan& plan, const plan::Policy& policy,
                GuestTable& stage2, const char* cmdline);

// Whether the guest's config space is virtual (vpci_prepare said yes).
bool vpci_enabled();

// One line for the end of the guest: config accesses emulated, BAR moves
// followed and writes refused. Nothing when config space is direct.
void vpci_report();

// What vpci_handle_abort did with a data abort.
enum class VpciAbort {
    NotConfig,    // outside every ECAM: the caller deals with it
    Emulated,     // answered; the guest resumes after the instruction
    Undecodable,  // inside an ECAM but not emulable (ISV = 0, ...): logged
                  // here; the caller injects an external abort, silently
};

// From the trap path: emulates a config access inside an ECAM.
VpciAbort vpci_handle_abort(TrapFrame& frame);

}  // namespace passage
