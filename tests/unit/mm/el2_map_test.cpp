// The EL2 identity map: every mapped address translates to itself with the
// attributes asked for, blocks are used where alignment allows, and bad
// requests are refused.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>

#include "passage/mm/el2_map.h"

using namespace passage;
using namespace passage::mm;

namespace {

struct Pool {
    static constexpr usize kPages = 64;
    u64* mem = static_cast<u64*>(std::aligned_alloc(4096, kPages * 4096));
    ~Pool() { std::free(mem); }
};

}  // namespace

TEST_CASE("el2 map: identity with the requested attributes and blocks where aligned")
{
    Pool pool;
    El2PageTable t(pool.mem, Pool::kPages);
    REQUIRE(t.map(0x40200000, 0x200000, El2Attr::Code));
    REQUIRE(t.map(0x40400000, 0x3000, El2Attr::ReadOnly));
    REQUIRE(t.map(0x09000000, 0x1000, El2Attr::Device));
    REQUIRE(t.map(0x4010000000, 0x10000000, El2Attr::DeviceStrict));

    auto code = t.lookup(0x40200abc);
    REQUIRE(code);
    CHECK(code->pa == 0x40200abc);
    CHECK(code->level == 2);
    CHECK(code->attrs == encode_el2(El2Attr::Code));
    CHECK((code->attrs & XN::kMask) == 0);

    auto ro = t.lookup(0x40402008);
    REQUIRE(ro);
    CHECK(ro->level == 3);
    CHECK(ro->attrs == encode_el2(El2Attr::ReadOnly));

    auto uart = t.lookup(0x09000018);
    REQUIRE(uart);
    CHECK(AttrIndx::get(uart->attrs) == kMairDeviceNGnRE);
    CHECK(XN::get(uart->attrs) == 1);
    CHECK(AttrIndx::get(t.lookup(0x4018000000)->attrs) == kMairDeviceNGnRnE);

    CHECK_FALSE(t.lookup(0x40403000));  // just past the read-only range
    CHECK_FALSE(t.lookup(0x09001000));
}

TEST_CASE("el2 map: refuses requests that are misaligned or overlap or are out of range")
{
    Pool pool;
    El2PageTable t(pool.mem, Pool::kPages);
    CHECK(t.map(0x1001, 0x1000, El2Attr::ReadWrite).error() == Error::Misaligned);
    CHECK(t.map(u64{1} << 48, 0x1000, El2Attr::ReadWrite).error() == Error::OutOfRange);
    REQUIRE(t.map(0x40000000, 0x200000, El2Attr::ReadWrite));
    CHECK(t.map(0x40001000, 0x1000, El2Attr::ReadWrite).error() == Error::Overlap);
}

TEST_CASE("el2 map: running out of table pages is an error naming the address")
{
    Pool pool;
    El2PageTable t(pool.mem, 3);  // root + L1 + L2: no room for an L3 table
    auto s = t.map(0x40001000, 0x1000, El2Attr::ReadWrite);
    CHECK(s.error() == Error::NoMemory);
    CHECK(s.error_addr() == 0x40001000);
}

// The map fills runs of entries per table: every page of a range with
// ragged edges around 2 MiB and 1 GiB boundaries must come out identity
// mapped at the level its alignment allows, and nothing beside it.
TEST_CASE("el2 map: a range with ragged edges is mapped page by page as a model says")
{
    Pool pool;
    El2PageTable t(pool.mem, Pool::kPages);
    const u64 base = 0x3fdff000;                 // 1 page below a 2 MiB boundary, 2 MiB + 1 page below 1 GiB
    const u64 end = 0x80000000 + 0x400000 + 0x3000;  // 1 GiB, then 2 MiB blocks, then 3 pages
    REQUIRE(t.map(base, end - base, El2Attr::ReadWrite));
    auto expected_level = [](u64 va) {
        if (va >= 0x40000000 && va < 0x80000000) return 1;
        if (va >= 0x3fe00000 && va < 0x40000000) return 2;
        if (va >= 0x80000000 && va < 0x80400000) return 2;
        return 3;
    };
    for (u64 va = base - 0x2000; va < end + 0x2000; va += 0x1000) {
        auto m = t.lookup(va + 8);
        INFO("va 0x" << std::hex << va);
        if (va < base || va >= end) {
            CHECK_FALSE(m);
            continue;
        }
        REQUIRE(m);
        CHECK(m->pa == va + 8);
        CHECK(m->level == expected_level(va));
        CHECK(m->attrs == encode_el2(El2Attr::ReadWrite));
    }
}

// An entry already there in the middle of a run stops the map at that
// address, as it did for the first entry of a table.
TEST_CASE("el2 map: an overlap in the middle of a run names its address")
{
    Pool pool;
    El2PageTable t(pool.mem, Pool::kPages);
    REQUIRE(t.map(0x40005000, 0x1000, El2Attr::ReadOnly));
    auto s = t.map(0x40001000, 0x8000, El2Attr::ReadWrite);
    CHECK(s.error() == Error::Overlap);
    CHECK(s.error_addr() == 0x40005000);
    CHECK(t.lookup(0x40004000)->attrs == encode_el2(El2Attr::ReadWrite));
    CHECK(t.lookup(0x40005000)->attrs == encode_el2(El2Attr::ReadOnly));
}
