// A page table over a FakeEnv, Hafnium mm_test style: the fixture owns the
// arena, table() shows one table as 512 entries.
#pragma once

#include <span>

#include "fake_env.h"
#include "passage/stage2/page_table.h"

namespace passage::stage2::test {

constexpr Attrs kRam{MemType::NormalWB, Access::RW, true};
constexpr Attrs kRamRo{MemType::NormalWB, Access::RO, false};
constexpr Attrs kMmio{MemType::DeviceNGnRE, Access::RW, false};
constexpr Attrs kBar{MemType::NormalNC, Access::RW, false};
constexpr Attrs kEcam{MemType::DeviceNGnRnE, Access::RW, false};

inline Geometry geometry_for(unsigned ipa_bits)
{
    return make_geometry(CpuFeatures{0b0101, true, true}, ipa_bits).value();
}

struct Fixture {
    explicit Fixture(unsigned ipa_bits = 40, Encoding enc = kNoFwb, usize pages = 8192)
        : env(pages), geo(geometry_for(ipa_bits)), pt(PageTable<FakeEnv>::create(env, geo, enc).value())
    {
    }
    ~Fixture() { pt.destroy(); }

    std::span<const u64, 512> table(PhysAddr pa) { return std::span<const u64, 512>(env.table(pa), 512); }
    std::span<const u64, 512> root(usize page = 0) { return table(pt.root() + page * kPageSize); }
    // The table an entry points at.
    std::span<const u64, 512> below(u64 desc)
    {
        REQUIRE(is_table(desc, 0));
        return table(desc_output(desc));
    }

    FakeEnv env;
    Geometry geo;
    PageTable<FakeEnv> pt;
};

}  // namespace passage::stage2::test
