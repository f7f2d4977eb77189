// Random guests: sequences of writes to BARs, ROMs, bridge windows and
// Command (sizing, moves, addresses over RAM, other BARs and nothing),
// checked after every write against the reference router (vconfig_rig.cpp)
// and the hardware's registers.
#include <catch2/catch.hpp>

#include <random>

#include "vconfig_rig.h"

using namespace passage;
using namespace passage::pci;
using namespace passage::pci::test;

TEST_CASE("vconfig: random guest writes keep stage 2 equal to what the fabric routes")
{
    const u32 seed = GENERATE(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u);
    std::mt19937 rng(seed);
    Rig r;
    for (int step = 0; step < 400; ++step) {
        std::string what = r.random_write(rng, false);
        INFO("seed " << seed << " step " << step << ": " << what);
        r.check_physical_unchanged();
        r.check_router();
        if (step % 50 == 0) {
            // A guest that toggles decoding in a loop changes nothing lasting.
            const PciFunction& f = r.table[rng() % r.table.size()];
            for (int k = 0; k < 4; ++k) r.wr(f.bdf, 0x04, k % 2 == 0 ? 0 : 0x7);
            r.check_router();
        }
    }
}

// Byte and word writes at every offset of the special registers.
TEST_CASE("vconfig: random sub-dword guest writes keep stage 2 equal to what the fabric routes")
{
    const u32 seed = GENERATE(range(1u, 9u));
    std::mt19937 rng(seed);
    Rig r;
    for (int step = 0; step < 300; ++step) {
        std::string what = r.random_write(rng, true);
        INFO("seed " << seed << " step " << step << ": " << what);
        r.check_physical_unchanged();
        r.check_router();
    }
}
