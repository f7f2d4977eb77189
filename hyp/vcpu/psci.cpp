#include "passage/vcpu/psci.h"

namespace passage::vcpu {
namespace {

constexpr u64 kAffinityMask = 0xff00ffffffull;  // Aff3 [39:32], Aff2-Aff0 [23:0]

bool in_ram(const MemRange* ram, usize n, u64 addr)
{
    for (usize i = 0; i < n; ++i)
        if (addr >= ram[i].base && addr - ram[i].base < ram[i].size) return true;
    return false;
}

PsciOutcome ret(i64 v)
{
    PsciOutcome o;
    o.ret = v;
    return o;
}

bool answered_here(u32 fid)
{
    using namespace psci_fn;
    switch (fid) {
    case kVersion: case kCpuSuspend32: case kCpuSuspend64: case kCpuOff: case kCpuOn32: case kCpuOn64:
    case kAffinityInfo32: case kAffinityInfo64: case kMigrateInfoType: case kSystemOff: case kSystemReset:
    case kFeatures:
        return true;
    default:
        return false;
    }
}

PsciOutcome cpu_on(VcpuSet& cpus, const MemRange* ram, usize ram_count, u64 target, u64 entry, u64 context)
{
    int idx = cpus.find(target);
    if (idx < 0) return ret(psci_ret::kInvalidParameters);
    if (cpus.state[idx] == CpuState::On) return ret(psci_ret::kAlreadyOn);
    if (cpus.state[idx] == CpuState::OnPending) return ret(psci_ret::kOnPending);
    if ((entry & 3) != 0 || !in_ram(ram, ram_count, entry)) return ret(psci_ret::kInvalidAddress);
    cpus.state[idx] = CpuState::OnPending;
    PsciOutcome o;
    o.action = PsciAction::CpuOn;
    o.ret = psci_ret::kSuccess;
    o.cpu = usize(idx);
    o.entry = entry;
    o.context = context;
    return o;
}

}  // namespace

int VcpuSet::find(u64 mpidr_value) const
{
    for (usize i = 0; i < count; ++i)
        if ((mpidr[i] & kAffinityMask) == (mpidr_value & kAffinityMask)) return int(i);
    return -1;
}

PsciOutcome handle_psci(VcpuSet& cpus, usize caller, const MemRange* ram, usize ram_count, u64 fid64, u64 a1, u64 a2,
                        u64 a3)
{
    using namespace psci_fn;
    // SMC32 calls take 32-bit arguments: the upper halves are ignored.
    u32 fid = u32(fid64);
    bool smc32 = (fid & 0x40000000) == 0;
    if (smc32) {
        a1 = u32(a1);
        a2 = u32(a2);
        a3 = u32(a3);
    }
    switch (fid) {
    case kVersion: return ret(i64(kPsciVersion11));
    case kCpuSuspend32:
    case kCpuSuspend64:
        return ret(psci_ret::kSuccess);  // passage takes no interrupts: returning at once is a valid wake-up
    case kCpuOff: {
        PsciOutcome o;
        o.action = PsciAction::CpuOff;
        o.ret = psci_ret::kDenied;  // only seen if the real CPU_OFF returns
        cpus.state[caller] = CpuState::Off;
        return o;
    }
    case kCpuOn32:
    case kCpuOn64: return cpu_on(cpus, ram, ram_count, a1, a2, a3);
    case kAffinityInfo32:
    case kAffinityInfo64: {
        if (a2 != 0) return ret(psci_ret::kInvalidParameters);  // lowest affinity level only
        int idx = cpus.find(a1);
        if (idx < 0) return ret(psci_ret::kInvalidParameters);
        return ret(cpus.state[idx] == CpuState::On ? 0 : cpus.state[idx] == CpuState::Off ? 1 : 2);
    }
    case kMigrateInfoType: return ret(2);  // no trusted OS that needs migration
    case kSystemOff: {
        PsciOutcome o;
        o.action = PsciAction::SystemOff;
        return o;
    }
    case kSystemReset: {
        PsciOutcome o;
        o.action = PsciAction::SystemReset;
        return o;
    }
    case kFeatures: {
        u32 q = u32(a1);
        if (answered_here(q)) return ret(psci_ret::kSuccess);
        if (q == kSmcccVersion) {
            PsciOutcome o;  // whatever the real firmware says about SMCCC
            o.action = PsciAction::Forward;
            return o;
        }
        return ret(psci_ret::kNotSupported);
    }
    case kSmcccVersion:
    case kSmcccArchFeatures:
    case kArchWorkaround1:
    case kArchWorkaround2:
    case kArchWorkaround3: {
        // Never "unaffected" on faith: the real firmware knows the CPU.
        PsciOutcome o;
        o.action = PsciAction::Forward;
        return o;
    }
    default: return ret(psci_ret::kNotSupported);
    }
}

}  // namespace passage::vcpu
