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
#include "support/fixture.h"

using namespace passage;
using namespace passage::test;

namespace {

std::string g_log;
void capture(const char* text, usize len) { g_log.append(text, len); }

}  // namespace

struct Inspected {
    Platform p;
    Diagnostic diag;
    bool ok = false;
    std::string log;
};

// Discovery in the given mode, then the summary and the needs, captured.
Inspected inspect(const char* name, DiscoveryMode mode)
{
    Blob blob = load_dtb(name);
    Inspected r;
    REQUIRE(check_device_tree(blob.data(), blob.size, r.diag));
    g_log.clear();
    set_log_sink(capture);
    r.ok = discover_platform(blob.data(), r.p, r.diag, mode).ok();
    if (r.ok) {
        print_platform_summary(r.p);
        print_board_needs(r.p);
    }
    set_log_sink(nullptr);
    r.log = g_log;
    return r;
}

bool has(const std::string& log, const char* text) { return log.find(text) != std::string::npos; }

// The LS1028A-like tree's console is a 16550 (fsl,ns16550 + ns16550a): a
// boot takes it, with its registers translated through /soc.
TEST_CASE("boards: a 16550 console under a translating bus is found for a boot")
{
    auto r = inspect("board-soc-bridges.dtb", DiscoveryMode::Boot);
    INFO(r.diag.text << "\n" << r.log);
    REQUIRE(r.ok);
    CHECK(r.p.uart.kind == UartKind::Ns16550);
    CHECK(r.p.uart.base == 0x1021c0500);  // /soc's ranges add 4 GiB
    CHECK(std::string(r.p.uart.path) == "/soc/serial@21c0500");
    CHECK(r.p.psci == PsciMethod::None);
    CHECK(r.p.gic.version == GicVersion::V3);
    CHECK(r.p.gic.its_count == 1);
}

// A console passage has no driver for is a silent boot, not a failed one;
// its address still goes through the parents' ranges, for the message.
TEST_CASE("boards: a console without a driver is reported with its translated address")
{
    auto mode = GENERATE(DiscoveryMode::Boot, DiscoveryMode::Inspect);
    auto r = inspect("console-no-driver.dtb", mode);
    INFO(r.diag.text << "\n" << r.log);
    REQUIRE(r.ok);
    CHECK_FALSE(r.p.uart.usable());
    CHECK(r.p.uart.base == 0x88001000);
    CHECK(std::string(r.p.uart.path) == "/soc/serial@1000");
    CHECK(has(r.log, "console    none usable: console /soc/serial@1000 (qcom,geni-debug-uart) is of a kind passage has no driver for"));
    CHECK(has(r.log, "at 0x88001000 (qcom,geni-debug-uart)"));
    CHECK(has(r.log, "(a silent boot: the guest still runs)"));
}

// Most board trees leave /memory to the bootloader: a board check says so
// and reports everything else; a boot refuses (tested in discover_test).
TEST_CASE("boards: a board check goes on past memory the bootloader fills in")
{
    auto file = GENERATE("no-memory.dtb", "memory-empty.dtb");
    auto r = inspect(file, DiscoveryMode::Inspect);
    INFO(file << ": " << r.diag.text << "\n" << r.log);
    REQUIRE(r.ok);
    CHECK(r.p.memory_from_bootloader);
    CHECK(r.p.memory_count == 0);
    CHECK(r.p.uart.kind == UartKind::Pl011);
    CHECK(has(r.log, "memory     none in the tree: filled in by the bootloader"));
    CHECK(has(r.log, "memory     from the bootloader: the tree has none; a boot needs /memory filled in"));
    CHECK(has(r.log, "console    pl011 0x9000000 /pl011@9000000"));
}

// qcom,msm-qgic2 is a GICv2 to Linux. The root's interrupt-parent (a wake-up
// controller) leads to it; the cascaded GIC earlier in the tree is not it.
TEST_CASE("boards: the root GIC is found by any compatible Linux drives as a GICv2")
{
    auto r = inspect("gic-qgic2.dtb", DiscoveryMode::Boot);
    INFO(r.diag.text << "\n" << r.log);
    REQUIRE(r.ok);
    CHECK(r.p.gic.version == GicVersion::V2);
    CHECK(std::string(r.p.gic.compatible) == "qcom,msm-qgic2");
    CHECK(r.p.gic.dist.base == 0xb000000);
    CHECK(r.p.gic.cpu_if.base == 0xb002000);
    CHECK(has(r.log, "gic        v2 (qcom,msm-qgic2)"));
    // Neither GIC is handed to the guest as plain MMIO.
    for (usize i = 0; i < r.p.mmio_count; ++i) CHECK(r.p.mmio[i].reg.base != 0x2a41000);
}

// Without a root interrupt-parent, the root GIC is the one that is its own
// interrupt parent, even when both carry interrupts (maintenance, cascade).
TEST_CASE("boards: a cascaded GIC earlier in the tree is not taken for the root one")
{
    auto r = inspect("gic-cascaded-first.dtb", DiscoveryMode::Boot);
    INFO(r.diag.text << "\n" << r.log);
    REQUIRE(r.ok);
    CHECK(r.p.gic.dist.base == 0x8000000);
    CHECK(r.p.gic.cpu_if.base == 0x8010000);
}

// Frames past the table are counted and named, never dropped silently.
TEST_CASE("boards: ITS and GICv2m frames past four are counted as unused")
{
    auto its = inspect("gic-many-frames.dtb", DiscoveryMode::Boot);
    INFO(its.diag.text << "\n" << its.log);
    REQUIRE(its.ok);
    CHECK(its.p.gic.its_count == 4);
    CHECK(its.p.gic.its_unused == 2);
    CHECK(its.p.gic.its[3].base == 0x8080000);
    CHECK(has(its.log, "its      2 more not used (passage keeps 4)"));
    auto v2m = inspect("gic-v2m-frames.dtb", DiscoveryMode::Boot);
    INFO(v2m.log);
    REQUIRE(v2m.ok);
    CHECK(v2m.p.gic.v2m_count == 4);
    CHECK(v2m.p.gic.v2m_unused == 2);
    CHECK(has(v2m.log, "v2m      2 more not used (passage keeps 4)"));
}

// FVP Base RevC's console path is 70 characters: it prints whole, and its
// address goes through three levels of ranges.
TEST_CASE("boards: a node path longer than 63 characters prints whole")
{
    auto r = inspect("gic-many-frames.dtb", DiscoveryMode::Boot);
    INFO(r.log);
    REQUIRE(r.ok);
    const char* path = "/bus@8000000/motherboard-bus@8000000/iofpga-bus@300000000/serial@90000";
    CHECK(std::string(r.p.uart.path) == path);
    CHECK(r.p.uart.base == 0x1c090000);
    CHECK(has(r.log, path));
}

// The ECAM bridge's registers and windows go through /soc's ranges; the
// vendor controller is named as not driven; a child PCI-PCI bridge node is
// not mistaken for a host bridge.
TEST_CASE("boards: host bridges under a translating bus and the ones passage does not drive")
{
    Discovered d = discover_blob(load_dtb("board-soc-bridges.dtb"), DiscoveryMode::Inspect);
    REQUIRE(d.ok);
    const Platform& p = d.p;
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
