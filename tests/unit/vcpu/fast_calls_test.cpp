// vectors.S's fast path for HVC/SMC against handle_psci: for every function
// ID of the SMCCC ranges (and random x0 values), an ID the table answers is
// answered the same by handle_psci, whatever the arguments and CPU states,
// without an action and without touching the CPU table. So the fast path
// can never answer differently from the slow one.
#include <catch2/catch.hpp>

#include <cstring>

#include "passage/vcpu/fast_calls.h"

using namespace passage;
using namespace passage::vcpu;

namespace {

constexpr FastCallTable kTable = build_fast_call_table();

struct Rng {
    u64 s = 0x9e3779b97f4a7c15ull;
    u64 next()
    {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
};

struct Checker {
    MemRange ram[2] = {{0x40000000, 0x200000}, {0x40400000, 0x3fc00000}};
    Rng rng;
    usize checked = 0, answered = 0;

    VcpuSet cpus(int variant)
    {
        VcpuSet c;
        c.count = 3;
        for (usize i = 0; i < c.count; ++i) c.mpidr[i] = 0x80000000 | i;
        const CpuState states[4] = {CpuState::Off, CpuState::OnPending, CpuState::On, CpuState::OffPending};
        c.state[0] = CpuState::On;
        c.state[1] = states[variant & 3];
        c.state[2] = states[(variant >> 2) & 3];
        return c;
    }

    // False (and a Catch2 failure naming the ID) when the two paths disagree.
    bool check(u64 x0)
    {
        ++checked;
        const FastCallAnswer fast = fast_call_answer(kTable, x0);
        if (fast.needs_cpp) return true;
        ++answered;
        for (int variant = 0; variant < 3; ++variant) {
            VcpuSet c = cpus(variant * 5);
            const VcpuSet before = c;
            // Arguments that make the known calls succeed (a CPU of the
            // table, an entry in RAM) or anything.
            const u64 a1 = variant == 0 ? 1 : rng.next(), a2 = variant == 0 ? 0x40500000 : rng.next(), a3 = rng.next();
            const PsciOutcome o = handle_psci(c, 0, ram, 2, x0, a1, a2, a3);
            if (o.action != PsciAction::Return || o.ret != fast.x0 ||
                std::memcmp(&c, &before, sizeof c) != 0) {
                FAIL("fast path and handle_psci disagree on x0 = 0x" << std::hex << x0 << ": fast " << std::dec
                     << fast.x0 << ", handle_psci action " << int(o.action) << " ret " << o.ret);
                return false;
            }
        }
        return true;
    }
};

}  // namespace

TEST_CASE("fast calls: the table answers PSCI_VERSION and refuses unknown IDs")
{
    CHECK(fast_call_answer(kTable, psci_fn::kVersion).x0 == 0x10001);
    CHECK_FALSE(fast_call_answer(kTable, psci_fn::kVersion).needs_cpp);
    // The SVE hint and the upper half of x0 are not part of the function.
    CHECK(fast_call_answer(kTable, 0xdead0000'00000000ull | psci_fn::kVersion | kSmcccSveHint).x0 == 0x10001);
    CHECK(fast_call_answer(kTable, psci_fn::kMigrateInfoType).x0 == kMigrateNotNeeded);
    for (u64 unknown : {0x86000000ull, 0ull, 0xffffffffull, 0xC2000000ull, 0x84000005ull, 0x8400000Bull})
        CHECK(fast_call_answer(kTable, unknown).x0 == psci_ret::kNotSupported);
    for (const PsciCall& c : kPsciCalls) {
        CHECK(fast_call_answer(kTable, c.fid).needs_cpp == !c.constant);
        CHECK(fast_call_answer(kTable, c.fid | kSmcccSveHint).needs_cpp == !c.constant);
    }
}

TEST_CASE("fast calls: the table stays short")
{
    usize n = 0;
    while (kTable.entry[n].first != 0xffffffffu) ++n;
    CHECK(n <= 10);  // each entry is a step of vectors.S's search
    for (usize i = 1; i <= n; ++i) CHECK(kTable.entry[i - 1].first + kTable.entry[i - 1].count - 1 < kTable.entry[i].first);
}

TEST_CASE("fast calls: every ID of the SMCCC ranges is answered as handle_psci answers it")
{
    Checker k;
    bool ok = true;
    // The whole 16-bit function space of the owners passage answers for
    // (Arm architecture calls, standard secure service = PSCI), both
    // conventions, with and without the SVE hint.
    for (u32 top : {0x80u, 0xC0u, 0x84u, 0xC4u})
        for (u32 fn = 0; fn <= 0xffff && ok; ++fn) ok = k.check(u64(top) << 24 | fn);
    // Every other owner and call type: the first 1024 functions, and bits
    // 23:16 (bit 16 the SVE hint) set.
    for (u32 top = 0; top <= 0xff && ok; ++top)
        for (u32 fn = 0; fn < 0x400 && ok; ++fn) {
            ok = k.check(u64(top) << 24 | fn);
            ok = ok && k.check(u64(top) << 24 | kSmcccSveHint | fn);
            ok = ok && k.check(u64(top) << 24 | 0x00fe0000 | fn);
        }
    // Random x0 values, and known IDs with junk in the upper half.
    for (int i = 0; i < 200000 && ok; ++i) {
        const u64 r = k.rng.next();
        ok = k.check(r);
        ok = ok && k.check((r & ~u64{0xffffffff}) | kPsciCalls[r % (sizeof kPsciCalls / sizeof kPsciCalls[0])].fid);
    }
    CHECK(ok);
    CHECK(k.answered > k.checked / 2);  // the fast path answers most IDs
}
