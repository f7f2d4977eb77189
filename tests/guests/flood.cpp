// The flood check: a guest that hammers the hypervisor with calls it does
// not know and accesses it refuses must get the right answer every time
// and keep running, while passage's console stays quiet after its first
// few lines (the QEMU test counts them).
#include "checks.h"
#include "console.h"
#include "exceptions.h"
#include "mmu.h"
#include "psci.h"

namespace guest {

namespace {

constexpr unsigned kCalls = 4000;
constexpr unsigned kAborts = 1000;
constexpr i64 kNotSupported = -1;

// Function IDs no firmware passage speaks for answers: SiP, OEM and
// standard-service calls, PSCI numbers past 1.1, junk in x0's upper half.
u64 unknown_call(unsigned i)
{
    static constexpr u64 kBases[] = {0x82000000, 0xC2000000, 0x83000000, 0xC3000000, 0x84000040, 0xC4000060,
                                     0x86000000, 0xB0000000};
    return kBases[i % 8] + (i / 8) % 16 + (i % 3 == 0 ? 0xdead000000000000ull : 0);
}

}  // namespace

void check_flood(Context& ctx)
{
    const char* name = "flood";
    const GuestPlatform& p = ctx.plat;
    if (ctx.standalone) return skip(name, "no hypervisor to flood");
    for (unsigned i = 0; i < kCalls; ++i) {
        i64 r = psci::call(unknown_call(i), i, ~u64(i), 0);
        if ((static_cast<u64>(r) & 0xffffffff) != (static_cast<u64>(kNotSupported) & 0xffffffff))  // w0: SMCCC answers in 32 bits
            return fail(name, "call 0x%lx answered %ld, expected NOT_SUPPORTED", unknown_call(i), r);
    }
    u64 hole = 0;
    for (unsigned i = 0; i + 1 < p.mem_count && !hole; ++i)
        if (p.mem[i].end() < p.mem[i + 1].base) hole = p.mem[i].end();
    if (!hole) return fail(name, "no gap between the memory ranges: no hypervisor region to read");
    (void)mmu::map(hole, hole, 4096, mmu::Mem::DeviceNGnRnE);  // abort-in-hypervisor may have mapped it already
    for (unsigned i = 0; i < kAborts; ++i) {
        if (!probe_read32(hole + (i % 512) * 8).abort.taken) return fail(name, "read %u of 0x%lx did not abort", i, hole);
    }
    info("%u unknown calls answered NOT_SUPPORTED, %u reads of 0x%lx aborted", kCalls, kAborts, hole);
    pass(name);
}

}  // namespace guest
