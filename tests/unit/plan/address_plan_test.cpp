// The guest address-space plan follows the policy table: RAM write-back
// without the hypervisor, passed-through BARs Normal-NC, ECAM nGnRnE, other
// MMIO Device-nGnRE, GICH/GICV never, overlaps refused with both names.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "passage/discover.h"
#include "passage/log.h"
#include "passage/plan/address_plan.h"
#include "passage/plan/stage2_build.h"
#include "support/fixture.h"

using namespace passage;
using passage::test::load_platform;
using namespace passage::plan;
using stage2::Access;
using stage2::MemType;

namespace {

// Every function passed through Normal-NC, as with direct config space
// (static: the table is large).
const pci::Dispositions& all_assigned(const pci::DeviceTable& table)
{
    static pci::Dispositions disp;
    pci::DispositionOptions options;
    options.can_hide = false;
    disp.decide(table, options);
    return disp;
}

constexpr MemRange kHyp{0x40200000, 0x200000};

std::string g_log;
void capture(const char* t, usize n) { g_log.append(t, n); }

pci::PciFunction& add_function(pci::DeviceTable& t, u8 bus, u8 dev, u16 vendor, u16 device)
{
    i32 i = t.append();
    REQUIRE(i >= 0);
    pci::PciFunction& f = t[usize(i)];
    f.bdf = {bus, dev, 0};
    f.vendor = vendor;
    f.device = device;
    return f;
}

void set_bar(pci::PciFunction& f, u8 index, pci::BarKind kind, u64 addr, u64 size, bool pref = false)
{
    pci::PciBar& b = f.bars[index];
    b.index = index;
    b.kind = kind;
    b.prefetchable = pref;
    b.size = size;
    b.cpu_addr = addr;
    b.pci_addr = addr;
    b.status = pci::BarStatus::Assigned;
}

const GuestRegion* find(const GuestPlan& plan, u64 addr)
{
    for (usize i = 0; i < plan.count; ++i)
        if (addr >= plan.regions[i].ipa && addr < plan.regions[i].end()) return &plan.regions[i];
    return nullptr;
}

Platform minimal_platform()
{
    Platform p;
    p.memory[0] = {0x40000000, 0x40000000};
    p.memory_count = 1;
    p.gic.version = GicVersion::V3;
    p.gic.dist = {0x08000000, 0x10000};
    p.gic.redist[0] = {0x080a0000, 0xf60000};
    p.gic.redist_count = 1;
    return p;
}

}  // namespace

TEST_CASE("plan: QEMU virt GICv3 with a NIC and a 64-bit prefetchable BAR")
{
    Platform p = load_platform("qemu-virt-gicv3.dtb");
    pci::PciDeviceTable<8> table;
    auto& nic = add_function(table, 0, 2, 0x8086, 0x10d3);
    set_bar(nic, 0, pci::BarKind::Mem32, 0x10000000, 0x20000);
    set_bar(nic, 2, pci::BarKind::Io, 0x1000, 0x20);
    set_bar(nic, pci::PciBar::kRomIndex, pci::BarKind::Mem32, 0x10040000, 0x40000);
    auto& shm = add_function(table, 0, 3, 0x1af4, 0x1110);
    set_bar(shm, 2, pci::BarKind::Mem64, 0x8000000000, 1 * GiB, true);

    GuestPlan plan;
    Diagnostic d;
    REQUIRE(build_plan(p, table, all_assigned(table), kHyp, plan, d));

    // RAM on both sides of the hypervisor, executable write-back; the hypervisor itself unmapped.
    REQUIRE(plan.ram_count == 2);
    CHECK(plan.ram[0].base == 0x40000000);
    CHECK(plan.ram[0].size == 0x200000);
    CHECK(plan.ram[1].base == 0x40400000);
    CHECK(plan.ram[1].end() == 0x80000000);
    CHECK(find(plan, 0x40200000) == nullptr);
    CHECK(find(plan, 0x403ff000) == nullptr);
    CHECK(find(plan, 0x40100000)->attrs == stage2::Attrs{MemType::NormalWB, Access::RW, true});

    const GuestRegion* bar0 = find(plan, 0x10000000);
    REQUIRE(bar0);
    CHECK(bar0->attrs == stage2::Attrs{MemType::NormalNC, Access::RW, false});
    CHECK(bar0->size == 0x20000);  // exactly the BAR, not the window
    CHECK(find(plan, 0x10020000) == nullptr);
    CHECK(find(plan, 0x10040000)->attrs.access == Access::RO);  // the ROM
    const GuestRegion* big = find(plan, 0x8000000000);
    REQUIRE(big);
    CHECK(big->attrs.type == MemType::NormalNC);
    CHECK(big->size == 1 * GiB);
    CHECK(find(plan, 0x8040000000) == nullptr);

    CHECK(find(plan, 0x4010000000)->attrs == stage2::Attrs{MemType::DeviceNGnRnE, Access::RW, false});
    CHECK(find(plan, 0x3eff0000)->attrs.type == MemType::DeviceNGnRE);  // the PCI I/O window
    CHECK(find(plan, 0x09000000)->attrs.type == MemType::DeviceNGnRE);  // UART
    CHECK(find(plan, 0x08000000)->cls == RegionClass::Gic);
    CHECK(find(plan, 0x08080000)->cls == RegionClass::Gic);             // ITS
    CHECK(find(plan, 0x080a0000)->cls == RegionClass::Gic);             // redistributors
    CHECK(find(plan, 0x0a000000)->cls == RegionClass::Mmio);            // virtio-mmio, merged
    CHECK(find(plan, 0x0a003e00)->cls == RegionClass::Mmio);
    CHECK(find(plan, 0x20000000) == nullptr);  // unassigned window space is not mapped

    for (usize i = 0; i < plan.count; ++i) {
        const GuestRegion& r = plan.regions[i];
        INFO(r.what);
        CHECK(is_aligned(r.ipa, kPageSize));
        CHECK(r.ipa == r.pa);
        if (r.cls != RegionClass::Ram) CHECK_FALSE(r.attrs.exec);
        if (i > 0) CHECK(plan.regions[i - 1].end() <= r.ipa);
    }
}

TEST_CASE("plan: GICv2 maps distributor and CPU interface and GICv2m but never GICH or GICV")
{
    Platform p = load_platform("qemu-virt-gicv2.dtb");
    pci::PciDeviceTable<1> table;
    GuestPlan plan;
    Diagnostic d;
    REQUIRE(build_plan(p, table, all_assigned(table), kHyp, plan, d));
    CHECK(find(plan, 0x08000000) != nullptr);
    REQUIRE(find(plan, 0x08011000) != nullptr);  // GICC_DIR, the second page
    CHECK(find(plan, 0x0801f000) != nullptr);  // (touching GIC regions merge into one mapping)
    CHECK(find(plan, 0x08020000) != nullptr);
    CHECK(find(plan, 0x08030000) == nullptr);
    CHECK(find(plan, 0x08040000) == nullptr);
}

// The SMMU is passage's: a guest that could reach its registers could
// turn DMA confinement off. Its neighbours (fw-cfg below) stay mapped.
TEST_CASE("plan: the SMMUv3 registers are never in the guest's stage 2")
{
    Platform p = load_platform("qemu-virt-smmuv3.dtb");
    REQUIRE(p.smmu_count == 1);
    pci::PciDeviceTable<1> table;
    GuestPlan plan;
    Diagnostic d;
    REQUIRE(build_plan(p, table, all_assigned(table), kHyp, plan, d));
    for (u64 a = 0x9050000; a < 0x9070000; a += kPageSize) CHECK(find(plan, a) == nullptr);
    CHECK(find(plan, 0x09000000) != nullptr);  // the UART
}

TEST_CASE("plan: a BAR next to the hypervisor is fine but one touching it is refused")
{
    Platform p = minimal_platform();
    pci::PciDeviceTable<2> table;
    auto& f = add_function(table, 0, 1, 0x1b36, 0x0005);
    set_bar(f, 0, pci::BarKind::Mem32, kHyp.end(), 0x1000);
    GuestPlan plan;
    Diagnostic d;
    // A BAR in RAM overlaps RAM with other attributes: refused, naming both.
    CHECK_FALSE(build_plan(p, table, all_assigned(table), kHyp, plan, d));
    CHECK(std::string(d.text).find("0000:00:01.0 BAR0 at 0x40400000-0x40400fff overlaps RAM") != std::string::npos);

    MemRange hyp_high{0x7fe00000, 0x200000};
    p.memory[0] = {0x40000000, 0x3fe00000};  // RAM ends where the "hypervisor" starts
    f.bars[0].cpu_addr = 0x7fdff000;
    f.bars[0].size = 0x1000;
    p.memory[0].size = 0x3fdff000;
    REQUIRE(build_plan(p, table, all_assigned(table), hyp_high, plan, d));  // adjacent, not touching
    f.bars[0].cpu_addr = 0x7fdff000;
    f.bars[0].size = 0x2000;  // now runs into the hypervisor
    CHECK_FALSE(build_plan(p, table, all_assigned(table), hyp_high, plan, d));
    CHECK(std::string(d.text).find("0000:00:01.0 BAR0 at 0x7fdff000-0x7fe00fff touches the hypervisor at 0x7fe00000") !=
          std::string::npos);
}

TEST_CASE("plan: overlapping MMIO with different attributes names both")
{
    Platform p = minimal_platform();
    p.mmio[0].reg = {0x10000000, 0x1000};
    std::strcpy(p.mmio[0].compatible, "vendor,widget");
    p.mmio_count = 1;
    pci::PciDeviceTable<2> table;
    set_bar(add_function(table, 0, 4, 0x8086, 0x10d3), 0, pci::BarKind::Mem32, 0x10000000, 0x4000);
    GuestPlan plan;
    Diagnostic d;
    CHECK_FALSE(build_plan(p, table, all_assigned(table), kHyp, plan, d));
    std::string msg = d.text;
    CHECK(msg.find("vendor,widget") != std::string::npos);
    CHECK(msg.find("0000:00:04.0 BAR0") != std::string::npos);
}

TEST_CASE("plan: a device named in passage.device_mmio keeps its BARs Device-nGnRE and says why")
{
    Platform p = minimal_platform();
    pci::PciDeviceTable<2> table;
    set_bar(add_function(table, 0, 3, 0x8086, 0x10d3), 0, pci::BarKind::Mem32, 0x10000000, 0x4000);
    set_bar(add_function(table, 0, 4, 0x1af4, 0x1041), 4, pci::BarKind::Mem64, 0x8000000000, 0x4000, true);
    pci::DispositionOptions options;
    Diagnostic d;
    REQUIRE(pci::parse_bdf_list("0000:00:03.0", options.device_mmio, pci::DeviceLists::kMax, options.device_mmio_count, d));
    options.fwb = GENERATE(false, true);
    static pci::Dispositions disp;
    disp.decide(table, options);
    g_log.clear();
    set_log_sink(capture);
    GuestPlan plan;
    REQUIRE(build_plan(p, table, disp, kHyp, plan, d));
    set_log_sink(nullptr);
    CHECK(find(plan, 0x10000000)->attrs == stage2::Attrs{MemType::DeviceNGnRE, Access::RW, false});
    CHECK(find(plan, 0x8000000000)->attrs.type == MemType::NormalNC);
    CHECK(plan.devices_kept_device == 1);
    CHECK(g_log.find(options.fwb ? "0000:00:03.0 8086:10d3: BARs kept Device-nGnRE (passage.device_mmio)"
                                 : "0000:00:03.0 8086:10d3: BARs kept Device-nGnRE (passage.device_mmio (a cap without FWB))") !=
          std::string::npos);
}

TEST_CASE("plan: a quirk keeps a device Device-nGnRE")
{
    static const pci::DeviceQuirk quirks[] = {{0x1234, 0x5678, "test quirk: cannot take Normal-NC"}};
    Platform p = minimal_platform();
    pci::PciDeviceTable<2> table;
    set_bar(add_function(table, 1, 0, 0x1234, 0x5678), 0, pci::BarKind::Mem32, 0x10000000, 0x1000);
    pci::DispositionOptions options;
    options.quirks = quirks;
    options.quirk_count = 1;
    static pci::Dispositions disp;
    disp.decide(table, options);
    GuestPlan plan;
    Diagnostic d;
    REQUIRE(build_plan(p, table, disp, kHyp, plan, d));
    CHECK(find(plan, 0x10000000)->attrs.type == MemType::DeviceNGnRE);
    CHECK(std::string(disp.reason(0)) == "quirk: test quirk: cannot take Normal-NC");
}

TEST_CASE("plan: a hidden function's BARs are left out and the stage-2 input covers every host window")
{
    Platform p = load_platform("qemu-virt-gicv3.dtb");
    pci::PciDeviceTable<2> table;
    set_bar(add_function(table, 0, 3, 0x8086, 0x10d3), 0, pci::BarKind::Mem32, 0x10000000, 0x4000);
    set_bar(add_function(table, 0, 4, 0x1af4, 0x1041), 0, pci::BarKind::Mem32, 0x10004000, 0x4000);
    pci::DispositionOptions options;
    Diagnostic d;
    REQUIRE(pci::parse_bdf_list("00:04.0", options.deny, pci::DeviceLists::kMax, options.deny_count, d));
    static pci::Dispositions disp;
    disp.decide(table, options);
    GuestPlan plan;
    REQUIRE(build_plan(p, table, disp, kHyp, plan, d));
    CHECK(find(plan, 0x10000000) != nullptr);
    CHECK(find(plan, 0x10004000) == nullptr);
    CHECK(plan.ipa_top == 0x10000000000);  // the end of the 512 GiB mem64 window
    CHECK(ipa_bits_for(plan) == 40);
}

TEST_CASE("plan: a BAR without an address is not mapped and the log says the device stays visible")
{
    Platform p = minimal_platform();
    pci::PciDeviceTable<2> table;
    auto& f = add_function(table, 0, 5, 0x1af4, 0x1110);
    set_bar(f, 2, pci::BarKind::Mem64, 0, 16 * GiB, true);
    f.bars[2].status = pci::BarStatus::TooLarge;
    g_log.clear();
    set_log_sink(capture);
    GuestPlan plan;
    Diagnostic d;
    REQUIRE(build_plan(p, table, all_assigned(table), kHyp, plan, d));
    set_log_sink(nullptr);
    CHECK(g_log.find("0000:00:05.0 BAR2 (16 GiB) has no address") != std::string::npos);
    CHECK(g_log.find("stays visible to the guest") != std::string::npos);
    for (usize i = 0; i < plan.count; ++i) CHECK(plan.regions[i].cls != RegionClass::PciBar);
}

TEST_CASE("plan: device lists parse with and without a segment and bad ones are refused")
{
    pci::DispositionOptions options;
    Diagnostic d;
    REQUIRE(pci::parse_bdf_list("0000:00:03.0,01:1f.7", options.device_mmio, pci::DeviceLists::kMax, options.device_mmio_count, d));
    REQUIRE(options.device_mmio_count == 2);
    CHECK(options.device_mmio[0].bdf == pci::Bdf{0, 3, 0});
    CHECK(options.device_mmio[1].bdf == pci::Bdf{1, 0x1f, 7});
    pci::DispositionOptions bad;
    CHECK_FALSE(pci::parse_bdf_list("00:03", bad.device_mmio, pci::DeviceLists::kMax, bad.device_mmio_count, d));
    CHECK(std::string(d.text) == "device list: cannot read \"00:03\" (want 0000:00:03.0)");
    CHECK_FALSE(pci::parse_bdf_list("00:20.0", bad.deny, pci::DeviceLists::kMax, bad.deny_count, d));  // device 32 does not exist
    CHECK_FALSE(pci::parse_bdf_list("00:03.8", bad.assign, pci::DeviceLists::kMax, bad.assign_count, d));
}

// Issue 14 k: no-map reserved memory (secure carve-outs) is left out of
// stage 2 to the page, while the guest DTB's RAM still covers it (the
// /reserved-memory node stays, so Linux leaves it alone too).
TEST_CASE("plan: no-map reserved memory is never mapped in stage 2")
{
    Platform p = load_platform("no-map.dtb");
    pci::PciDeviceTable<2> table;
    static GuestPlan plan;
    Diagnostic d;
    REQUIRE(build_plan(p, table, all_assigned(table), kHyp, plan, d));
    for (u64 a : {0x50001000ull, 0x50003fffull, 0x60000000ull, 0x603fffffull}) {
        INFO(std::hex << a);
        CHECK(find(plan, a) == nullptr);
    }
    for (u64 a : {0x50000fffull, 0x50004000ull, 0x60400000ull, 0x70000000ull, 0xbfffffffull}) {
        INFO(std::hex << a);
        const GuestRegion* r = find(plan, a);
        REQUIRE(r != nullptr);
        CHECK(r->cls == RegionClass::Ram);
    }
    // The guest's RAM (its DTB's memory node) is the platform's less passage.
    REQUIRE(plan.ram_count == 2);
    CHECK(plan.ram[1].base == kHyp.end());
    CHECK(plan.ram[1].end() == 0xc0000000);
}

TEST_CASE("plan: passage.deny or passage.assign with direct config space is an error")
{
    Diagnostic d;
    pci::DispositionOptions none;
    REQUIRE(pci::parse_bdf_list("00:03.0", none.device_mmio, pci::DeviceLists::kMax, none.device_mmio_count, d));
    CHECK(pci::check_direct_config(none, d));  // a kept-Device BAR needs no hiding
    pci::DispositionOptions deny;
    REQUIRE(pci::parse_bdf_list("00:04.0", deny.deny, pci::DeviceLists::kMax, deny.deny_count, d));
    CHECK_FALSE(pci::check_direct_config(deny, d));
    CHECK(std::string(d.text).find("passage.deny cannot be kept with passage.vpci=off") == 0);
    pci::DispositionOptions assign;
    REQUIRE(pci::parse_bdf_list("00:03.0", assign.assign, pci::DeviceLists::kMax, assign.assign_count, d));
    assign.assign_given = true;
    CHECK_FALSE(pci::check_direct_config(assign, d));
    CHECK(std::string(d.text).find("passage.assign cannot be kept") == 0);
}

// The GIC's table-address frames are trapped, not mapped: carving splits
// the region around them, at either end, or removes it whole.
TEST_CASE("plan: frames carved out of a region split it and nothing else")
{
    Platform p = load_platform("qemu-virt-gicv3.dtb");
    pci::PciDeviceTable<1> table;
    GuestPlan plan;
    Diagnostic d;
    REQUIRE(build_plan(p, table, all_assigned(table), kHyp, plan, d));
    const usize before = plan.count;
    REQUIRE(find(plan, 0x080a0000) != nullptr);
    // The first redistributor's RD_base (middle of the GIC region), the
    // ITS control frame.
    REQUIRE(carve_out(plan, {0x080a0000, 0x10000}, d));
    REQUIRE(carve_out(plan, {0x08080000, 0x10000}, d));
    CHECK(find(plan, 0x080a0000) == nullptr);
    CHECK(find(plan, 0x080affff) == nullptr);
    REQUIRE(find(plan, 0x080b0000) != nullptr);  // its SGI frame stays mapped
    CHECK(find(plan, 0x080b0000)->pa == 0x080b0000);
    CHECK(find(plan, 0x08090000) != nullptr);  // GITS_TRANSLATER's frame stays
    CHECK(find(plan, 0x08080000) == nullptr);
    CHECK(find(plan, 0x08000000) != nullptr);  // the distributor is untouched
    CHECK(plan.count == before + 1);
    for (usize i = 1; i < plan.count; ++i) CHECK(plan.regions[i - 1].end() <= plan.regions[i].ipa);
    CHECK_FALSE(carve_out(plan, {0x080a0000, 0x10000}, d));  // already gone
    CHECK(std::string(d.text).find("no one region holds it") != std::string::npos);
    CHECK_FALSE(carve_out(plan, {0x080b0100, 0x1000}, d));
}
