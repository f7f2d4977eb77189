// Stage-2 abort routing by IPA: which handler owns an address, decided
// before any handler runs.
#include <catch2/catch.hpp>

#include "passage/vcpu/abort_routes.h"

using namespace passage;
using namespace passage::vcpu;

namespace {

// xorshift64: the random tests' ranges, the same every run.
struct Rng {
    u64 x;
    u64 operator()()
    {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    }
};

// The ranges a random test added, and the owner a scan of them in the order
// added gives: what owner_of must answer.
struct Added {
    struct Range {
        u64 base, size;
        u8 owner;
    } ranges[AbortRoutes::kMax];
    usize count = 0;
    u8 scan(u64 ipa) const
    {
        for (usize i = 0; i < count; ++i)
            if (ipa - ranges[i].base < ranges[i].size) return ranges[i].owner;
        return AbortRoutes::kNone;
    }
};

}  // namespace

TEST_CASE("abort routes: an address belongs to the range holding it")
{
    AbortRoutes r;
    CHECK(r.owner_of(0x1000) == AbortRoutes::kNone);
    REQUIRE(r.add(0x080a0000, 0x10000, 0));  // a redistributor's RD_base frame
    REQUIRE(r.add(0x4010000000, 0x10000000, 1));  // an ECAM
    CHECK(r.owner_of(0x080a0000) == 0);
    CHECK(r.owner_of(0x080affff) == 0);
    CHECK(r.owner_of(0x080b0000) == AbortRoutes::kNone);
    CHECK(r.owner_of(0x0809ffff) == AbortRoutes::kNone);
    CHECK(r.owner_of(0x4010000000) == 1);
    CHECK(r.owner_of(0x401fffffff) == 1);
    CHECK(r.owner_of(0x4020000000) == AbortRoutes::kNone);
    CHECK(r.owner_of(0) == AbortRoutes::kNone);
    CHECK(r.owner_of(~u64{0}) == AbortRoutes::kNone);
}

TEST_CASE("abort routes: the first range added wins where two overlap")
{
    AbortRoutes r;
    REQUIRE(r.add(0x10000, 0x10000, 0));
    REQUIRE(r.add(0x0, 0x100000, 1));
    CHECK(r.owner_of(0x18000) == 0);
    CHECK(r.owner_of(0x8000) == 1);
    CHECK(r.owner_of(0x20000) == 1);
}

TEST_CASE("abort routes: empty wrapping and unowned ranges are refused")
{
    AbortRoutes r;
    CHECK_FALSE(r.add(0x1000, 0, 0));
    CHECK_FALSE(r.add(~u64{0} - 0xfff, 0x2000, 0));
    CHECK_FALSE(r.add(0x1000, 0x1000, AbortRoutes::kNone));
    CHECK(r.size() == 0);
    CHECK(r.add(~u64{0} - 0xfff, 0x1000, 0));  // up to the last byte
    CHECK(r.owner_of(~u64{0}) == 0);
}

TEST_CASE("abort routes: a full table refuses more")
{
    AbortRoutes r;
    for (usize i = 0; i < AbortRoutes::kMax; ++i) REQUIRE(r.add(0x10000 * (i + 1), 0x1000, 0));
    CHECK_FALSE(r.add(0x10000000, 0x1000, 1));
    CHECK(r.owner_of(0x10000000) == AbortRoutes::kNone);
    CHECK(r.owner_of(0x10000 * AbortRoutes::kMax) == 0);
}

TEST_CASE("abort routes: the GIC's frames merge into one run")
{
    AbortRoutes r;
    REQUIRE(r.add(0x080a0000, 0x10000, 0));
    CHECK(r.extend_last(0x080c0000, 0x10000, 0, 0x30000));  // the next RD_base, 128 KiB on
    CHECK(r.owner_of(0x080cfff0) == 0);
    CHECK(r.owner_of(0x080b0000) == 0);  // the SGI frame between (mapped: never aborts)
    CHECK_FALSE(r.extend_last(0x08200000, 0x10000, 0, 0x30000));  // too far: a range of its own
    CHECK_FALSE(r.extend_last(0x080d0000, 0x10000, 1, 0x30000));  // another owner's
    CHECK_FALSE(r.extend_last(0x080a0000, 0x10000, 0, 0x30000));  // behind the end
    CHECK(r.size() == 1);
    CHECK(r.owner_of(0x080d0000) == AbortRoutes::kNone);
}

TEST_CASE("abort routes: the search by halves answers as a scan in the order added")
{
    Rng next{0x2545f4914f6cdd1d};
    for (int round = 0; round < 200; ++round) {
        AbortRoutes r;
        Added a;
        auto& added = a.ranges;
        usize& count = a.count;
        usize want = 1 + next() % AbortRoutes::kMax;
        while (count < want) {
            // Small addresses so ranges overlap and touch; now and then one at the top.
            u64 base = (round % 7 == 0 && count == 0) ? ~u64{0} - 0xfff : (next() % 64) * 0x1000;
            u64 size = (1 + next() % 8) * 0x1000;
            u8 owner = static_cast<u8>(next() % 4);
            if (base + size - 1 < base) size = ~u64{0} - base + 1;
            if (count > 0 && next() % 4 == 0 && r.extend_last(base, size, added[count - 1].owner, 0x2000)) {
                added[count - 1].size = base + size - added[count - 1].base;
                continue;
            }
            REQUIRE(r.add(base, size, owner));
            added[count++] = {base, size, owner};
        }
        auto scan = [&](u64 ipa) { return a.scan(ipa); };
        for (u64 ipa = 0; ipa < 0x50000; ipa += 0x800) REQUIRE(r.owner_of(ipa) == scan(ipa));
        for (u64 ipa : {u64{0x47fff}, ~u64{0}, ~u64{0} - 0x1000, ~u64{0} - 0xfff, u64{1} << 40})
            REQUIRE(r.owner_of(ipa) == scan(ipa));
        for (usize i = 0; i < count; ++i) {
            REQUIRE(r.owner_of(added[i].base) == scan(added[i].base));
            REQUIRE(r.owner_of(added[i].base + added[i].size - 1) == scan(added[i].base + added[i].size - 1));
            REQUIRE(r.owner_of(added[i].base + added[i].size) == scan(added[i].base + added[i].size));
        }
    }
}

// The same over a TiB and beyond, with ranges of pages to GiBs: the GiB
// map answers the holes, and nothing it answers differs from the scan.
TEST_CASE("abort routes: the GiB map answers as a scan in the order added")
{
    Rng next{0x9e3779b97f4a7c15};
    for (int round = 0; round < 300; ++round) {
        AbortRoutes r;
        Added a;
        auto& added = a.ranges;
        usize& count = a.count;
        usize want = 1 + next() % 12;
        while (count < want) {
            u64 base = (next() % 2200) << 28;  // up to about 2.1 TiB, 256 MiB steps
            if (next() % 3 == 0) base += (next() % 4096) << 12;
            const u64 sizes[] = {0x1000, 0x20000, u64{1} << 28, u64{3} << 29, u64{5} << 30};
            u64 size = sizes[next() % 5];
            u8 owner = static_cast<u8>(next() % 3);
            REQUIRE(r.add(base, size, owner));
            added[count++] = {base, size, owner};
        }
        auto scan = [&](u64 ipa) { return a.scan(ipa); };
        for (u64 g = 0; g < 1100; ++g) {
            const u64 at = g << 30;
            for (u64 ipa : {at, at + 0x1000, at + (u64{1} << 29), at + (u64{1} << 30) - 1}) REQUIRE(r.owner_of(ipa) == scan(ipa));
        }
        for (usize i = 0; i < count; ++i) {
            for (u64 ipa : {added[i].base - 1, added[i].base, added[i].base + added[i].size - 1, added[i].base + added[i].size})
                REQUIRE(r.owner_of(ipa) == scan(ipa));
        }
        for (int k = 0; k < 200; ++k) {
            u64 ipa = next() % (u64{2200} << 28);
            REQUIRE(r.owner_of(ipa) == scan(ipa));
        }
    }
}
