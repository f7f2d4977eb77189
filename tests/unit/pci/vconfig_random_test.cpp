// Random guests: sequences of writes to BARs, ROMs, bridge windows and
// Command (sizing, moves, addresses over RAM, other BARs and nothing),
// checked after every write against the reference router (vconfig_rig.cpp)
// and the hardware's registers.
#include <catch2/catch.hpp>

#include <random>

#include "passage/pci/regs.h"
#include "vconfig_rig.h"

using namespace passage;
using namespace passage::pci;
using namespace passage::pci::test;

TEST_CASE("vconfig: random guest writes keep stage 2 equal to what the fabric routes")
{
    const u32 seed = GENERATE(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u);
    std::mt19937 rng(seed);
    auto pick = [&](u32 n) { return u32(rng() % n); };
    Rig r;
    std::vector<Bdf> fns;
    for (const PciFunction& f : r.table.functions()) fns.push_back(f.bdf);
    for (int step = 0; step < 400; ++step) {
        const PciFunction& f = r.fn(fns[pick(u32(fns.size()))]);
        u16 reg = 0;
        u32 value = 0;
        switch (pick(4)) {
        case 0: reg = 0x04; value = pick(4) == 0 ? 0 : 0x7; break;
        case 1: reg = f.is_bridge ? u16(0x10 + 4 * pick(2)) : u16(0x10 + 4 * pick(6)); break;
        case 2: reg = f.is_bridge ? 0x38 : 0x30; break;
        default: reg = f.is_bridge ? u16(0x1c + 4 * pick(6)) : u16(0x10 + 4 * pick(6)); break;
        }
        if (reg != 0x04) {
            switch (pick(6)) {
            case 0: value = 0xffffffff; break;                                 // sizing
            case 1: value = u32(0x10000000 + pick(0x200) * 0x100) | pick(2); break;  // sub-page places, ROM enable
            case 2: value = u32(0x10000000 + pick(64) * 0x100000); break;     // window-sized steps
            case 3: value = 0x40000000 | pick(2); break;                       // RAM
            case 4: value = u32(r.fn(fns[pick(u32(fns.size()))]).bars[0].pci_addr); break;  // another BAR
            default: value = u32(rng()); break;
            }
        }
        if (f.is_bridge && reg >= 0x1c && reg <= 0x30 && pick(2) == 0)
            value = (0x1000 + pick(0x20) * 0x10) | (0x1000 + pick(0x20) * 0x10) << 16;  // plausible windows
        INFO("seed " << seed << " step " << step << ": " << unsigned(f.bdf.bus) << ":" << unsigned(f.bdf.dev) << "."
                     << unsigned(f.bdf.fn) << " +0x" << std::hex << reg << " = 0x" << value);
        r.wr(f.bdf, reg, value);
        r.check_physical_unchanged();
        r.check_router();
        if (step % 50 == 0) {
            // A guest that toggles decoding in a loop changes nothing lasting.
            for (int k = 0; k < 4; ++k) r.wr(f.bdf, 0x04, k % 2 == 0 ? 0 : 0x7);
            r.check_router();
        }
    }
}
