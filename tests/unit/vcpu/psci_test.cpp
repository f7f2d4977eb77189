// PSCI as the guest sees it: the spec's answers and error codes, and the
// actions passage must carry out.
#include <catch2/catch.hpp>

#include "passage/vcpu/psci.h"

using namespace passage;
using namespace passage::vcpu;

namespace {

struct Fixture {
    VcpuSet cpus;
    MemRange ram[2] = {{0x40000000, 0x200000}, {0x40400000, 0x3fc00000}};
    Fixture()
    {
        cpus.count = 2;
        cpus.mpidr[0] = 0x80000000;  // MPIDR reads with bit 31 (RES1) set
        cpus.mpidr[1] = 0x80000001;
        cpus.state[0] = CpuState::On;
        cpus.state[1] = CpuState::Off;
    }
    PsciOutcome call(u64 fid, u64 a1 = 0, u64 a2 = 0, u64 a3 = 0, usize caller = 0)
    {
        return handle_psci(cpus, caller, ram, 2, fid, a1, a2, a3);
    }
};

}  // namespace

TEST_CASE("psci: version 1.1 plus features and migrate info")
{
    Fixture f;
    CHECK(f.call(psci_fn::kVersion).ret == 0x10001);
    CHECK(f.call(psci_fn::kFeatures, psci_fn::kCpuOn64).ret == psci_ret::kSuccess);
    CHECK(f.call(psci_fn::kFeatures, psci_fn::kSystemReset).ret == psci_ret::kSuccess);
    CHECK(f.call(psci_fn::kFeatures, 0x84000012).ret == psci_ret::kNotSupported);  // SYSTEM_RESET2
    CHECK(f.call(psci_fn::kFeatures, psci_fn::kSmcccVersion).action == PsciAction::Forward);
    CHECK(f.call(psci_fn::kMigrateInfoType).ret == 2);
    CHECK(f.call(psci_fn::kCpuSuspend64, 0, 0x40400000).ret == psci_ret::kSuccess);
    CHECK(f.call(0xC2000000).ret == psci_ret::kNotSupported);  // an SiP call
}

TEST_CASE("psci: CPU_ON starts an off CPU inside guest RAM and reports it pending")
{
    Fixture f;
    auto o = f.call(psci_fn::kCpuOn64, 1, 0x40500000, 0xc0ffee);
    REQUIRE(o.action == PsciAction::CpuOn);
    CHECK(o.ret == psci_ret::kSuccess);
    CHECK(o.cpu == 1);
    CHECK(o.entry == 0x40500000);
    CHECK(o.context == 0xc0ffee);
    CHECK(f.call(psci_fn::kAffinityInfo64, 1, 0).ret == 2);  // ON_PENDING
    CHECK(f.call(psci_fn::kCpuOn64, 1, 0x40500000).ret == psci_ret::kOnPending);
    f.cpus.state[1] = CpuState::On;
    CHECK(f.call(psci_fn::kCpuOn64, 1, 0x40500000).ret == psci_ret::kAlreadyOn);
    CHECK(f.call(psci_fn::kAffinityInfo64, 1, 0).ret == 0);  // ON
}

TEST_CASE("psci: CPU_ON refuses a bad MPIDR and an entry outside guest RAM")
{
    Fixture f;
    CHECK(f.call(psci_fn::kCpuOn64, 7, 0x40500000).ret == psci_ret::kInvalidParameters);
    CHECK(f.call(psci_fn::kCpuOn64, 1, 0x40200000).ret == psci_ret::kInvalidAddress);  // the hypervisor
    CHECK(f.call(psci_fn::kCpuOn64, 1, 0x09000000).ret == psci_ret::kInvalidAddress);  // MMIO
    CHECK(f.call(psci_fn::kCpuOn64, 1, 0x40500002).ret == psci_ret::kInvalidAddress);  // misaligned
    CHECK(f.cpus.state[1] == CpuState::Off);
    // SMC32 CPU_ON ignores the upper halves of its arguments.
    CHECK(f.call(psci_fn::kCpuOn32, 0xffffffff00000001, 0xffffffff40500000).action == PsciAction::CpuOn);
}

TEST_CASE("psci: CPU_OFF and AFFINITY_INFO levels and the system calls")
{
    Fixture f;
    f.cpus.state[1] = CpuState::On;
    auto off = f.call(psci_fn::kCpuOff, 0, 0, 0, 1);
    CHECK(off.action == PsciAction::CpuOff);
    CHECK(off.cpu == 1);
    // Off only when the firmware says so: until then AFFINITY_INFO asks it.
    auto ask = f.call(psci_fn::kAffinityInfo64, 1, 0);
    REQUIRE(ask.action == PsciAction::AskFirmwareOff);
    CHECK(ask.cpu == 1);
    CHECK(psci_affinity_answer(f.cpus, 1, 0) == 0);  // the firmware: still ON
    CHECK(f.cpus.state[1] == CpuState::OffPending);
    CHECK(psci_affinity_answer(f.cpus, 1, 1) == 1);  // the firmware: OFF
    CHECK(f.call(psci_fn::kAffinityInfo64, 1, 0).ret == 1);  // now from the table
    CHECK(f.call(psci_fn::kAffinityInfo64, 1, 1).ret == psci_ret::kInvalidParameters);
    CHECK(f.call(psci_fn::kAffinityInfo64, 9, 0).ret == psci_ret::kInvalidParameters);
    CHECK(f.call(psci_fn::kSystemOff).action == PsciAction::SystemOff);
    CHECK(f.call(psci_fn::kSystemReset).action == PsciAction::SystemReset);
}

TEST_CASE("psci: a refused CPU_OFF leaves the CPU on")
{
    Fixture f;
    f.cpus.state[1] = CpuState::On;
    auto off = f.call(psci_fn::kCpuOff, 0, 0, 0, 1);
    REQUIRE(off.action == PsciAction::CpuOff);
    CHECK(psci_cpu_off_refused(f.cpus, 1) == psci_ret::kDenied);
    CHECK(f.cpus.state[1] == CpuState::On);
    CHECK(f.call(psci_fn::kAffinityInfo64, 1, 0).ret == 0);  // ON, from the table
}

TEST_CASE("psci: CPU_ON of a CPU still turning off goes back to OffPending when the firmware refuses")
{
    Fixture f;
    f.cpus.state[1] = CpuState::OffPending;
    auto on = f.call(psci_fn::kCpuOn64, 1, 0x40500000);
    REQUIRE(on.action == PsciAction::CpuOn);
    CHECK(on.prior == CpuState::OffPending);
    psci_cpu_on_failed(f.cpus, 1, on.prior);  // the firmware: ALREADY_ON
    CHECK(f.cpus.state[1] == CpuState::OffPending);
    f.cpus.state[1] = CpuState::Off;
    on = f.call(psci_fn::kCpuOn64, 1, 0x40500000);
    REQUIRE(on.action == PsciAction::CpuOn);
    psci_cpu_on_failed(f.cpus, 1, on.prior);
    CHECK(f.cpus.state[1] == CpuState::Off);
}

TEST_CASE("psci: SMCCC version and workaround calls go to the real firmware")
{
    Fixture f;
    for (u32 fid : {psci_fn::kSmcccVersion, psci_fn::kArchWorkaround1, psci_fn::kArchWorkaround2,
                    psci_fn::kArchWorkaround3}) {
        auto o = f.call(fid, 7);
        CHECK(o.action == PsciAction::Forward);
        CHECK(o.fid == fid);
        CHECK(o.arg1 == 7);
    }
}

TEST_CASE("psci: SMCCC_ARCH_FEATURES advertises only what passage answers or forwards")
{
    Fixture f;
    using namespace psci_fn;
    CHECK(f.call(kSmcccArchFeatures, kSmcccVersion).ret == psci_ret::kSuccess);
    CHECK(f.call(kSmcccArchFeatures, kSmcccArchFeatures).ret == psci_ret::kSuccess);
    auto wa = f.call(kSmcccArchFeatures, kArchWorkaround2);
    CHECK(wa.action == PsciAction::Forward);
    CHECK(wa.fid == kSmcccArchFeatures);
    CHECK(wa.arg1 == kArchWorkaround2);
    // SOC_ID, TRNG and the rest: passage refuses the calls, so their features too.
    auto soc = f.call(kSmcccArchFeatures, 0x80000002);
    CHECK(soc.action == PsciAction::Return);
    CHECK(soc.ret == psci_ret::kNotSupported);
    CHECK(f.call(kSmcccArchFeatures, 0x84000050).ret == psci_ret::kNotSupported);
}

TEST_CASE("psci: function IDs with the SMCCC 1.3 SVE hint are the same functions")
{
    Fixture f;
    using namespace psci_fn;
    constexpr u32 kHint = 0x10000;
    CHECK(f.call(kVersion | kHint).ret == 0x10001);
    auto on = f.call(kCpuOn64 | kHint, 1, 0x40500000, 0xc0ffee);
    CHECK(on.action == PsciAction::CpuOn);
    CHECK(psci_uses_cpu_table(kCpuOn64 | kHint));
    CHECK(f.call(kFeatures | kHint, kCpuOff | kHint).ret == psci_ret::kSuccess);
    auto wa = f.call(kArchWorkaround1 | kHint);
    CHECK(wa.action == PsciAction::Forward);
    CHECK(wa.fid == kArchWorkaround1);  // forwarded without the hint
    auto feat = f.call(kSmcccArchFeatures | kHint, kArchWorkaround1 | kHint);
    CHECK(feat.action == PsciAction::Forward);
    CHECK(feat.arg1 == kArchWorkaround1);
}

// The trap path takes the CPU table's lock only for the calls that need it;
// every other call must leave the table alone, from any CPU and in any state.
TEST_CASE("psci: only CPU_ON/CPU_OFF/AFFINITY_INFO use the CPU table")
{
    using namespace psci_fn;
    const u64 table_calls[] = {kCpuOff, kCpuOn32, kCpuOn64, kAffinityInfo32, kAffinityInfo64};
    for (u64 fid : table_calls) CHECK(psci_uses_cpu_table(fid));
    CHECK(psci_uses_cpu_table(u64{0xffffffff00000000} | kCpuOn64));  // the upper half of x0 is ignored

    const u64 other_calls[] = {kVersion, kCpuSuspend32, kCpuSuspend64, kMigrateInfoType, kSystemOff, kSystemReset,
                               kFeatures, kSmcccVersion, kSmcccArchFeatures, kArchWorkaround1, kArchWorkaround2,
                               kArchWorkaround3, 0xC2000000, 0x86000000};
    for (u64 fid : other_calls) {
        CAPTURE(fid);
        CHECK_FALSE(psci_uses_cpu_table(fid));
        for (usize caller = 0; caller < 2; ++caller) {
            Fixture f;
            f.cpus.state[1] = caller == 1 ? CpuState::On : CpuState::OnPending;
            VcpuSet before = f.cpus;
            (void)f.call(fid, 0x80000001, 0x40400000, 0, caller);
            for (usize i = 0; i < VcpuSet::kMax; ++i) {
                CHECK(f.cpus.mpidr[i] == before.mpidr[i]);
                CHECK(f.cpus.state[i] == before.state[i]);
            }
            CHECK(f.cpus.count == before.count);
        }
    }
}
