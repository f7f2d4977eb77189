// Which CPUs the guest gets: those passage supports (the first
// Platform::kMaxCpus of /cpus) that passage can start itself, less the
// spin-table ones, which it refuses (issue 14 d: the guest could release
// them through cpu-release-addr, to run at EL2 with no stage 2). The boot
// CPU is found by its MPIDR and always kept; it is refused when it is not
// among the CPUs passage supports.
#pragma once

#include <span>

#include "passage/diagnostic.h"
#include "passage/platform.h"

namespace passage::plan {

constexpr u64 kMpidrAffinity = 0xff00ffffffull;  // Aff3 [39:32], Aff2-Aff0 [23:0]

struct GuestCpus {
    u64 mpidr[Platform::kMaxCpus] = {};
    usize count = 0;
    usize boot = 0;     // index of the boot CPU in mpidr
    usize refused = 0;  // spin-table CPUs left out
    std::span<const u64> list() const { return {mpidr, count}; }
};

Status choose_guest_cpus(const Platform& p, u64 boot_mpidr, GuestCpus& out, Diagnostic& diag);

// One line per CPU left out and why, for the boot log.
void print_guest_cpus(const Platform& p, const GuestCpus& cpus);

}  // namespace passage::plan
