// PCI Enhanced Allocation (capability 0x14) on the fake ECAM: BARs the
// hardware fixed, read from the EA entries, never sized, moved or written,
// as on the NXP LS1028A's integrated endpoints (ENETC Ethernet, the Felix
// switch) behind its ECAM root complex; and a bridge whose EA capability
// fixes its bus numbers.
#include <catch2/catch.hpp>

#include <string>

#include "fake_ecam.h"
#include "invariants.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"
#include "passage/pci/regs.h"
#include "vconfig_rig.h"

using namespace passage;
using namespace passage::pci;
using namespace passage::pci::test;

namespace {

std::string g_log;
void capture(const char* text, usize len) { g_log.append(text, len); }

// LS1028A's ECAM root complex as its device tree describes it: bus 0 only,
// and windows that hold exactly the EA regions (bus = CPU addresses).
PciHostBridge ls1028a_host()
{
    PciHostBridge h;
    h.ecam_base = 0x1f0000000;
    h.ecam_size = 1 * MiB;
    h.bus_start = h.bus_end = 0;
    h.window_count = 3;
    h.windows[0] = {PciSpace::Mem64, false, 0x1f8000000, 0x1f8000000, 0x160000};
    h.windows[1] = {PciSpace::Mem64, true, 0x1f8160000, 0x1f8160000, 0x70000};
    h.windows[2] = {PciSpace::Mem64, false, 0x1fc000000, 0x1fc000000, 0x400000};
    return h;
}

// ENETC-like PFs: registers (BEI 0) and the MSI-X table (BEI 2,
// prefetchable), plus VF BARs (BEI 9, 11), which passage leaves alone. A
// switch-like function with a 4 MiB BAR0 and a 64-bit entry for BAR4.
void ls1028a_endpoints(FakeEcam& ecam)
{
    ecam.add(0, 0).ids(0x1957, 0xe100).class_code(0x020000).multifunction().pcie(PortType::RcIntegratedEndpoint)
        .msix(32, 2, 0, 2, 0x800)
        .ea({{.bei = 0, .primary = 0x00, .base = 0x1f8000000, .size = 0x40000},
             {.bei = 2, .primary = 0x01, .base = 0x1f8160000, .size = 0x10000},
             {.bei = 9, .primary = 0x04, .base = 0x1f81d0000, .size = 0x10000},
             {.bei = 11, .primary = 0x03, .base = 0x1f81f0000, .size = 0x10000}});
    ecam.add(0, 1).ids(0x1957, 0xe100).class_code(0x020000).pcie(PortType::RcIntegratedEndpoint)
        .ea({{.bei = 0, .primary = 0x00, .base = 0x1f8040000, .size = 0x40000},
             {.bei = 2, .primary = 0x01, .base = 0x1f8170000, .size = 0x10000}});
    ecam.add(0, 5).ids(0x1957, 0xeef0).class_code(0x028000).pcie(PortType::RcIntegratedEndpoint)
        .ea({{.bei = 0, .primary = 0x00, .base = 0x1fc000000, .size = 0x400000},
             {.bei = 4, .primary = 0x01, .base = 0x1f8180000, .size = 0x20000, .wide = true}});
}

struct Enumerated {
    PciDeviceTable<32> table;
    EnumStats stats;
    std::string log;
};

void enumerate_into(const PciHostBridge& host, FakeEcam& ecam, Enumerated& e)
{
    g_log.clear();
    set_log_sink(capture);
    auto r = enumerate(host, ecam, e.table);
    set_log_sink(nullptr);
    REQUIRE(r.ok());
    e.stats = *r;
    e.log = g_log;
    check_invariants(host, e.table, &ecam);
}

const PciFunction& at(const DeviceTable& t, u8 bus, u8 dev, u8 fn = 0)
{
    const PciFunction* f = t.find(0, Bdf{bus, dev, fn});
    REQUIRE(f != nullptr);
    return *f;
}

bool has(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

// Where the entries say, as fixed resources; no BAR register is written
// (they are hardwired to 0), and memory decoding goes on.
TEST_CASE("ea: LS1028A-style fixed BARs are read from the entries and never sized or moved")
{
    FakeEcam ecam;
    ls1028a_endpoints(ecam);
    Enumerated e;
    enumerate_into(ls1028a_host(), ecam, e);
    INFO(e.log);
    CHECK(e.stats.problems == 0);
    CHECK(ecam.route(Bdf{0, 0, 0})->writes_to(0x10) == 0);  // the invariants check every fixed BAR so
    const PciFunction& pf0 = at(e.table, 0, 0, 0);
    CHECK(pf0.caps.ea != 0);
    CHECK(pf0.bars[0].fixed);
    CHECK(pf0.bars[0].assigned());
    CHECK(pf0.bars[0].kind == BarKind::Mem64);  // above 4 GiB
    CHECK(pf0.bars[0].pci_addr == 0x1f8000000);
    CHECK(pf0.bars[0].cpu_addr == 0x1f8000000);
    CHECK(pf0.bars[0].size == 0x40000);
    CHECK_FALSE(pf0.bars[0].prefetchable);
    CHECK(pf0.bars[2].prefetchable);
    CHECK(pf0.bars[2].cpu_addr == 0x1f8160000);
    for (unsigned b : {1u, 3u, 4u, 5u, 6u}) CHECK_FALSE(pf0.bars[b].present());  // VF entries are not BARs
    CHECK(pf0.mem_enabled);
    CHECK((ecam.route(Bdf{0, 0, 0})->peek16(kCommand) & CmdMem::kMask) != 0);
    const PciFunction& sw = at(e.table, 0, 0, 5);
    CHECK(sw.bars[0].size == 4 * MiB);
    CHECK(sw.bars[4].fixed);
    CHECK(sw.bars[4].cpu_addr == 0x1f8180000);  // a 64-bit entry with zero upper dwords
    CHECK(sw.bars[4].size == 0x20000);
    CHECK(e.stats.bars_assigned == 6);
    CHECK(e.stats.bars_failed == 0);
}

// A sizable BAR beside fixed ones is placed past them, never over them.
TEST_CASE("ea: a sizable BAR in the same window is placed past the fixed ones")
{
    FakeEcam ecam;
    ls1028a_endpoints(ecam);
    ecam.add(1, 0).ids(0x1957, 0x1234).bar64(0, 0x10000, false);
    Enumerated e;
    enumerate_into(ls1028a_host(), ecam, e);
    INFO(e.log);
    const PciBar& bar = at(e.table, 0, 1).bars[0];
    REQUIRE(bar.assigned());
    CHECK_FALSE(bar.fixed);
    CHECK(bar.pci_addr >= 0x1f8080000);  // past PF1's fixed BAR0 in window 0
    CHECK(bar.pci_addr + bar.size <= 0x1f8160000);
}

// Entries Linux skips are skipped; a reserved primary property defers to the
// secondary; sizes need not be powers of two; malformed entries are named.
TEST_CASE("ea: entry properties sizes and malformed entries")
{
    FakeEcam ecam;
    ecam.add(0, 0).ids(0x1957, 0xe101).multifunction()
        .ea({{.bei = 0, .primary = 0x00, .base = 0x1f8000000, .size = 0x3000},  // 12 KiB
             {.bei = 1, .primary = 0x00, .base = 0x1f8010000, .size = 0x1000, .enabled = false},
             {.bei = 2, .primary = 0x42, .secondary = 0x01, .base = 0x1f8160000, .size = 0x1000},
             {.bei = 3, .primary = 0xff, .base = 0x1f8020000, .size = 0x1000},
             {.bei = 4, .primary = 0x00, .base = 0x1f8030000, .size = 0x1000, .size_error = 1}});
    ecam.add(0, 1).ids(0x1957, 0xe102).ea({{.bei = 0, .primary = 0x00, .base = 0x2000000000, .size = 0x1000}});
    Enumerated e;
    enumerate_into(ls1028a_host(), ecam, e);
    INFO(e.log);
    const PciFunction& f = at(e.table, 0, 0);
    CHECK(f.bars[0].fixed);
    CHECK(f.bars[0].size == 0x3000);
    CHECK_FALSE(f.bars[1].present());  // Enable clear
    CHECK(f.bars[2].fixed);
    CHECK(f.bars[2].prefetchable);  // from the secondary properties
    CHECK_FALSE(f.bars[3].present());  // unavailable
    CHECK_FALSE(f.bars[4].present());  // Entry Size disagrees with what it holds
    CHECK(has(e.log, "0000:00:00.0: Enhanced Allocation entry at 0x"));
    CHECK(has(e.log, "is malformed; ignored"));
    const PciBar& outside = at(e.table, 0, 0, 1).bars[0];
    CHECK(outside.status == BarStatus::OutsideWindow);
    CHECK(has(e.log, "0000:00:00.1 BAR0: 4 KiB mem64 is fixed by Enhanced Allocation outside every host-bridge window"));
    CHECK(ecam.route(Bdf{0, 0, 1})->writes_to(0x10) == 0);
}

// A bridge's EA capability fixes its secondary and subordinate buses: the
// bridge gets them, and the next bridge numbers on from past them.
TEST_CASE("ea: a bridge with fixed bus numbers keeps them")
{
    FakeEcam ecam;
    auto& rp = ecam.add(1, 0).pcie_bridge(PortType::RootPort);
    rp.ea({}, 5, 7);
    rp.child(0, 0).ids(0x1af4, 0x1041).bar64(0, 0x4000);
    auto& rp2 = ecam.add(2, 0).pcie_bridge(PortType::RootPort);
    rp2.child(0, 0).ids(0x1af4, 0x1042).bar32(0, 0x1000);
    Enumerated e;
    enumerate_into(qemu_virt_host(), ecam, e);
    INFO(e.log);
    const PciFunction& b1 = at(e.table, 0, 1);
    CHECK(b1.secondary == 5);
    CHECK(b1.subordinate == 7);
    CHECK(ecam.route(Bdf{0, 1, 0})->peek8(kSecondaryBus) == 5);
    CHECK(ecam.route(Bdf{0, 1, 0})->peek8(kSubordinateBus) == 7);
    CHECK(e.table.find(0, Bdf{5, 0, 0}) != nullptr);
    CHECK(at(e.table, 0, 2).secondary == 8);
    CHECK(e.table.find(0, Bdf{8, 0, 0}) != nullptr);
}

// Fixed bus numbers already used (or past bus-range) are named and ignored.
TEST_CASE("ea: fixed bus numbers outside what is free are ignored with a message")
{
    FakeEcam ecam;
    ecam.add(1, 0).pcie_bridge(PortType::RootPort).child(0, 0).ids(0x1af4, 0x1041).bar32(0, 0x1000);
    ecam.add(2, 0).pcie_bridge(PortType::RootPort).ea({}, 1, 1);
    Enumerated e;
    enumerate_into(qemu_virt_host(), ecam, e);
    CHECK(has(e.log, "0000:00:02.0: Enhanced Allocation fixes buses 01-01, outside the free 02-ff; numbering it as usual"));
    CHECK(at(e.table, 0, 2).secondary == 2);
}

// The guest's view: a fixed BAR's register reads 0 and ignores writes (it
// is hardwired), and stage 2 maps it at IPA = PA while the function decodes
// memory, whatever the guest writes there.
TEST_CASE("ea: the guest cannot move a fixed BAR and stage 2 maps it at its physical address")
{
    Rig r(
        "", [](PciHostBridge& h) { h = ls1028a_host(); }, ls1028a_endpoints);
    const Bdf pf0{0, 0, 0};
    const usize i = r.index(pf0);
    const PciBar& bar = r.fn(pf0).bars[0];
    REQUIRE(bar.fixed);
    CHECK(r.rd(pf0, 0x10) == 0);
    CHECK(r.v->route(i, 0) == BarRoute::Direct);
    CHECK(r.rec.lookup(0x1f8000000) == 0x1f8000000);
    r.wr(pf0, 0x10, 0xffffffff);  // Linux sizes every BAR
    CHECK(r.rd(pf0, 0x10) == 0);
    r.wr(pf0, 0x10, 0x10000000);
    r.wr(pf0, 0x14, 0);
    CHECK(r.rd(pf0, 0x10) == 0);
    CHECK(r.rec.lookup(0x1f8000000) == 0x1f8000000);
    CHECK_FALSE(r.rec.lookup(0x10000000).has_value());
    r.wr(pf0, 0x04, 0);  // memory decoding off: unmapped, as hardware stops decoding
    CHECK(r.v->route(i, 0) == BarRoute::Off);
    CHECK_FALSE(r.rec.lookup(0x1f8000000).has_value());
    r.wr(pf0, 0x04, CmdMem::kMask);
    CHECK(r.v->route(i, 0) == BarRoute::Direct);
    CHECK(r.rec.lookup(0x1f803f000) == 0x1f803f000);
    CHECK(r.hw(pf0).writes_to(0x10) == 0);
}
