// PSCI 1.1 and SMCCC as the guest sees them (DEN0022, DEN0028). Portable:
// handle_psci() decides what a call means and what to answer; the arch layer
// carries out the action (start a physical CPU, power off, forward a call to
// the real firmware).
#pragma once

#include "passage/platform.h"
#include "passage/result.h"

namespace passage::vcpu {

namespace psci_fn {
constexpr u32 kVersion = 0x84000000;
constexpr u32 kCpuSuspend32 = 0x84000001;
constexpr u32 kCpuSuspend64 = 0xC4000001;
constexpr u32 kCpuOff = 0x84000002;
constexpr u32 kCpuOn32 = 0x84000003;
constexpr u32 kCpuOn64 = 0xC4000003;
constexpr u32 kAffinityInfo32 = 0x84000004;
constexpr u32 kAffinityInfo64 = 0xC4000004;
constexpr u32 kMigrateInfoType = 0x84000006;
constexpr u32 kSystemOff = 0x84000008;
constexpr u32 kSystemReset = 0x84000009;
constexpr u32 kFeatures = 0x8400000A;
constexpr u32 kSmcccVersion = 0x80000000;
constexpr u32 kSmcccArchFeatures = 0x80000001;
constexpr u32 kArchWorkaround1 = 0x80008000;
constexpr u32 kArchWorkaround2 = 0x80007fff;
constexpr u32 kArchWorkaround3 = 0x80003fff;
}  // namespace psci_fn

namespace psci_ret {
constexpr i64 kSuccess = 0;
constexpr i64 kNotSupported = -1;
constexpr i64 kInvalidParameters = -2;
constexpr i64 kDenied = -3;
constexpr i64 kAlreadyOn = -4;
constexpr i64 kOnPending = -5;
constexpr i64 kInvalidAddress = -9;
}  // namespace psci_ret

constexpr u64 kPsciVersion11 = 0x10001;
constexpr i64 kMigrateNotNeeded = 2;  // MIGRATE_INFO_TYPE: no trusted OS that needs migration

// Every function handle_psci does anything with but refuse (NOT_SUPPORTED),
// and whether its answer is a constant. The one list the fast path is built
// from (fast_calls.h): a constant call is answered by vectors.S before any
// register is saved, the others reach handle_psci, and an ID not listed is
// refused there too. handle_psci answers the constant ones from this list;
// tests/unit/vcpu/fast_calls_test.cpp checks every ID against it.
struct PsciCall {
    u32 fid;
    bool constant;  // answered `answer` whatever the arguments and CPU states
    i64 answer;
};
inline constexpr PsciCall kPsciCalls[] = {
    {psci_fn::kVersion, true, i64(kPsciVersion11)},
    // CPU_SUSPEND is a constant SUCCESS too, but stays in C++: it is the
    // guest's idle loop, and the trap path's poll (DMA faults to the log)
    // should run while the guest idles.
    {psci_fn::kCpuSuspend32, false, 0},
    {psci_fn::kCpuSuspend64, false, 0},
    {psci_fn::kCpuOff, false, 0},
    {psci_fn::kCpuOn32, false, 0},
    {psci_fn::kCpuOn64, false, 0},
    {psci_fn::kAffinityInfo32, false, 0},
    {psci_fn::kAffinityInfo64, false, 0},
    {psci_fn::kMigrateInfoType, true, kMigrateNotNeeded},
    {psci_fn::kSystemOff, false, 0},
    {psci_fn::kSystemReset, false, 0},
    {psci_fn::kFeatures, false, 0},
    {psci_fn::kSmcccVersion, false, 0},
    {psci_fn::kSmcccArchFeatures, false, 0},
    {psci_fn::kArchWorkaround1, false, 0},
    {psci_fn::kArchWorkaround2, false, 0},
    {psci_fn::kArchWorkaround3, false, 0},
};

// SMCCC 1.3: bit 16 of a function ID is the caller's "no live SVE state"
// hint; the callee ignores it when it decides which function was called.
constexpr u32 kSmcccSveHint = u32{1} << 16;
constexpr u32 smccc_function(u64 x0) { return u32(x0) & ~kSmcccSveHint; }

// OffPending: the CPU called CPU_OFF and passage passed it to the firmware,
// which may not have finished; only the firmware can say when it is off.
enum class CpuState : u8 { Off, OnPending, On, OffPending };

// The guest's view of its CPUs: one per physical CPU, identity MPIDRs.
struct VcpuSet {
    static constexpr usize kMax = Platform::kMaxCpus;
    u64 mpidr[kMax] = {};
    CpuState state[kMax] = {};
    usize count = 0;

    // Index of the CPU with this MPIDR (affinity fields only), or -1.
    int find(u64 mpidr_value) const;
};

enum class PsciAction : u8 {
    Return,     // put `ret` in x0 and resume
    CpuOn,      // start physical CPU `cpu` for the guest at `entry` with x0 = `context`; x0 = SUCCESS
    CpuOff,     // this CPU leaves the guest: firmware CPU_OFF; if it returns, psci_cpu_off_refused()
    AskFirmwareOff,  // AFFINITY_INFO of OffPending `cpu`: ask the firmware, then psci_affinity_answer()
    SystemOff,
    SystemReset,
    Forward,    // pass the call (`fid`, `arg1`, x2, x3) to the real firmware and return its x0-x3
};

struct PsciOutcome {
    PsciAction action = PsciAction::Return;
    i64 ret = psci_ret::kNotSupported;
    usize cpu = 0;
    u64 entry = 0;
    u64 context = 0;
    u32 fid = 0;   // for Forward: the function, without the SVE hint
    u64 arg1 = 0;  // for Forward: x1 (a function ID in it without the hint too)
    CpuState prior = CpuState::Off;  // for CpuOn: the target's state before (psci_cpu_on_failed)
};

// Answers one PSCI/SMCCC call (x0 = fid, x1-x3 the arguments) as the guest's
// firmware: what passage knows it answers or emulates on `cpus`; the SMCCC
// workaround queries are forwarded; anything else gets NOT_SUPPORTED.
PsciOutcome handle_psci(VcpuSet& cpus, usize caller, const MemRange* ram, usize ram_count, u64 fid, u64 a1, u64 a2,
                        u64 a3);

// The firmware refused this CPU's CPU_OFF (its call returned): the CPU is
// still on. Returns what the guest gets (DENIED).
i64 psci_cpu_off_refused(VcpuSet& cpus, usize cpu);

// The firmware's AFFINITY_INFO answer for an OffPending CPU: once it says
// OFF the table agrees. Returns the guest's answer from the table (a CPU
// started again in between is reported as it is now).
i64 psci_affinity_answer(VcpuSet& cpus, usize cpu, i64 firmware);

// A failed CPU_ON: the firmware did not start `cpu`; it goes back to the
// state it had before the call (the outcome's `prior`: Off, or OffPending
// when it may not have finished turning off).
void psci_cpu_on_failed(VcpuSet& cpus, usize cpu, CpuState prior);

// Whether handle_psci reads or writes `cpus` for this call (CPU_ON, CPU_OFF,
// AFFINITY_INFO): only those need the lock that guards the CPU table.
constexpr bool psci_uses_cpu_table(u64 fid)
{
    switch (smccc_function(fid)) {
    case psci_fn::kCpuOff:
    case psci_fn::kCpuOn32:
    case psci_fn::kCpuOn64:
    case psci_fn::kAffinityInfo32:
    case psci_fn::kAffinityInfo64: return true;
    default: return false;
    }
}

}  // namespace passage::vcpu
