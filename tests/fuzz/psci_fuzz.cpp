// Fuzzer 6: PSCI/SMCCC calls in sequences, as guest CPUs make them, over a
// CPU table of 1-8 CPUs with MPIDRs from the input; between calls the arch
// layer's own moves (a pending CPU enters the guest, or the firmware
// refuses to start it). Every call comes from a CPU that is on. Checks,
// from PSCI 1.1 (DEN0022D) and SMCCC (DEN0028):
//   - each function answers only codes the spec gives it; unknown IDs get
//     NOT_SUPPORTED, and PSCI_FEATURES says SUCCESS exactly for the
//     functions that are implemented;
//   - CPU_ON: an unknown MPIDR is INVALID_PARAMETERS, an ON CPU ALREADY_ON,
//     a pending one ON_PENDING, an entry point outside guest RAM (or not
//     word aligned) INVALID_ADDRESS; otherwise that CPU (never one past the
//     table) starts pending at the entry with the context;
//   - AFFINITY_INFO at level 0 reports the table's state, and asks the
//     firmware about a CPU that called CPU_OFF (OFF only once it says so);
//   - the CPU table changes only OFF or OFF_PENDING -> ON_PENDING (CPU_ON's
//     target) and ON -> OFF_PENDING (CPU_OFF's caller), and only for the
//     calls psci_uses_cpu_table() names: everything else leaves it byte for
//     byte; a refused CPU_ON or CPU_OFF puts the CPU back;
//   - function IDs with the SMCCC 1.3 SVE hint (bit 16) are the same calls;
//   - a call vectors.S's fast path answers (fast_calls.h) gets that answer
//     from handle_psci too, with no action and the CPU table untouched.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_input.h"
#include "passage/vcpu/fast_calls.h"
#include "passage/vcpu/psci.h"

using namespace passage;
using namespace passage::vcpu;

using passage::fuzzing::Input;

namespace {

[[noreturn]] void violated(const char* what, u64 fid, i64 ret = 0, u64 x = 0)
{
    std::fprintf(stderr, "psci fuzz: %s (fid 0x%llx, ret %lld, 0x%llx)\n", what, (unsigned long long)fid,
                 (long long)ret, (unsigned long long)x);
    std::abort();
}

// Guest RAM with a hole (where passage sits) and a part above 4 GiB that
// SMC32 calls cannot name.
constexpr MemRange kRam[] = {{0x40000000, 0x200000}, {0x40400000, 0x3fc00000}, {0x8000000000, 0x40000000}};
constexpr u64 kAffinity = 0xff00ffffffull;  // MPIDR Aff3 and Aff2-Aff0 (DEN0022 5.1.4)

bool in_ram(u64 a)
{
    for (const MemRange& r : kRam)
        if (a >= r.base && a - r.base < r.size) return true;
    return false;
}

constexpr u32 kFids[] = {
    psci_fn::kVersion,        psci_fn::kCpuSuspend32,   psci_fn::kCpuSuspend64,     psci_fn::kCpuOff,
    psci_fn::kCpuOn32,        psci_fn::kCpuOn64,        psci_fn::kAffinityInfo32,   psci_fn::kAffinityInfo64,
    psci_fn::kMigrateInfoType, psci_fn::kSystemOff,     psci_fn::kSystemReset,      psci_fn::kFeatures,
    psci_fn::kSmcccVersion,   psci_fn::kSmcccArchFeatures, psci_fn::kArchWorkaround1, psci_fn::kArchWorkaround2,
    psci_fn::kArchWorkaround3,
    0x84000005,  // MIGRATE: a trusted OS passage does not have
    0x84000007,  // MIGRATE_INFO_UP_CPU
    0xC4000012,  // SYSTEM_RESET2
    0xC400000E,  // SYSTEM_SUSPEND
    0x84000002 | 0x40000000,  // no SMC64 CPU_OFF
    0xC2000000,  // an SiP call
    psci_fn::kCpuOn64 | kSmcccSveHint, psci_fn::kCpuOff | kSmcccSveHint,  // SMCCC 1.3's SVE hint
    psci_fn::kSmcccArchFeatures | kSmcccSveHint,
};

// Only functions that exist in the PSCI function range or SMCCC's arch
// calls can be answered with anything but NOT_SUPPORTED.
bool implemented(u32 fid)
{
    using namespace psci_fn;
    switch (fid) {
    case kVersion: case kCpuSuspend32: case kCpuSuspend64: case kCpuOff: case kCpuOn32: case kCpuOn64:
    case kAffinityInfo32: case kAffinityInfo64: case kMigrateInfoType: case kSystemOff: case kSystemReset:
    case kFeatures:
        return true;
    default: return false;
    }
}

void check_codes(u32 fid, const PsciOutcome& o)
{
    using namespace psci_fn;
    const i64 r = o.ret;
    const bool ret = o.action == PsciAction::Return;
    bool ok = false;
    switch (fid) {
    case kVersion: ok = ret && r == i64(kPsciVersion11); break;
    case kCpuSuspend32:
    case kCpuSuspend64: ok = ret && (r == 0 || r == psci_ret::kInvalidParameters || r == psci_ret::kInvalidAddress ||
                                     r == psci_ret::kDenied); break;
    case kCpuOff: ok = o.action == PsciAction::CpuOff && r == psci_ret::kDenied; break;
    case kCpuOn32:
    case kCpuOn64:
        ok = (o.action == PsciAction::CpuOn && r == 0) ||
             (ret && (r == psci_ret::kInvalidParameters || r == psci_ret::kInvalidAddress ||
                      r == psci_ret::kAlreadyOn || r == psci_ret::kOnPending));
        break;
    case kAffinityInfo32:
    case kAffinityInfo64:
        ok = o.action == PsciAction::AskFirmwareOff || (ret && ((r >= 0 && r <= 2) || r == psci_ret::kInvalidParameters));
        break;
    case kMigrateInfoType: ok = ret && r >= 0 && r <= 2; break;
    case kSystemOff: ok = o.action == PsciAction::SystemOff; break;
    case kSystemReset: ok = o.action == PsciAction::SystemReset; break;
    case kFeatures: ok = o.action == PsciAction::Forward || (ret && (r == 0 || r == psci_ret::kNotSupported)); break;
    case kSmcccArchFeatures:
        ok = o.action == PsciAction::Forward || (ret && (r == 0 || r == psci_ret::kNotSupported));
        break;
    case kSmcccVersion:
    case kArchWorkaround1:
    case kArchWorkaround2:
    case kArchWorkaround3: ok = o.action == PsciAction::Forward || (ret && r == psci_ret::kNotSupported); break;
    default: ok = ret && r == psci_ret::kNotSupported; break;
    }
    if (!ok) violated("an answer the spec does not give this function", fid, r, u64(o.action));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const u8* data, usize size)
{
    Input in{data, size};
    const u8 setup = in.take<u8>();
    VcpuSet cpus;
    cpus.count = 1 + (setup & 7);
    for (usize i = 0; i < VcpuSet::kMax; ++i) {
        const u32 aff = in.take<u32>();
        // Aff0-Aff2 from the input, Aff3 sometimes, bit 31 (RES1) and now and then MT (bit 24).
        cpus.mpidr[i] = 0x80000000u | (aff & 0x01ffffff) | (u64(aff >> 25 & 3) << 32);
        cpus.state[i] = CpuState::Off;
        for (usize j = 0; j < i && i < cpus.count; ++j)
            if ((cpus.mpidr[j] & kAffinity) == (cpus.mpidr[i] & kAffinity)) return 0;  // a device tree must not repeat a CPU
    }
    const usize boot = (setup >> 3) % cpus.count;
    cpus.state[boot] = CpuState::On;  // the boot CPU enters the guest; the others wait for CPU_ON
    // The firmware's side: whether a CPU that called CPU_OFF is off by now,
    // and the state a pending CPU_ON's target had before it.
    bool fw_off[VcpuSet::kMax] = {};
    CpuState prior[VcpuSet::kMax] = {};

    for (unsigned step = 0; in.n > 0 && step < 128; ++step) {
        const u8 op = in.take<u8>();
        const u8 who = in.take<u8>();
        // The arch layer's moves: a started CPU enters the guest, or the
        // firmware refused to start it (trap.cpp puts it back); a CPU that
        // called CPU_OFF goes off in the firmware, or the firmware refused.
        if ((op & 0xc0) == 0xc0) {
            const usize j = who % cpus.count;
            if (cpus.state[j] == CpuState::OnPending && (op & 1) == 0) {
                cpus.state[j] = CpuState::On;
                fw_off[j] = false;
            } else if (cpus.state[j] == CpuState::OnPending) {
                psci_cpu_on_failed(cpus, j, prior[j]);
                if (cpus.state[j] != prior[j]) violated("a failed CPU_ON did not restore the state", 0, 0, j);
            } else if (cpus.state[j] == CpuState::OffPending && !fw_off[j]) {
                if ((op & 2) != 0) fw_off[j] = true;
                else if (psci_cpu_off_refused(cpus, j) != psci_ret::kDenied || cpus.state[j] != CpuState::On)
                    violated("a refused CPU_OFF did not leave the CPU on", 0, 0, j);
            }
            continue;
        }
        usize on[VcpuSet::kMax], n_on = 0;
        for (usize j = 0; j < cpus.count; ++j)
            if (cpus.state[j] == CpuState::On) on[n_on++] = j;
        const u64 fid_raw = in.take<u64>();
        const u8 target = in.take<u8>();
        const u64 a1_raw = in.take<u64>();
        const u8 where = in.take<u8>();
        const u64 a2_raw = in.take<u64>();
        const u64 a3 = in.take<u64>();
        if (n_on == 0) continue;  // nobody left to call
        const usize caller = on[who % n_on];
        // The function ID: a known one (upper half of x0 junk or not), or anything.
        u64 fid = (op & 0x20) != 0 ? fid_raw : kFids[op % (sizeof kFids / sizeof kFids[0])];
        if ((op & 0x10) != 0) fid |= fid_raw & ~u64{0xffffffff};
        // x1: a CPU of the table (with junk outside the affinity fields
        // now and then), a slot past the table, or anything.
        u64 a1 = a1_raw;
        if ((target & 3) != 3) {
            a1 = cpus.mpidr[(target >> 2) % VcpuSet::kMax];
            if ((target & 3) == 1) a1 |= a1_raw & ~kAffinity;
        }
        // x2: an entry point at the edges of guest RAM or its holes, or anything.
        u64 a2 = a2_raw;
        if ((where & 3) != 3) {
            const MemRange& r = kRam[(where >> 2) % 3];
            const u64 edges[] = {r.base, r.base + r.size - 4, r.base + r.size, r.base - 4, r.base + (a2_raw % r.size)};
            a2 = edges[(where >> 4) % 5] + ((where & 3) == 2 ? (a2_raw & 3) : 0);
        }
        if ((where & 0x80) != 0) a2 = u32(a2);

        const VcpuSet before = cpus;
        const PsciOutcome o = handle_psci(cpus, caller, kRam, 3, fid, a1, a2, a3);
        const u32 f = smccc_function(fid);
        check_codes(f, o);
        static constexpr FastCallTable kFast = build_fast_call_table();
        if (const FastCallAnswer fast = fast_call_answer(kFast, fid); !fast.needs_cpp) {
            if (o.action != PsciAction::Return || o.ret != fast.x0)
                violated("the fast path answers other than handle_psci", fid, o.ret, u64(fast.x0));
            if (std::memcmp(&cpus, &before, sizeof cpus) != 0) violated("a call the fast path answers changed the table", fid);
        }
        if (o.action == PsciAction::CpuOn) prior[o.cpu] = before.state[o.cpu];

        // The table: who may change, and how.
        if (std::memcmp(cpus.mpidr, before.mpidr, sizeof cpus.mpidr) != 0 || cpus.count != before.count)
            violated("the CPU table's MPIDRs or count changed", fid);
        for (usize j = 0; j < VcpuSet::kMax; ++j) {
            if (cpus.state[j] == before.state[j]) continue;
            if (!psci_uses_cpu_table(fid)) violated("a call psci_uses_cpu_table() does not name changed the table", fid, 0, j);
            const bool start = (before.state[j] == CpuState::Off || before.state[j] == CpuState::OffPending) &&
                               cpus.state[j] == CpuState::OnPending && o.action == PsciAction::CpuOn && o.cpu == j;
            const bool stop = before.state[j] == CpuState::On && cpus.state[j] == CpuState::OffPending &&
                              o.action == PsciAction::CpuOff && j == caller;
            if (!start && !stop) violated("a CPU state changed in a way PSCI does not allow", fid, u64(cpus.state[j]), j);
        }
        const bool smc32 = (f & 0x40000000) == 0;
        const u64 x1 = smc32 ? u32(a1) : a1, x2 = smc32 ? u32(a2) : a2, x3 = smc32 ? u32(a3) : a3;
        int idx = -1;
        for (usize j = 0; j < before.count && idx < 0; ++j)
            if ((before.mpidr[j] & kAffinity) == (x1 & kAffinity)) idx = int(j);
        switch (f) {
        case psci_fn::kCpuOn32:
        case psci_fn::kCpuOn64: {
            i64 want = idx < 0                                     ? psci_ret::kInvalidParameters
                       : before.state[idx] == CpuState::On         ? psci_ret::kAlreadyOn
                       : before.state[idx] == CpuState::OnPending  ? psci_ret::kOnPending
                       : (x2 & 3) != 0 || !in_ram(x2)              ? psci_ret::kInvalidAddress
                                                                   : psci_ret::kSuccess;
            if (o.ret != want) violated("CPU_ON answered other than the spec says", fid, o.ret, u64(want));
            if (want == psci_ret::kSuccess) {
                if (o.action != PsciAction::CpuOn || o.cpu != usize(idx) || o.entry != x2 || o.context != x3)
                    violated("CPU_ON starts the wrong CPU, entry or context", fid, i64(o.cpu), o.entry);
                if (o.cpu >= cpus.count) violated("CPU_ON of a CPU past the table", fid, i64(o.cpu));
            } else if (o.action != PsciAction::Return) {
                violated("a refused CPU_ON still acts", fid, o.ret);
            }
            break;
        }
        case psci_fn::kCpuOff:
            if (cpus.state[caller] != CpuState::OffPending) violated("CPU_OFF left its caller on", fid, 0, caller);
            break;
        case psci_fn::kAffinityInfo32:
        case psci_fn::kAffinityInfo64: {
            if (x2 == 0 && idx >= 0 && before.state[idx] == CpuState::OffPending) {
                if (o.action != PsciAction::AskFirmwareOff || o.cpu != usize(idx))
                    violated("AFFINITY_INFO of a CPU turning off did not ask the firmware", fid, o.ret, u64(idx));
                const i64 got = psci_affinity_answer(cpus, o.cpu, fw_off[idx] ? 1 : 0);
                if (got != (fw_off[idx] ? 1 : 0)) violated("AFFINITY_INFO disagrees with the firmware", fid, got);
                if (fw_off[idx] && cpus.state[idx] != CpuState::Off) violated("an OFF CPU left OffPending", fid);
                break;
            }
            i64 want = x2 != 0 || idx < 0 ? psci_ret::kInvalidParameters
                                          : before.state[idx] == CpuState::On ? 0 : before.state[idx] == CpuState::Off ? 1 : 2;
            if (o.ret != want) violated("AFFINITY_INFO answered other than the table says", fid, o.ret, u64(want));
            break;
        }
        case psci_fn::kFeatures: {
            // SUCCESS exactly for what is implemented: ask the function
            // itself. PSCI_FEATURES speaks for PSCI functions and
            // SMCCC_VERSION only (DEN0022D 5.1.14); SMCCC_ARCH_FEATURES and
            // the workarounds are found through SMCCC_VERSION.
            const u32 q = smccc_function(x1);
            if ((q & 0xbfffff00) != 0x84000000 && q != psci_fn::kSmcccVersion) break;
            VcpuSet scratch = before;
            const PsciOutcome direct = handle_psci(scratch, caller, kRam, 3, q, 0, 0, 0);
            // (PSCI_FEATURES itself answers NOT_SUPPORTED about function 0.)
            const bool missing = q != psci_fn::kFeatures && direct.action == PsciAction::Return &&
                                 direct.ret == psci_ret::kNotSupported;
            if (o.action == PsciAction::Return && (o.ret == 0) == missing)
                violated("PSCI_FEATURES disagrees with the function it asks about", q, o.ret);
            if (implemented(q) && o.ret != 0) violated("PSCI_FEATURES denies a PSCI 1.1 function", q, o.ret);
            break;
        }
        default: break;
        }
    }
    return 0;
}
