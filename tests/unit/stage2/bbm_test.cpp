// Break-before-make: for each kind of change of a live entry the recorder
// sees the invalid entry, then exactly DSB ISH, TLBI IPAS2E1IS, DSB ISH,
// TLBI VMALLE1IS, DSB ISH, ISB, then the SMMUs' TLBI_S2_IPA + CMD_SYNC (or
// DSB ISH, TLBI VMALLS12E1IS, DSB ISH, ISB, TLBI_S12_VMALL + CMD_SYNC when a
// table goes away), then the new entry; tables are freed only after.
// A change that made an entry valid ends with DSB ISH (the new entry is
// visible before the call returns: BBM's last step, Arm ARM D8.16.1).
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace passage;
using namespace passage::stage2;
using namespace passage::stage2::test;

namespace {

using E = Event;

std::vector<Event> leaf_break(u64 slot, u64 old, u64 ipa)
{
    return {{E::Write, slot, old, 0}, {E::DsbIsh}, {E::TlbiIpa, ipa}, {E::DsbIsh},
            {E::TlbiVmalle1}, {E::DsbIsh}, {E::Isb}, {E::IommuIpa, ipa}};
}

std::vector<Event> table_break(u64 slot, u64 old)
{
    return {{E::Write, slot, old, 0}, {E::DsbIsh}, {E::TlbiVmalls12}, {E::DsbIsh}, {E::Isb}, {E::IommuAll}};
}

std::vector<Event> operator+(std::vector<Event> a, const std::vector<Event>& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

struct Recorded : Fixture {
    void start()
    {
        env.events.clear();
        env.recording = true;
    }
    std::vector<Event> stop()
    {
        env.recording = false;
        return env.events;
    }
    u64 slot_pa(std::span<const u64, 512> t, usize i) { return env.phys_of(&t[i]).value; }
};

}  // namespace

TEST_CASE("remapping a live leaf breaks it first at every level", "[stage2][bbm]")
{
    // A page, a 2 MiB block and a 1 GiB block, each moved to another PA.
    const unsigned level = GENERATE(1u, 2u, 3u);
    Recorded f;
    const u64 size = level_span(level);
    const u64 ipa = 2 * GiB + 3 * size * (level != 1);
    REQUIRE(f.pt.map(IpaAddr(ipa), PhysAddr(4 * GiB), size, kRam).ok());
    std::span<const u64, 512> t = f.root();
    usize idx = (ipa >> level_shift(1)) % 512;
    for (unsigned l = 1; l < level; ++l) {
        t = f.below(t[idx]);
        idx = (ipa >> level_shift(l + 1)) % 512;
    }
    const u64 old = t[idx];
    const u64 slot = f.slot_pa(t, idx);
    f.start();
    REQUIRE(f.pt.map(IpaAddr(ipa), PhysAddr(8 * GiB), size, kRam).ok());
    const u64 now = encode_leaf(PhysAddr(8 * GiB), level, kRam, kNoFwb).value();
    CHECK(to_string(f.stop()) ==
          to_string(leaf_break(slot, old, ipa) + std::vector<Event>{{E::Write, slot, 0, now}, {E::DsbIsh}}));
    CHECK(f.env.violations().empty());
}

TEST_CASE("unmapping and protecting a live page", "[stage2][bbm]")
{
    // Unmap is a break with no make; protect is a break and a make.
    Recorded f;
    REQUIRE(f.pt.map(IpaAddr(0x1000), PhysAddr(0x9000), 2 * kPageSize, kRam).ok());
    auto l3 = f.below(f.below(f.root()[0])[0]);
    const u64 slot1 = f.slot_pa(l3, 1);
    const u64 old1 = l3[1];
    f.start();
    REQUIRE(f.pt.protect(IpaAddr(0x1000), kPageSize, kRamRo).ok());
    const u64 ro = encode_leaf(PhysAddr(0x9000), 3, kRamRo, kNoFwb).value();
    CHECK(to_string(f.stop()) ==
          to_string(leaf_break(slot1, old1, 0x1000) + std::vector<Event>{{E::Write, slot1, 0, ro}, {E::DsbIsh}}));
    const u64 slot2 = f.slot_pa(l3, 2);
    const u64 old2 = l3[2];
    f.start();
    REQUIRE(f.pt.unmap(IpaAddr(0x2000), kPageSize).ok());
    CHECK(to_string(f.stop()) == to_string(leaf_break(slot2, old2, 0x2000)));
    CHECK(f.env.violations().empty());
}

TEST_CASE("splitting a live block links a complete table in one break", "[stage2][bbm]")
{
    // The new table is filled before the block is broken; nothing in it is
    // written through the live path.
    Recorded f;
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 2 * MiB, kRam).ok());
    auto l2 = f.below(f.root()[1]);
    const u64 slot = f.slot_pa(l2, 0);
    const u64 block = l2[0];
    f.start();
    REQUIRE(f.pt.protect(IpaAddr(0x4000'5000), kPageSize, kRamRo).ok());
    std::vector<Event> ev = f.stop();
    REQUIRE(ev.size() == 10);
    CHECK(to_string(std::vector<Event>(ev.begin(), ev.begin() + 8)) ==
          to_string(leaf_break(slot, block, 0x4000'0000)));
    CHECK(ev[8].kind == E::Write);
    CHECK(ev[8].addr == slot);
    CHECK(ev[8].old == 0);
    CHECK(is_table(ev[8].value, 2));
    CHECK(ev[9].kind == E::DsbIsh);
    auto l3 = f.below(l2[0]);
    CHECK(l3[5] == encode_leaf(PhysAddr(0x4000'5000), 3, kRamRo, kNoFwb).value());
    CHECK(l3[6] == encode_leaf(PhysAddr(0x4000'6000), 3, kRam, kNoFwb).value());
    CHECK(f.env.violations().empty());
}

TEST_CASE("folding a live table invalidates the VMID before the block and the free", "[stage2][bbm]")
{
    // table -> block: VMALLS12E1IS (the walk caches may hold the table),
    // then the block, then the page goes back to the pool.
    Recorded f;
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 2 * MiB, kRam).ok());
    REQUIRE(f.pt.protect(IpaAddr(0x4000'5000), kPageSize, kRamRo).ok());
    auto l2 = f.below(f.root()[1]);
    auto l3 = f.below(l2[0]);
    const u64 table = l2[0];
    const u64 slot2 = f.slot_pa(l2, 0);
    const u64 slot3 = f.slot_pa(l3, 5);
    const u64 page = l3[5];
    f.start();
    REQUIRE(f.pt.protect(IpaAddr(0x4000'5000), kPageSize, kRam).ok());
    const u64 rw = encode_leaf(PhysAddr(0x4000'5000), 3, kRam, kNoFwb).value();
    const u64 block = encode_leaf(PhysAddr(0x4000'0000), 2, kRam, kNoFwb).value();
    CHECK(to_string(f.stop()) ==
          to_string(leaf_break(slot3, page, 0x4000'5000) + std::vector<Event>{{E::Write, slot3, 0, rw}} +
                    table_break(slot2, table) +
                    std::vector<Event>{{E::Write, slot2, 0, block}, {E::Free, desc_output(table).value}, {E::DsbIsh}}));
    CHECK(f.env.violations().empty());
}

TEST_CASE("an emptied table is unlinked and invalidated before it is freed", "[stage2][bbm]")
{
    // The last page goes, then its table, then the table above it.
    Recorded f;
    REQUIRE(f.pt.map(IpaAddr(0x4020'0000), PhysAddr(0x1000), kPageSize, kMmio).ok());
    auto l2 = f.below(f.root()[1]);
    auto l3 = f.below(l2[1]);
    const u64 l1_slot = f.slot_pa(f.root(), 1);
    const u64 l1_old = f.root()[1];
    const u64 l2_slot = f.slot_pa(l2, 1);
    const u64 l2_old = l2[1];
    const u64 l3_slot = f.slot_pa(l3, 0);
    const u64 l3_old = l3[0];
    f.start();
    REQUIRE(f.pt.unmap(IpaAddr(0x4020'0000), kPageSize).ok());
    CHECK(to_string(f.stop()) ==
          to_string(leaf_break(l3_slot, l3_old, 0x4020'0000) + table_break(l2_slot, l2_old) +
                    std::vector<Event>{{E::Free, desc_output(l2_old).value}} + table_break(l1_slot, l1_old) +
                    std::vector<Event>{{E::Free, desc_output(l1_old).value}}));
    CHECK(f.env.violations().empty());
}

TEST_CASE("a block over a live table replaces the whole subtree", "[stage2][bbm]")
{
    // One VMID-wide invalidation, the block, then every page of the subtree.
    Recorded f;
    REQUIRE(f.pt.map(IpaAddr(0x10'0000), PhysAddr(0x7000'1000), 4 * MiB, kBar).ok());
    const u64 slot = f.slot_pa(f.root(), 0);
    const u64 old = f.root()[0];
    f.start();
    REQUIRE(f.pt.map(IpaAddr(0), PhysAddr(2 * GiB), 1 * GiB, kRam).ok());
    std::vector<Event> ev = f.stop();
    const u64 block = encode_leaf(PhysAddr(2 * GiB), 1, kRam, kNoFwb).value();
    REQUIRE(ev.size() == 7 + 4 + 1);
    CHECK(to_string(std::vector<Event>(ev.begin(), ev.begin() + 7)) ==
          to_string(table_break(slot, old) + std::vector<Event>{{E::Write, slot, 0, block}}));
    for (usize i = 7; i + 1 < ev.size(); ++i) CHECK(ev[i].kind == E::Free);
    CHECK(ev[ev.size() - 2].addr == desc_output(old).value);  // the subtree's top goes last
    CHECK(ev.back().kind == E::DsbIsh);
    CHECK(f.env.violations().empty());
}

// The SMMUs walk the same table: their invalidation is inside the break,
// after the CPU's, and before the new entry is made, for a leaf (one IPA)
// and for a table (the whole VMID).
TEST_CASE("the IOMMU invalidation completes inside the break before the new entry", "[stage2][bbm]")
{
    Recorded f;
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x9000'0000), kPageSize, kBar).ok());
    f.start();
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x9800'0000), kPageSize, kBar).ok());
    std::vector<Event> ev = f.stop();
    auto at = [&](Event::Kind k) {
        for (usize i = 0; i < ev.size(); ++i)
            if (ev[i].kind == k) return i;
        return ev.size();
    };
    usize write_new = ev.size();
    for (usize i = 0; i < ev.size(); ++i)
        if (ev[i].kind == E::Write && ev[i].value != 0) write_new = i;
    REQUIRE(at(E::IommuIpa) < ev.size());
    CHECK(ev[at(E::IommuIpa)].addr == 0x4000'0000);
    CHECK(at(E::Isb) < at(E::IommuIpa));
    CHECK(at(E::IommuIpa) < write_new);
    CHECK(f.env.violations().empty());
}

TEST_CASE("mapping into empty entries needs no break", "[stage2][bbm]")
{
    // invalid -> valid: one store for the new top table, then a DSB ISH.
    Recorded f;
    f.start();
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'1000), 4 * MiB, kRam).ok());
    std::vector<Event> ev = f.stop();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == E::Write);
    CHECK(ev[0].old == 0);
    CHECK(is_table(ev[0].value, 1));
    CHECK(ev[1].kind == E::DsbIsh);
}
