// StreamIDs from the device table and the host bridge's iommu-map, with the
// DMA aliases Linux's pci_for_each_dma_alias would visit.
#include <catch2/catch.hpp>

#include <set>
#include <vector>
#include <string>

#include "passage/iommu/streams.h"
#include "passage/log.h"

using namespace passage;
using namespace passage::iommu;

namespace {

i32 add(pci::DeviceTable& t, pci::Bdf b, pci::PortType type, i32 parent, bool bridge = false, u8 secondary = 0)
{
    i32 i = t.append();
    REQUIRE(i >= 0);
    pci::PciFunction& f = t[usize(i)];
    f.bdf = b;
    f.vendor = 0x1234;
    f.device = 0x11e8;
    f.port_type = type;
    f.parent = parent;
    f.is_bridge = bridge;
    f.header_type = bridge ? 1 : 0;
    f.secondary = secondary;
    f.subordinate = secondary;
    f.bus_assigned = bridge;
    return i;
}

std::set<u16> rids(const pci::DeviceTable& t, i32 i)
{
    u16 out[kMaxDmaRids];
    usize n = dma_requester_ids(t, usize(i), out);
    return {out, out + n};
}

struct Topology {
    pci::PciDeviceTable<16> t;
    i32 root_port, pcie_pci, behind_pcie_pci, pci_bridge, behind_pci_bridge, root_ep, hidden_sibling;
    Topology()
    {
        using PT = pci::PortType;
        root_port = add(t, {0, 1, 0}, PT::RootPort, -1, true, 1);
        pcie_pci = add(t, {1, 0, 0}, PT::PcieToPciBridge, root_port, true, 2);
        behind_pcie_pci = add(t, {2, 3, 0}, PT::NotPcie, pcie_pci);
        pci_bridge = add(t, {0, 2, 0}, PT::NotPcie, -1, true, 3);
        behind_pci_bridge = add(t, {3, 1, 0}, PT::NotPcie, pci_bridge);
        root_ep = add(t, {0, 3, 0}, PT::Endpoint, -1);
        hidden_sibling = add(t, {2, 4, 0}, PT::NotPcie, pcie_pci);
    }
};

Platform one_smmu(u32 sid_base)
{
    Platform p;
    p.bridge_count = 1;
    p.smmu_count = 1;
    PciHostBridge& b = p.bridges[0];
    b.iommu_map[0] = {0, sid_base, 0x10000, 0};
    b.iommu_map_count = 1;
    return p;
}

std::string g_log;
void capture(const char* text, usize len) { g_log.append(text, len); }

}  // namespace

TEST_CASE("streams: DMA aliases through PCIe-to-PCI and conventional bridges but not PCIe ports")
{
    Topology top;
    CHECK(rids(top.t, top.root_ep) == std::set<u16>{0x0018});
    // Root port: no alias. PCIe-to-PCI bridge: its secondary bus, 00.0.
    CHECK(rids(top.t, top.behind_pcie_pci) == std::set<u16>{0x0218, 0x0200});
    // A conventional PCI-PCI bridge takes the transaction over: its own RID.
    CHECK(rids(top.t, top.behind_pci_bridge) == std::set<u16>{0x0308, 0x0010});
    CHECK(rids(top.t, top.root_port) == std::set<u16>{0x0008});
}

TEST_CASE("streams: every function's StreamIDs come from the map and alias sharers are hidden together")
{
    Topology top;
    pci::DispositionOptions options;
    options.deny[0] = {0, {0, 3, 0}};
    options.deny[1] = {0, {2, 4, 0}};
    options.deny_count = 2;
    pci::Dispositions disp;
    set_log_level(LogLevel::Error);
    disp.decide(top.t, options);
    set_log_level(LogLevel::Info);
    REQUIRE_FALSE(disp.visible(usize(top.root_ep)));
    // 02:03.0 shares the PCIe-to-PCI bridge's alias (02:00.0) with the
    // denied 02:04.0: hidden with it.
    REQUIRE_FALSE(disp.visible(usize(top.behind_pcie_pci)));
    CHECK(std::string(disp.reason(usize(top.behind_pcie_pci))) == "shares its DMA requester ID with hidden 0000:02:04.0");
    CHECK(disp.visible(usize(top.pcie_pci)));  // the bridge's own RID is its own

    Platform p = one_smmu(0x10000);
    StreamPlan plan;
    g_log.clear();
    set_log_sink(capture);
    plan_streams(p, top.t, disp, plan);
    set_log_sink(nullptr);
    INFO(g_log);
    CHECK(plan.unconfined == 0);
    CHECK(plan.max_sid[0] == 0x10308);
    std::set<u32> assigned, hidden;
    for (usize i = 0; i < plan.count; ++i) (plan.uses[i].assigned ? assigned : hidden).insert(plan.uses[i].sid);
    CHECK(hidden.count(0x10218) == 1);
    CHECK(hidden.count(0x10200) == 1);
    CHECK(assigned.count(0x10200) == 0);
    CHECK(assigned.count(0x10308) == 1);
    CHECK(hidden.count(0x10018) == 1);
    CHECK(assigned.count(0x10018) == 0);
    CHECK(g_log.find("shares StreamID") == std::string::npos);
}

// An iommu-map-mask can fold functions the PCI topology keeps apart onto
// one StreamID; the dispositions do not see the map, so the stream plan
// says when a hidden function's DMA would be translated for the guest.
TEST_CASE("streams: a hidden function folded onto an assigned one by the mask is reported")
{
    Topology top;
    pci::DispositionOptions options;
    options.deny[0] = {0, {0, 3, 0}};
    options.deny_count = 1;
    pci::Dispositions disp;
    set_log_level(LogLevel::Error);
    disp.decide(top.t, options);
    set_log_level(LogLevel::Info);
    Platform p = one_smmu(0x10000);
    p.bridges[0].iommu_map_mask = 0xff00;  // one StreamID per bus
    StreamPlan plan;
    g_log.clear();
    set_log_sink(capture);
    plan_streams(p, top.t, disp, plan);
    set_log_sink(nullptr);
    INFO(g_log);
    CHECK(g_log.find("0000:00:03.0 (hidden) shares StreamID 0x10000 with 0000:00:01.0 (assigned)") != std::string::npos);
}

TEST_CASE("streams: a function no SMMUv3 translates is counted and named")
{
    Topology top;
    pci::Dispositions disp;
    disp.decide(top.t, pci::DispositionOptions{});
    Platform p = one_smmu(0);
    p.bridges[0].iommu_map[0].length = 0x100;  // bus 0 only
    StreamPlan plan;
    g_log.clear();
    set_log_sink(capture);
    plan_streams(p, top.t, disp, plan);
    set_log_sink(nullptr);
    CHECK(plan.unconfined == 4);  // the bridge on bus 1 and the three functions on buses 2 and 3
    CHECK(g_log.find("0000:03:01.0: no SMMUv3 translates its DMA: it can write anywhere, passage included") != std::string::npos);
}

// A conventional PCI-PCI bridge issues its children's requests with its
// own RID: a hidden child hides the bridge (and so everything below it).
TEST_CASE("streams: a hidden function behind a conventional bridge hides the bridge too")
{
    Topology top;
    pci::DispositionOptions options;
    options.deny[0] = {0, {3, 1, 0}};
    options.deny_count = 1;
    pci::Dispositions disp;
    set_log_level(LogLevel::Error);
    disp.decide(top.t, options);
    set_log_level(LogLevel::Info);
    CHECK_FALSE(disp.visible(usize(top.pci_bridge)));
    CHECK(std::string(disp.reason(usize(top.pci_bridge))) == "shares its DMA requester ID with hidden 0000:03:01.0");
    CHECK(disp.visible(usize(top.root_ep)));
    CHECK(disp.visible(usize(top.behind_pcie_pci)));
}

// Below a switch, downstream ports without full ACS let their functions
// reach each other directly: one group, hidden together; a port with
// SV, RR, CR and UF keeps its function apart.
TEST_CASE("streams: functions below switch ports without ACS are one DMA group")
{
    using PT = pci::PortType;
    pci::PciDeviceTable<16> t;
    i32 rp = add(t, {0, 1, 0}, PT::RootPort, -1, true, 1);
    i32 up = add(t, {1, 0, 0}, PT::SwitchUpstream, rp, true, 2);
    i32 d1 = add(t, {2, 0, 0}, PT::SwitchDownstream, up, true, 3);
    i32 d2 = add(t, {2, 1, 0}, PT::SwitchDownstream, up, true, 4);
    i32 d3 = add(t, {2, 2, 0}, PT::SwitchDownstream, up, true, 5);
    i32 e1 = add(t, {3, 0, 0}, PT::Endpoint, d1);
    i32 e2 = add(t, {4, 0, 0}, PT::Endpoint, d2);
    i32 e3 = add(t, {5, 0, 0}, PT::Endpoint, d3);
    std::vector<u16> caps(t.size(), 0), groups(t.size(), 0);
    caps[usize(d3)] = 0x5f;  // SV, TB, RR, CR, UF, EC: isolated
    caps[usize(d2)] = 0x05;  // SV and RR only: not
    acs_dma_groups(t, caps, groups);
    CHECK(groups[usize(e1)] == u16(up + 1));
    CHECK(groups[usize(e2)] == u16(up + 1));
    CHECK(groups[usize(e3)] == 0);
    CHECK(groups[usize(rp)] == 0);
    pci::DispositionOptions options;
    options.deny[0] = {0, {3, 0, 0}};
    options.deny_count = 1;
    options.dma_group = groups.data();
    options.dma_group_count = groups.size();
    pci::Dispositions disp;
    set_log_level(LogLevel::Error);
    disp.decide(t, options);
    set_log_level(LogLevel::Info);
    CHECK_FALSE(disp.visible(usize(e2)));
    CHECK(std::string(disp.reason(usize(e2))) == "no ACS between it and hidden 0000:03:00.0");
    CHECK(disp.visible(usize(e3)));
}
