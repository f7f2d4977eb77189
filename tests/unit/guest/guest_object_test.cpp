// include/passage/guest/guest.h: what belongs to one guest is in its object,
// so two guests built side by side share nothing (their tables, plans,
// vCPUs and config-space views are their own).
#include <catch2/catch.hpp>

#include "fake_ecam.h"
#include "fake_env.h"
#include "passage/guest/guest.h"
#include "passage/pci/enumerate.h"
#include "vconfig_fakes.h"

using namespace passage;

namespace {

// The host tests run on one thread: a lock that only counts.
struct CountingLock {
    void lock() { ++held; }
    void unlock() { --held; }
    int held = 0;
};

using TestGuest = Guest<stage2::test::FakeEnv, CountingLock>;

constexpr stage2::Attrs kRam{stage2::MemType::NormalWB, stage2::Access::RW, true};
constexpr stage2::Attrs kBar{stage2::MemType::NormalNC, stage2::Access::RW, false};

stage2::Geometry geometry()
{
    return stage2::make_geometry(stage2::CpuFeatures{0b0101, true, true}, 40).value();
}

void add_ram(TestGuest& g, u64 base, u64 size)
{
    plan::GuestRegion& r = g.plan.regions[g.plan.count++];
    r.ipa = r.pa = base;
    r.size = size;
    r.attrs = kRam;
    r.cls = plan::RegionClass::Ram;
    g.plan.ram[g.plan.ram_count++] = {base, size};
}

// Maps what the plan says (the plan's own builder, plan/stage2_build.h, is
// the boot's; the regions here are plain RAM).
void build_table(TestGuest& g)
{
    REQUIRE(g.create_table(geometry(), stage2::kNoFwb).ok());
    for (usize i = 0; i < g.plan.count; ++i) {
        const plan::GuestRegion& r = g.plan.regions[i];
        REQUIRE(g.table().map(IpaAddr(r.ipa), PhysAddr(r.pa), r.size, r.attrs).ok());
    }
}

}  // namespace

// Each guest's plan becomes its own table, in its own pool, with its own VMID.
TEST_CASE("guest object: two guests have their own plan and table and SMMU context")
{
    TestGuest a(1, 64), b(2, 64);
    add_ram(a, 0x4000'0000, 2 * MiB);
    add_ram(b, 0x8000'0000, 4 * MiB);
    build_table(a);
    build_table(b);

    CHECK(a.table().lookup(IpaAddr(0x4000'0000)).ok());
    CHECK_FALSE(b.table().lookup(IpaAddr(0x4000'0000)).ok());
    CHECK(b.table().lookup(IpaAddr(0x8030'0000)).ok());
    CHECK_FALSE(a.table().lookup(IpaAddr(0x8030'0000)).ok());
    CHECK(a.plan.ram_count == 1);
    CHECK(b.plan.ram[0].base == 0x8000'0000);

    CHECK(a.env().pages_in_use() > 0);
    CHECK(a.env().table(a.table().root()) != b.env().table(b.table().root()));  // two pools (same fake PAs)
    const SmmuContext sa = a.smmu_context(), sb = b.smmu_context();
    CHECK(sa.vmid == 1);
    CHECK(sb.vmid == 2);
    CHECK(sa.vttbr != sb.vttbr);
    CHECK(sa.vttbr >> 48 == 1);  // VTTBR_EL2.VMID
    CHECK(sb.vttbr >> 48 == 2);
    CHECK(sa.vtcr == a.table().vtcr());

    // Unmapping in one leaves the other as it was.
    usize b_pages = b.env().pages_in_use();
    REQUIRE(a.table().unmap(IpaAddr(0x4000'0000), 2 * MiB).ok());
    CHECK_FALSE(a.table().lookup(IpaAddr(0x4000'0000)).ok());
    CHECK(b.env().pages_in_use() == b_pages);
    CHECK(b.table().lookup(IpaAddr(0x8000'0000)).ok());
    a.table().destroy();
    b.table().destroy();
}

TEST_CASE("guest object: each guest has its own vCPUs")
{
    TestGuest a(1, 16), b(2, 16);
    plan::GuestCpus two;
    two.mpidr[0] = 0x0;
    two.mpidr[1] = 0x1;
    two.count = 2;
    plan::GuestCpus one;
    one.mpidr[0] = 0x100;
    one.count = 1;
    a.set_cpus(two);
    b.set_cpus(one);
    a.cpus.state[1] = vcpu::CpuState::On;
    CHECK(a.cpus.count == 2);
    CHECK(b.cpus.count == 1);
    CHECK(b.cpus.find(0x100) == 0);
    CHECK(a.cpus.find(0x100) == -1);
    CHECK(b.cpus.state[0] == vcpu::CpuState::Off);
    CHECK(a.cpu_plan.list().size() == 2);
    a.cpus_lock.lock();
    CHECK(a.cpus_lock.held == 1);
    CHECK(b.cpus_lock.held == 0);
    a.cpus_lock.unlock();
}

// One PCI fabric for two guests: a 1b36:0005 at 00:01.0 with a 4 KiB
// BAR0, enumerated.
struct OneDevice {
    pci::test::FakeEcam ecam;
    PciHostBridge host = pci::test::qemu_virt_host();
    pci::PciDeviceTable<8> devices;
    OneDevice()
    {
        ecam.add(1, 0).ids(0x1b36, 0x0005).bar32(0, 4 * KiB);
        REQUIRE(pci::enumerate(host, ecam, devices).ok());
    }
};

// One PCI fabric, two guests' config-space views: a BAR the first guest
// moves is followed in the first guest's stage 2 only.
TEST_CASE("guest object: a BAR move in one guest's config space changes only that guest's table")
{
    set_log_level(LogLevel::Warn);
    OneDevice fabric;
    auto& [ecam, host, devices] = fabric;
    const pci::Bdf dev{0, 1, 0};
    REQUIRE(devices.size() == 1);
    const u64 bar = devices[0].bars[0].cpu_addr;
    REQUIRE(bar != 0);

    pci::ConfigAccess* hw[] = {&ecam};
    pci::test::FakePhys phys;
    TestGuest a(1, 64), b(2, 64);
    for (TestGuest* g : {&a, &b}) {
        g->dispositions.decide(devices, pci::DispositionOptions{});
        REQUIRE(g->create_table(geometry(), stage2::kNoFwb).ok());
        REQUIRE(g->table().map(IpaAddr(bar), PhysAddr(bar), 4 * KiB, kBar).ok());  // as the plan maps it
        REQUIRE(g->start_vconfig(devices, hw, {&host, 1}, phys).start().ok());
    }
    CHECK(a.vconfig.view != b.vconfig.view);

    const u64 moved = bar + 1 * MiB;
    a.vconfig.view->write(0, dev, 0x10, 4, u32(moved));
    auto in_a = a.table().lookup(IpaAddr(moved));
    REQUIRE(in_a.ok());
    CHECK(in_a->pa.value == bar);
    CHECK_FALSE(a.table().lookup(IpaAddr(bar)).ok());
    CHECK(b.table().lookup(IpaAddr(bar)).ok());  // b's guest did not move it
    CHECK_FALSE(b.table().lookup(IpaAddr(moved)).ok());
    CHECK(a.vconfig.view->moves == 1);
    CHECK(b.vconfig.view->moves == 0);

    for (TestGuest* g : {&a, &b}) {
        g->vconfig.view->~VirtualConfig();
        g->table().destroy();
    }
    set_log_level(LogLevel::Info);
}

// Dispositions are the guest's: a function denied to one guest is still
// there for the other.
TEST_CASE("guest object: a function hidden from one guest stays visible to the other")
{
    set_log_level(LogLevel::Warn);
    OneDevice fabric;
    auto& [ecam, host, devices] = fabric;
    const pci::Bdf dev{0, 1, 0};
    pci::DispositionOptions deny;
    deny.deny[deny.deny_count++] = {0, dev};

    pci::ConfigAccess* hw[] = {&ecam};
    pci::test::FakePhys phys;
    TestGuest a(1, 64), b(2, 64);
    a.dispositions.decide(devices, deny);
    b.dispositions.decide(devices, pci::DispositionOptions{});
    for (TestGuest* g : {&a, &b}) {
        REQUIRE(g->create_table(geometry(), stage2::kNoFwb).ok());
        REQUIRE(g->start_vconfig(devices, hw, {&host, 1}, phys).start().ok());
    }
    CHECK_FALSE(a.dispositions.visible(0));
    CHECK(b.dispositions.visible(0));
    CHECK(a.vconfig.view->read(0, dev, 0x00, 4) == 0xffffffff);
    CHECK(b.vconfig.view->read(0, dev, 0x00, 4) == 0x00051b36);

    for (TestGuest* g : {&a, &b}) {
        g->vconfig.view->~VirtualConfig();
        g->table().destroy();
    }
    set_log_level(LogLevel::Info);
}
