// What passage maps at EL2, built from discovered device trees: no-map
// reserved memory never (issue 14 k), large RAM within the table pool
// (issue 14 l).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "passage/discover.h"
#include "passage/mm/el2_layout.h"
#include "support/fixture.h"

using namespace passage;
using passage::test::load_platform;
using namespace passage::mm;

namespace {

struct Pool {
    u64* mem = static_cast<u64*>(std::aligned_alloc(4096, kEl2TablePages * 4096));
    ~Pool() { std::free(mem); }
};

// passage's image as QEMU loads it: 4 MiB at 0x40200000.
BootInfo image()
{
    BootInfo b;
    b.image_base = 0x40200000;
    b.text_end = 0x40240000;
    b.rodata_end = 0x40260000;
    b.image_end = 0x40600000;
    return b;
}

bool mapped(const El2PageTable& t, u64 va) { return t.lookup(va).ok(); }

}  // namespace

TEST_CASE("el2 layout: no-map reserved memory is never mapped at EL2")
{
    Platform p = load_platform("no-map.dtb");
    REQUIRE(p.no_map_count == 2);
    CHECK(p.reserved_count == 4);  // /memreserve/ and the three nodes
    Pool pool;
    El2PageTable t(pool.mem, kEl2TablePages);
    Diagnostic d;
    REQUIRE(build_el2_map(t, image(), p, d));
    // The carve-outs, to the page: not one byte mapped.
    for (u64 a : {0x50001000ull, 0x50002800ull, 0x50003fffull, 0x60000000ull, 0x603fffffull}) {
        INFO(std::hex << a);
        CHECK_FALSE(mapped(t, a));
    }
    // RAM on either side, and reserved memory without no-map, stays mapped.
    for (u64 a : {0x50000fffull, 0x50004000ull, 0x5fffffffull, 0x60400000ull, 0x70000000ull, 0x7f000000ull, 0xbfffffffull}) {
        INFO(std::hex << a);
        auto l = t.lookup(a);
        REQUIRE(l);
        CHECK(l->attrs == encode_el2(El2Attr::ReadWrite));
    }
}

TEST_CASE("el2 layout: 64 GiB and 1 TiB of RAM fit the table pool")
{
    Platform p = load_platform("large-ram.dtb");
    REQUIRE(p.memory_count == 2);
    Pool pool;
    El2PageTable t(pool.mem, kEl2TablePages);
    Diagnostic d;
    REQUIRE(build_el2_map(t, image(), p, d));
    INFO(t.pages_used() << " table pages");
    CHECK(t.pages_used() <= 16);
    for (u64 a : {0x40000000ull, 0x103fffffffull, 0x10000001000ull, 0x20000000fffull}) {
        INFO(std::hex << a);
        CHECK(mapped(t, a));
    }
    CHECK_FALSE(mapped(t, 0x10000000fffull));
    CHECK_FALSE(mapped(t, 0x20000001000ull));
}

// Every range edge off a 2 MiB boundary costs tables: the most ranges
// discovery accepts, each edge in a 1 GiB region of its own, still fit.
TEST_CASE("el2 layout: the most ranges discovery accepts fit the table pool")
{
    Platform p;
    for (usize i = 0; i < Platform::kMaxMemory; ++i) {
        p.memory[i] = {0x40000000 + i * 0x800000000ull + 0x1000, 0x400000000ull};  // 16 GiB each, off every boundary
        ++p.memory_count;
    }
    for (usize i = 0; i < Platform::kMaxReserved; ++i) {
        p.no_map[i] = {p.memory[i / 2].base + (i % 2 + 1) * 0x100000000ull + 0x3000, 0x5000};
        ++p.no_map_count;
    }
    p.uart.kind = UartKind::Pl011;
    p.uart.base = 0x9000000;
    p.uart.size = 0x1000;
    p.gic.version = GicVersion::V3;
    p.gic.dist = {0x8000000, 0x10000};
    for (usize i = 0; i < Gic::kMaxRedist; ++i) p.gic.redist[p.gic.redist_count++] = {0x100000000000ull + i * 0x40000000, 0x20000};
    for (usize i = 0; i < Gic::kMaxIts; ++i) p.gic.its[p.gic.its_count++] = {0x110000000000ull + i * 0x40000000, 0x20000};
    for (usize b = 0; b < Platform::kMaxBridges; ++b) {
        PciHostBridge& hb = p.bridges[p.bridge_count++];
        hb.ecam_base = 0x200000000000ull + b * 0x10000000000ull;
        hb.ecam_size = 0x10000000;
        for (usize w = 0; w < PciHostBridge::kMaxWindows; ++w)
            hb.windows[hb.window_count++] = {PciSpace::Mem64, false, hb.ecam_base + (w + 1) * 0x40000000ull + 0x10000, 0,
                                             0x100000};
    }
    Pool pool;
    El2PageTable t(pool.mem, kEl2TablePages);
    Diagnostic d;
    bool ok = build_el2_map(t, image(), p, d).ok();
    INFO(d.text);
    INFO(t.pages_used() << " table pages of " << kEl2TablePages);
    CHECK(ok);
}

TEST_CASE("el2 layout: running out of table pages names the region")
{
    Platform p = load_platform("large-ram.dtb");
    Pool pool;
    El2PageTable t(pool.mem, 4);
    Diagnostic d;
    REQUIRE_FALSE(build_el2_map(t, image(), p, d));
    CHECK(std::string(d.text).find("(out of EL2 table pages)") != std::string::npos);
}
