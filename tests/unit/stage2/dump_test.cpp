// The debug dump: merged ranges with IPA, PA, size, level, type, access.
#include <catch2/catch.hpp>

#include <string>

#include "fixture.h"
#include "passage/log.h"

using namespace passage;
using namespace passage::stage2;
using namespace passage::stage2::test;

namespace {
std::string g_out;
void capture(const char* text, usize len) { g_out.append(text, len); }
}  // namespace

TEST_CASE("the dump merges contiguous leaves of one level and type", "[stage2][dump]")
{
    // 1 GiB of RAM (blocks), a UART page, a BAR in pages, an ECAM.
    Fixture f(40);
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000), PhysAddr(0x4000'0000), 1 * GiB, kRam).ok());
    REQUIRE(f.pt.map(IpaAddr(0x4000'0000 + 1 * GiB), PhysAddr(0x8000'0000), 4 * MiB, kRamRo).ok());
    REQUIRE(f.pt.map(IpaAddr(0x0900'0000), PhysAddr(0x0900'0000), kPageSize, kMmio).ok());
    REQUIRE(f.pt.map(IpaAddr(0x1000'0000), PhysAddr(0x10'0000'1000), 64 * KiB, kBar).ok());
    REQUIRE(f.pt.map(IpaAddr(0x40'1000'0000), PhysAddr(0x40'1000'0000), 2 * MiB, kEcam).ok());
    g_out.clear();
    set_log_sink(capture);
    f.pt.dump("test");
    set_log_sink(nullptr);
    INFO(g_out);
    const char* expected =
        "stage-2 map test: 40-bit IPA, 48-bit PA, start level 1, 2 first-level tables, no FWB\n"
        "  ipa 0x000009000000-0x000009000fff -> pa 0x000009000000      4 KiB L3 device-ngnre  rw-\n"
        "  ipa 0x000010000000-0x00001000ffff -> pa 0x001000001000     64 KiB L3 normal-nc     rw-\n"
        "  ipa 0x000040000000-0x00007fffffff -> pa 0x000040000000      1 GiB L1 normal-wb     rwx\n"
        "  ipa 0x000080000000-0x0000803fffff -> pa 0x000080000000      4 MiB L2 normal-wb     r--\n"
        "  ipa 0x004010000000-0x0040101fffff -> pa 0x004010000000      2 MiB L2 device-ngnrne rw-\n"
        "  5 ranges, 1054788 KiB mapped, 7 table pages\n";
    CHECK(g_out == expected);
}

// Leaves that continue a run bit for bit join it without being decoded:
// one that differs in its attributes, jumps in its output address, or
// repeats the same output address must still start a range of its own.
TEST_CASE("the dump splits runs at attributes and output address jumps or repeats", "[stage2][dump]")
{
    Fixture f(40);
    REQUIRE(f.pt.map(IpaAddr(0x1000'0000), PhysAddr(0x2000'0000), 16 * kPageSize, kBar).ok());
    REQUIRE(f.pt.protect(IpaAddr(0x1000'5000), kPageSize, Attrs{MemType::NormalNC, Access::RO, false}).ok());
    REQUIRE(f.pt.map(IpaAddr(0x1001'0000), PhysAddr(0x3000'0000), 2 * kPageSize, kBar).ok());
    REQUIRE(f.pt.map(IpaAddr(0x1001'2000), PhysAddr(0x4000'0000), kPageSize, kBar).ok());
    REQUIRE(f.pt.map(IpaAddr(0x1001'3000), PhysAddr(0x4000'0000), kPageSize, kBar).ok());
    g_out.clear();
    set_log_sink(capture);
    f.pt.dump("test");
    set_log_sink(nullptr);
    INFO(g_out);
    const char* expected =
        "stage-2 map test: 40-bit IPA, 48-bit PA, start level 1, 2 first-level tables, no FWB\n"
        "  ipa 0x000010000000-0x000010004fff -> pa 0x000020000000     20 KiB L3 normal-nc     rw-\n"
        "  ipa 0x000010005000-0x000010005fff -> pa 0x000020005000      4 KiB L3 normal-nc     r--\n"
        "  ipa 0x000010006000-0x00001000ffff -> pa 0x000020006000     40 KiB L3 normal-nc     rw-\n"
        "  ipa 0x000010010000-0x000010011fff -> pa 0x000030000000      8 KiB L3 normal-nc     rw-\n"
        "  ipa 0x000010012000-0x000010012fff -> pa 0x000040000000      4 KiB L3 normal-nc     rw-\n"
        "  ipa 0x000010013000-0x000010013fff -> pa 0x000040000000      4 KiB L3 normal-nc     rw-\n"
        "  6 ranges, 80 KiB mapped, 4 table pages\n";
    CHECK(g_out == expected);
}
