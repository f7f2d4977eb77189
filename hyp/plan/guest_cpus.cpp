#include "passage/plan/guest_cpus.h"

#include "passage/format.h"
#include "passage/log.h"

namespace passage::plan {

namespace {
using ull = unsigned long long;
}

Status choose_guest_cpus(const Platform& p, u64 boot_mpidr, GuestCpus& out, Diagnostic& diag)
{
    out = GuestCpus{};
    const u64 me = boot_mpidr & kMpidrAffinity;
    bool found = false;
    for (usize i = 0; i < p.cpu_count; ++i) {
        bool boot = (p.cpu_mpidr[i] & kMpidrAffinity) == me;
        // The boot CPU already runs under passage, whatever its enable-method.
        if (!boot && p.cpu_enable[i] == CpuEnable::SpinTable) {
            ++out.refused;
            continue;
        }
        if (boot) {
            found = true;
            out.boot = out.count;
        }
        out.mpidr[out.count++] = p.cpu_mpidr[i];
    }
    if (!found) {
        return fail(diag, Error::Unsupported, me,
                    "the boot CPU (MPIDR 0x%llx) is not among the %zu CPUs passage supports (the first %zu of /cpus, which has %zu)",
                    (ull)me, p.cpu_count, Platform::kMaxCpus, p.cpu_count + p.cpus_ignored);
    }
    return {};
}

void print_guest_cpus(const Platform& p, const GuestCpus& cpus)
{
    for (usize i = 0; i < p.cpu_count; ++i) {
        bool kept = false;
        for (usize j = 0; j < cpus.count; ++j) kept = kept || cpus.mpidr[j] == p.cpu_mpidr[i];
        if (!kept)
            log_info("guest: cpu mpidr 0x%llx refused: enable-method spin-table (passage starts CPUs through PSCI only); "
                     "removed from the guest's tree, its release address unmapped",
                     (ull)p.cpu_mpidr[i]);
    }
    if (p.cpus_ignored > 0)
        log_info("guest: %zu CPUs beyond the %zu passage supports removed from the guest's tree", p.cpus_ignored,
                 Platform::kMaxCpus);
    log_info("guest: %zu CPUs, boot CPU mpidr 0x%llx", cpus.count, (ull)cpus.mpidr[cpus.boot]);
}

}  // namespace passage::plan
