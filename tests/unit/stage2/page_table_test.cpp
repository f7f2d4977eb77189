// Page-table operations, one behaviour per test case.
#include <catch2/catch.hpp>

#include <utility>
#include <vector>

#include "fixture.h"

using namespace passage;
using namespace passage::stage2;
using namespace passage::stage2::test;

TEST_CASE("a fresh table is the first level only", "[stage2][ops]")
{
    // 40-bit IPA: start level 1 with two concatenated tables, all invalid.
    Fixture f;
    CHECK(f.pt.table_pages() == 2);
    CHECK(f.env.pages_in_use() == 2);
    CHECK(is_aligned(f.pt.root().value, 2 * kPageSize));
    for (usize p = 0; p < 2; ++p)
        for (u64 e : f.root(p)) CHECK(e == 0);
    CHECK(f.pt.lookup(IpaAddr(0)).error() == Error::NotFound);
    CHECK(f.pt.vttbr(7) == (f.pt.root().value | (u64{7} << 48)));
    CHECK(f.pt.vtcr() == f.geo.vtcr);
}

TEST_CASE("an aligned 1 GiB region becomes one level-1 block", "[stage2][ops]")
{
    // Blocks wherever alignment allows: no table below the first level.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(1 * GiB), PhysAddr(3 * GiB), 1 * GiB, kRam).ok());
    CHECK(f.root()[1] == encode_leaf(PhysAddr(3 * GiB), 1, kRam, kNoFwb).value());
    CHECK(f.pt.table_pages() == 2);
    Result<Translation> t = f.pt.lookup(IpaAddr(1 * GiB + 0x1234'5000));
    REQUIRE(t.ok());
    CHECK(t->pa == PhysAddr(3 * GiB + 0x1234'5000));
    CHECK(t->level == 1);
    CHECK(t->size == 1 * GiB);
    CHECK(t->attrs == kRam);
}

TEST_CASE("2 MiB alignment gives level-2 blocks and the rest pages", "[stage2][ops]")
{
    // 4 MiB + 8 KiB from a 2 MiB-aligned start: two blocks and two pages.
    Fixture f;
    const u64 ipa = 0x4000'0000;
    REQUIRE(f.pt.map(IpaAddr(ipa), PhysAddr(0x8020'0000), 4 * MiB + 8 * KiB, kRam).ok());
    auto l2 = f.below(f.root()[1]);
    CHECK(l2[0] == encode_leaf(PhysAddr(0x8020'0000), 2, kRam, kNoFwb).value());
    CHECK(l2[1] == encode_leaf(PhysAddr(0x8040'0000), 2, kRam, kNoFwb).value());
    auto l3 = f.below(l2[2]);
    CHECK(l3[0] == encode_leaf(PhysAddr(0x8060'0000), 3, kRam, kNoFwb).value());
    CHECK(l3[1] == encode_leaf(PhysAddr(0x8060'1000), 3, kRam, kNoFwb).value());
    CHECK(l3[2] == 0);
    CHECK(f.pt.table_pages() == 4);
}

TEST_CASE("output addresses not congruent to a block use pages", "[stage2][ops]")
{
    // IPA and PA 4 KiB apart modulo 2 MiB: no block can ever be used.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x8000'1000), 4 * MiB, kRam).ok());
    auto l2 = f.below(f.root()[1]);
    CHECK(is_table(l2[0], 2));
    CHECK(is_table(l2[1], 2));
    CHECK(f.pt.table_pages() == 2 + 1 + 2);
    CHECK(f.pt.lookup(IpaAddr(0x403f'f000))->pa == PhysAddr(0x8040'0000));
}

TEST_CASE("unmapping one page splits the block around it", "[stage2][ops]")
{
    // A 2 MiB block becomes a table of 511 pages; the rest keeps its mapping.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 2 * MiB, kRam).ok());
    REQUIRE(f.pt.unmap(IpaAddr(0x4010'0000), kPageSize).ok());
    auto l3 = f.below(f.below(f.root()[1])[0]);
    for (usize i = 0; i < 512; ++i) {
        if (i == 256) CHECK(l3[i] == 0);
        else CHECK(l3[i] == encode_leaf(PhysAddr(0x4000'0000 + i * kPageSize), 3, kRam, kNoFwb).value());
    }
    CHECK(f.pt.table_pages() == 4);
}

TEST_CASE("unmapping part of a 1 GiB block splits down two levels", "[stage2][ops]")
{
    // 1 GiB block -> level-2 table of blocks -> one level-3 table.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0), PhysAddr(0), 1 * GiB, kRam).ok());
    REQUIRE(f.pt.unmap(IpaAddr(0x20'3000), kPageSize).ok());
    auto l2 = f.below(f.root()[0]);
    CHECK(l2[0] == encode_leaf(PhysAddr(0), 2, kRam, kNoFwb).value());
    CHECK(is_table(l2[1], 2));
    CHECK(l2[511] == encode_leaf(PhysAddr(511 * 2 * MiB), 2, kRam, kNoFwb).value());
    CHECK(f.pt.lookup(IpaAddr(0x20'3000)).error() == Error::NotFound);
    CHECK(f.pt.lookup(IpaAddr(0x20'4000))->pa == PhysAddr(0x20'4000));
    CHECK(f.pt.table_pages() == 4);
}

TEST_CASE("a table that becomes uniform folds back into a block", "[stage2][ops]")
{
    // Remapping the hole restores the 2 MiB block and frees both tables.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 2 * MiB, kRam).ok());
    const u64 block = f.below(f.root()[1])[0];
    REQUIRE(f.pt.protect(IpaAddr(0x4010'0000), kPageSize, kRamRo).ok());
    CHECK(f.pt.table_pages() == 4);
    REQUIRE(f.pt.protect(IpaAddr(0x4010'0000), kPageSize, kRam).ok());
    CHECK(f.below(f.root()[1])[0] == block);
    CHECK(f.pt.table_pages() == 3);
    CHECK(f.env.pages_in_use() == 3);
}

TEST_CASE("folding cascades up to a 1 GiB block", "[stage2][ops]")
{
    // 512 2 MiB blocks that continue each other fold into one 1 GiB block.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0), PhysAddr(0), 1 * GiB - 2 * MiB, kRam).ok());
    REQUIRE(f.pt.map(IpaAddr(1 * GiB - 2 * MiB), PhysAddr(1 * GiB - 2 * MiB), 2 * MiB - kPageSize, kRam).ok());
    CHECK(f.pt.table_pages() == 4);
    REQUIRE(f.pt.map(IpaAddr(1 * GiB - kPageSize), PhysAddr(1 * GiB - kPageSize), kPageSize, kRam).ok());
    CHECK(f.root()[0] == encode_leaf(PhysAddr(0), 1, kRam, kNoFwb).value());
    CHECK(f.pt.table_pages() == 2);
    CHECK(f.env.pages_in_use() == 2);
}

TEST_CASE("empty tables are freed", "[stage2][ops]")
{
    // Unmapping the last page of a table frees it and its parent.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0x1234'5000), PhysAddr(0x1000), 3 * kPageSize, kMmio).ok());
    CHECK(f.pt.table_pages() == 4);
    REQUIRE(f.pt.unmap(IpaAddr(0x1234'5000), kPageSize).ok());
    REQUIRE(f.pt.unmap(IpaAddr(0x1234'6000), 2 * kPageSize).ok());
    CHECK(f.root()[0] == 0);
    CHECK(f.pt.table_pages() == 2);
    CHECK(f.env.pages_in_use() == 2);
}

TEST_CASE("a block over existing tables replaces them", "[stage2][ops]")
{
    // Mapping a whole aligned 1 GiB over pages frees the whole subtree.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0x10'0000), PhysAddr(0x7000'1000), 8 * MiB, kBar).ok());
    CHECK(f.pt.table_pages() == 2 + 1 + 5);
    REQUIRE(f.pt.map(IpaAddr(0), PhysAddr(2 * GiB), 1 * GiB, kRam).ok());
    CHECK(f.root()[0] == encode_leaf(PhysAddr(2 * GiB), 1, kRam, kNoFwb).value());
    CHECK(f.env.pages_in_use() == 2);
    // And unmapping a whole aligned 1 GiB over tables frees them too.
    REQUIRE(f.pt.map(IpaAddr(0x10'0000), PhysAddr(0x7000'1000), 8 * MiB, kBar).ok());
    REQUIRE(f.pt.unmap(IpaAddr(0), 1 * GiB).ok());
    CHECK(f.root()[0] == 0);
    CHECK(f.env.pages_in_use() == 2);
}

TEST_CASE("protect changes mapped pages and leaves holes alone", "[stage2][ops]")
{
    // Holes in a protected range stay unmapped.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0x5000), PhysAddr(0x9000), kPageSize, kRam).ok());
    REQUIRE(f.pt.map(IpaAddr(0x8000), PhysAddr(0xa000), kPageSize, kRam).ok());
    REQUIRE(f.pt.protect(IpaAddr(0), 64 * KiB, kRamRo).ok());
    CHECK(f.pt.lookup(IpaAddr(0x5000))->attrs == kRamRo);
    CHECK(f.pt.lookup(IpaAddr(0x8000))->attrs == kRamRo);
    CHECK(f.pt.lookup(IpaAddr(0x6000)).error() == Error::NotFound);
}

TEST_CASE("the top of the IPA space", "[stage2][ops]")
{
    // The last page and the last block of every geometry are reachable.
    const unsigned bits = GENERATE(32u, 36u, 40u, 43u, 44u, 48u);
    Fixture f(bits);
    const u64 top = u64{1} << bits;
    REQUIRE(f.pt.map(IpaAddr(top - kPageSize), PhysAddr(0x5000), kPageSize, kMmio).ok());
    REQUIRE(f.pt.map(IpaAddr(top - 1 * GiB), PhysAddr(0), 1 * GiB - 2 * MiB, kRam).ok());
    CHECK(f.pt.lookup(IpaAddr(top - 1))->pa == PhysAddr(0x5fff));
    CHECK(f.pt.lookup(IpaAddr(top - 1 * GiB))->level == 2);
    CHECK(f.pt.map(IpaAddr(top - kPageSize), PhysAddr(0), 2 * kPageSize, kRam).error() == Error::OutOfRange);
    CHECK(f.pt.lookup(IpaAddr(top)).error() == Error::OutOfRange);
    REQUIRE(f.pt.unmap(IpaAddr(top - 1 * GiB), 1 * GiB).ok());
    CHECK(f.pt.table_pages() == f.geo.concat);
}

TEST_CASE("bad requests fail with the failing address and change nothing", "[stage2][ops]")
{
    // Checked before any table is touched.
    Fixture f;
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 2 * MiB, kRam).ok());
    const usize pages = f.env.pages_in_use();
    Status s = f.pt.map(IpaAddr(0x4000'0800), PhysAddr(0), kPageSize, kRam);
    CHECK(s.error() == Error::Misaligned);
    CHECK(s.error_addr() == 0x4000'0800);
    s = f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x10), kPageSize, kRam);
    CHECK(s.error() == Error::Misaligned);
    CHECK(s.error_addr() == 0x10);
    CHECK(f.pt.map(IpaAddr(0), PhysAddr(0), 0x1800, kRam).error() == Error::Misaligned);
    CHECK(f.pt.map(IpaAddr(0), PhysAddr(0), 0, kRam).error() == Error::InvalidArgument);
    s = f.pt.map(IpaAddr(u64{1} << 40), PhysAddr(0), kPageSize, kRam);
    CHECK(s.error() == Error::OutOfRange);
    CHECK(s.error_addr() == u64{1} << 40);
    s = f.pt.map(IpaAddr(0), PhysAddr((u64{1} << 48) - kPageSize), 2 * kPageSize, kRam);
    CHECK(s.error() == Error::OutOfRange);
    CHECK(f.pt.map(IpaAddr(0x1000), PhysAddr(0x0900'0000), kPageSize,
                   {MemType::DeviceNGnRE, Access::RW, true}).error() == Error::InvalidArgument);
    CHECK(f.pt.protect(IpaAddr(0x4000'0000), kPageSize, {MemType::NormalNC, Access::RW, true}).error() ==
          Error::InvalidArgument);
    CHECK(f.pt.unmap(IpaAddr(0x4000'0000), u64{1} << 41).error() == Error::OutOfRange);
    CHECK(f.pt.unmap(IpaAddr(~u64{0} - 0xfff), 0x2000).error() == Error::OutOfRange);
    CHECK(f.env.pages_in_use() == pages);
    CHECK(f.pt.lookup(IpaAddr(0x4000'0000))->level == 2);
}

TEST_CASE("both FWB encodings of guest RAM", "[stage2][ops]")
{
    // The encoding is chosen when the table is made and read back by lookup.
    const Encoding enc = GENERATE(kFwbForceWb, kFwbGuestChoice);
    Fixture f(40, enc);
    REQUIRE(f.pt.map(IpaAddr(0), PhysAddr(0), 2 * MiB, kRam).ok());
    const u64 block = f.below(f.root()[0])[0];
    CHECK(MemAttr::get(block) == (enc.ram == FwbRam::ForceWriteBack ? 0b0110u : 0b0111u));
    CHECK(f.pt.lookup(IpaAddr(0))->attrs == kRam);
}

TEST_CASE("destroy frees every table", "[stage2][ops]")
{
    // Nothing is left in the arena afterwards.
    FakeEnv env;
    auto pt = PageTable<FakeEnv>::create(env, geometry_for(44), kNoFwb).value();
    REQUIRE(pt.map(IpaAddr(0x1'0000'1000), PhysAddr(0x2000), 5 * MiB, kRam).ok());
    REQUIRE(env.pages_in_use() > 1);
    pt.destroy();
    CHECK(env.pages_in_use() == 0);
}

TEST_CASE("a fresh level-3 table of pages is written in one run", "[stage2][ops]")
{
    // fill_run: 512 pages continuing each other, every entry written,
    // none past the table.
    u64 t[kEntriesPerTable + 1];
    for (u64& e : t) e = 0xdead;
    const u64 first = encode_leaf(PhysAddr(4 * GiB + kPageSize), kLeafLevel, kRam, kNoFwb).value();
    fill_run(t, first);
    for (usize i = 0; i < kEntriesPerTable; ++i) CHECK(t[i] == first + i * kPageSize);
    CHECK(t[kEntriesPerTable] == 0xdead);
}

namespace {

// Sees every entry, invalid ones too: the reference for the walks that
// pass over invalid entries.
struct EveryEntryVisitor {
    std::vector<std::pair<u64, unsigned>> leaves;  // ipa, level of each valid leaf
    usize tables = 0;
    u64* slot_of_0x5000 = nullptr;
    Step leaf(const EntryRef& e, PhysAddr&)
    {
        if (e.level == 3 && e.ipa == 0x5000) slot_of_0x5000 = e.slot;
        if (is_valid(e.desc)) leaves.emplace_back(e.ipa, e.level);
        return Step::Continue;
    }
    Step table_pre(const EntryRef&)
    {
        ++tables;
        return Step::Continue;
    }
    void table_post(const EntryRef&, PhysAddr, bool) {}
};

}  // namespace

TEST_CASE("walks that pass over invalid entries still see every valid leaf and table", "[stage2][walk]")
{
    // Valid entries first and last in their tables (a run of invalid ones
    // up to a table's end must stop there), and an invalid entry with
    // other bits set, which is still invalid.
    const unsigned bits = GENERATE(32u, 40u, 48u);
    Fixture f(bits);
    const u64 top = u64{1} << bits;
    REQUIRE(f.pt.map(IpaAddr(0), PhysAddr(0x1000'0000), kPageSize, kRam).ok());
    REQUIRE(f.pt.map(IpaAddr(0x1ff000), PhysAddr(0x1000'1000), kPageSize, kMmio).ok());
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 2 * MiB, kRam).ok());
    REQUIRE(f.pt.map(IpaAddr(top - kPageSize), PhysAddr(0x5000), kPageSize, kMmio).ok());
    EveryEntryVisitor every;
    walk_table(f.env, f.pt.root(), f.geo.start_level, 0, f.geo.root_entries, 0, f.geo.ipa_limit(), true, every);
    REQUIRE(every.slot_of_0x5000 != nullptr);
    *every.slot_of_0x5000 = 0xffff'ffff'ffff'fffe;  // every bit but the valid bit

    std::vector<std::pair<u64, unsigned>> seen;
    const usize tables = f.pt.for_each_leaf([&](const EntryRef& e) { seen.emplace_back(e.ipa, e.level); });
    CHECK(seen == every.leaves);
    CHECK(seen.size() == 4);
    CHECK(tables == every.tables);
    CHECK(f.pt.table_pages() == f.geo.concat + every.tables);
    *every.slot_of_0x5000 = 0;  // destroy() must not follow it
}
