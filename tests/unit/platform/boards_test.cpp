// Discovery on board-like trees passage cannot fully drive (tests/boards
// runs the same on the Juno and LS1028A trees from Debian's kernel): what a
// boot must refuse, and what a board check reports and goes on past.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "passage/discover.h"
#include "passage/log.h"

using namespace passage;

namespace {

std::vector<u64> load(const char* name, usize& size)
{
    std::string path = std::string(PASSAGE_TEST_DATA_DIR) + "/" + name;
    std::ifstream f(path, std::ios::binary);
    INFO("fixture " << path);
    REQUIRE(f.good());
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<u64> words(raw.size() / 8 + 1);
    std::memcpy(words.data(), raw.data(), raw.size());
    size = raw.size();
    return words;
}

std::string g_log;
void capture(const char* text, usize len) { g_log.append(text, len); }

}  // namespace

TEST_CASE("boards: a boot refuses a console that is not a PL011")
{
    usize size = 0;
    auto blob = load("board-soc-bridges.dtb", size);
    Diagnostic diag;
    REQUIRE(check_device_tree(blob.data(), size, diag));
    Platform p;
    CHECK_FALSE(discover_platform(blob.data(), p, diag));
    CHECK(std::string(diag.text).find("console /soc/serial@21c0500 is not an arm,pl011") != std::string::npos);
}

// passage-inspect's mode: the console problem is recorded and the rest found.
TEST_CASE("boards: a board check reports the console and finds the rest")
{
    usize size = 0;
    auto blob = load("board-soc-bridges.dtb", size);
    Diagnostic diag;
    Platform p;
    g_log.clear();
    set_log_sink(capture);
    REQUIRE(discover_platform(blob.data(), p, diag, ConsoleCheck::Report));
    print_platform_summary(p);
    set_log_sink(nullptr);
    INFO(g_log);
    CHECK_FALSE(p.uart.pl011);
    CHECK(std::string(p.uart.problem).find("is not an arm,pl011") != std::string::npos);
    CHECK(p.psci == PsciMethod::None);
    CHECK(p.gic.version == GicVersion::V3);
    CHECK(p.gic.its_count == 1);
    CHECK(g_log.find("console    none usable: console /soc/serial@21c0500 is not an arm,pl011") != std::string::npos);
}

// The ECAM bridge's registers and windows go through /soc's ranges; the
// vendor controller is named as not driven; a child PCI-PCI bridge node is
// not mistaken for a host bridge.
TEST_CASE("boards: host bridges under a translating bus and the ones passage does not drive")
{
    usize size = 0;
    auto blob = load("board-soc-bridges.dtb", size);
    Diagnostic diag;
    Platform p;
    REQUIRE(discover_platform(blob.data(), p, diag, ConsoleCheck::Report));
    REQUIRE(p.bridge_count == 1);
    const PciHostBridge& b = p.bridges[0];
    CHECK(std::string(b.path) == "/soc/pcie@f0000000");
    CHECK(b.ecam_base == 0x1f0000000);
    CHECK(b.ecam_size == 0x100000);
    CHECK(b.bus_start == 0);
    CHECK(b.bus_end == 0);
    REQUIRE(b.window_count == 2);
    // 0x02000000 space code, bus addresses above 4 GiB: 64-bit BARs only.
    CHECK(b.windows[0].space == PciSpace::Mem64);
    CHECK(b.windows[0].pci_addr == 0x1f8000000);
    CHECK(b.windows[0].cpu_addr == 0x1f8000000);
    CHECK(b.windows[0].size == 0x160000);
    CHECK(b.windows[1].space == PciSpace::Mem32);
    CHECK(b.windows[1].pci_addr == 0x20000000);
    CHECK(b.windows[1].cpu_addr == 0x120000000);
    REQUIRE(p.other_bridge_count == 1);
    CHECK(std::string(p.other_bridges[0].path) == "/soc/pcie@3400000");
    CHECK(std::string(p.other_bridges[0].compatible) == "vendor,soc-pcie");
    CHECK(p.other_bridges[0].enabled);
}
