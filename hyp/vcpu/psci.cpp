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
    // An OffPending CPU is tried too: the firmware answers ALREADY_ON if it
    // is still on its way off, and psci_cpu_on_failed() puts it back.
    PsciOutcome o;
    o.prior = cpus.state[idx];
    cpus.state[idx] = CpuState::OnPending;
    o.action = PsciAction::CpuOn;
    o.ret = psci_ret::kSuccess;
    o.cpu = usize(idx);
    o.entry = entry;
    o.context = context;
    return o;
}

PsciOutcome forward(u32 fid, u64 a1)
{
    PsciOutcome o;
    o.action = PsciAction::Forward;
    o.fid = fid;
    o.arg1 = a1;
    return o;
}

// SMCCC_ARCH_FEATURES(q): SUCCESS for the arch calls passage answers, the
// firmware's word for those it forwards, NOT_SUPPORTED for the rest (a call
// passage would refuse must not be advertised by the firmware's answer).
PsciOutcome arch_features(u32 q)
{
    using namespace psci_fn;
    switch (q) {
    case kSmcccVersion:
    case kSmcccArchFeatures: return ret(psci_ret::kSuccess);
    case kArchWorkaround1:
    case kArchWorkaround2:
    case kArchWorkaround3: return forward(kSmcccArchFeatures, q);
    default: return ret(psci_ret::kNotSupported);
    }
}

}  // namespace

int VcpuSet::find(u64 mpidr_value) const
{
    for (usize i = 0; i < count; ++i)
        if ((mpidr[i] & kAffinityMask) == (mpidr_value & kAffinityMask)) return int(i);
    return -1;
}

i64 psci_cpu_off_refused(VcpuSet& cpus, usize cpu)
{
    cpus.state[cpu] = CpuState::On;
    return psci_ret::kDenied;
}

i64 psci_affinity_answer(VcpuSet& cpus, usize cpu, i64 firmware)
{
    constexpr i64 kOff = 1;
    if (cpus.state[cpu] == CpuState::OffPending && firmware == kOff) cpus.state[cpu] = CpuState::Off;
    switch (cpus.state[cpu]) {
    case CpuState::Off: return 1;
    case CpuState::OnPending: return 2;
    default: return 0;  // On, or OffPending: still on until the firmware says otherwise
    }
}

void psci_cpu_on_failed(VcpuSet& cpus, usize cpu, CpuState prior)
{
    if (cpus.state[cpu] == CpuState::OnPending) cpus.state[cpu] = prior == CpuState::OffPending ? prior : CpuState::Off;
}

PsciOutcome handle_psci(VcpuSet& cpus, usize caller, const MemRange* ram, usize ram_count, u64 fid64, u64 a1, u64 a2,
                        u64 a3)
{
    using namespace psci_fn;
    // SMC32 calls take 32-bit arguments: the upper halves are ignored.
    u32 fid = smccc_function(fid64);
    bool smc32 = (fid & 0x40000000) == 0;
    if (smc32) {
        a1 = u32(a1);
        a2 = u32(a2);
        a3 = u32(a3);
    }
    switch (fid) {
    case kCpuSuspend32:
    case kCpuSuspend64:
        return ret(psci_ret::kSuccess);  // passage takes no interrupts: returning at once is a valid wake-up
    case kCpuOff: {
        // Off only once the firmware says so (AFFINITY_INFO asks it).
        PsciOutcome o;
        o.action = PsciAction::CpuOff;
        o.ret = psci_ret::kDenied;  // only seen if the real CPU_OFF returns
        o.cpu = caller;
        cpus.state[caller] = CpuState::OffPending;
        return o;
    }
    case kCpuOn32:
    case kCpuOn64: return cpu_on(cpus, ram, ram_count, a1, a2, a3);
    case kAffinityInfo32:
    case kAffinityInfo64: {
        if (a2 != 0) return ret(psci_ret::kInvalidParameters);  // lowest affinity level only
        int idx = cpus.find(a1);
        if (idx < 0) return ret(psci_ret::kInvalidParameters);
        if (cpus.state[idx] == CpuState::OffPending) {
            PsciOutcome o;
            o.action = PsciAction::AskFirmwareOff;
            o.cpu = usize(idx);
            return o;
        }
        return ret(psci_affinity_answer(cpus, usize(idx), 0));
    }
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
        u32 q = smccc_function(a1);
        if (answered_here(q)) return ret(psci_ret::kSuccess);
        if (q == kSmcccVersion) return forward(kFeatures, q);  // whatever the real firmware says about SMCCC
        return ret(psci_ret::kNotSupported);
    }
    case kSmcccArchFeatures: return arch_features(smccc_function(a1));
    case kSmcccVersion:
    case kArchWorkaround1:
    case kArchWorkaround2:
    case kArchWorkaround3:
        // Never "unaffected" on faith: the real firmware knows the CPU.
        return forward(fid, a1);
    default:
        // The constant calls (vectors.S answers them before they get here).
        for (const PsciCall& c : kPsciCalls)
            if (c.constant && c.fid == fid) return ret(c.answer);
        return ret(psci_ret::kNotSupported);
    }
}

}  // namespace passage::vcpu
