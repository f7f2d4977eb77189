// The guest's CPUs (issue 14 d and l): spin-table CPUs refused, CPUs past
// passage's limit left out, the boot CPU found by its MPIDR or refused.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "passage/discover.h"
#include "passage/log.h"
#include "passage/pci/device_table.h"
#include "passage/plan/address_plan.h"
#include "passage/plan/guest_cpus.h"
#include "passage/plan/ram_encoding.h"
#include "support/fixture.h"

using namespace passage;
using passage::test::load_platform;
using namespace passage::plan;

namespace {

std::vector<u64> list(const GuestCpus& c) { return {c.mpidr, c.mpidr + c.count}; }

std::string g_log;
void capture(const char* t, usize n) { g_log.append(t, n); }

// What a call prints to the log.
template <typename F>
std::string logged(F f)
{
    g_log.clear();
    set_log_sink(capture);
    f();
    set_log_sink(nullptr);
    return g_log;
}

}  // namespace

TEST_CASE("guest cpus: spin-table CPUs are refused")
{
    Platform p = load_platform("spin-table.dtb");
    GuestCpus c;
    Diagnostic d;
    REQUIRE(choose_guest_cpus(p, 0x80000000, c, d));  // MPIDR_EL1 bit 31 is RES1
    CHECK(list(c) == std::vector<u64>{0x0, 0x3});
    CHECK(c.boot == 0);
    CHECK(c.refused == 2);
}

TEST_CASE("guest cpus: the boot log names each CPU refused and why")
{
    Platform p = load_platform("spin-table.dtb");
    GuestCpus c;
    Diagnostic d;
    REQUIRE(choose_guest_cpus(p, 0, c, d));
    std::string log = logged([&] { print_guest_cpus(p, c); });
    CHECK(log.find("guest: cpu mpidr 0x1 refused: enable-method spin-table") != std::string::npos);
    CHECK(log.find("guest: cpu mpidr 0x2 refused: enable-method spin-table") != std::string::npos);
    CHECK(log.find("its release address unmapped") != std::string::npos);
    CHECK(log.find("guest: 2 CPUs, boot CPU mpidr 0x0") != std::string::npos);

    Platform many = load_platform("many-cpus.dtb");
    REQUIRE(choose_guest_cpus(many, 0, c, d));
    log = logged([&] { print_guest_cpus(many, c); });
    CHECK(log.find("guest: 4 CPUs beyond the 8 passage supports removed from the guest's tree") != std::string::npos);
}

TEST_CASE("guest cpus: a spin-table boot CPU is kept since passage already runs on it")
{
    Platform p = load_platform("spin-table.dtb");
    GuestCpus c;
    Diagnostic d;
    REQUIRE(choose_guest_cpus(p, 0x80000002, c, d));
    CHECK(list(c) == std::vector<u64>{0x0, 0x2, 0x3});
    CHECK(c.boot == 1);
}

TEST_CASE("guest cpus: the boot CPU is found by MPIDR among the first eight")
{
    Platform p = load_platform("many-cpus.dtb");
    GuestCpus c;
    Diagnostic d;
    REQUIRE(choose_guest_cpus(p, 0x81000101, c, d));  // MT and RES1 bits ignored
    CHECK(c.count == 8);
    CHECK(c.boot == 7);
    CHECK(c.mpidr[7] == 0x101);
}

TEST_CASE("guest cpus: a boot CPU past the first eight is refused by name")
{
    Platform p = load_platform("many-cpus.dtb");
    GuestCpus c;
    Diagnostic d;
    REQUIRE_FALSE(choose_guest_cpus(p, 0x80000103, c, d));
    CHECK(std::string(d.text) ==
          "the boot CPU (MPIDR 0x103) is not among the 8 CPUs passage supports (the first 8 of /cpus, which has 12)");
}

// The mailboxes' page is out of stage 2, so even a guest that knows the
// address cannot release a CPU.
TEST_CASE("guest cpus: the spin-table release page is not mapped in stage 2")
{
    Platform p = load_platform("spin-table.dtb");
    REQUIRE(p.spin_release_count == 1);
    CHECK(p.spin_release[0].base == 0x8000f000);
    pci::PciDeviceTable<2> table;
    pci::Dispositions disp;
    pci::DispositionOptions options;
    options.can_hide = false;
    disp.decide(table, options);
    static GuestPlan plan;
    Diagnostic d;
    REQUIRE(build_plan(p, table, disp, MemRange{0x40200000, 0x200000}, plan, d));
    auto find = [&](u64 a) -> const GuestRegion* {
        for (usize i = 0; i < plan.count; ++i)
            if (a >= plan.regions[i].ipa && a < plan.regions[i].end()) return &plan.regions[i];
        return nullptr;
    };
    CHECK(find(0x8000fff8) == nullptr);
    CHECK(find(0x8000f000) == nullptr);
    CHECK(find(0x8000efff) != nullptr);
    CHECK(find(0x80010000) != nullptr);
}

// Issue 14 n: FWB's forced write-back needs every DMA master coherent; the
// log says which one stops it.
TEST_CASE("ram encoding: FWB forces write-back only when every DMA master is coherent")
{
    Platform mixed = load_platform("dma-masters.dtb");
    stage2::Encoding e{};
    std::string log = logged([&] { e = choose_ram_encoding(mixed, true); });
    CHECK(e == stage2::kFwbGuestChoice);
    CHECK(log.find("FWB: guest RAM as the guest maps it: 2 of 4 DMA masters not dma-coherent, first /mmc@20000000") !=
          std::string::npos);

    Platform qemu = load_platform("qemu-virt-gicv3.dtb");
    log = logged([&] { e = choose_ram_encoding(qemu, true); });
    CHECK(e == stage2::kFwbForceWb);
    CHECK(log.find("FWB: guest RAM forced write-back: all " + std::to_string(qemu.dma.count) +
                   " DMA masters are dma-coherent") != std::string::npos);

    log = logged([&] { e = choose_ram_encoding(qemu, false); });
    CHECK(e == stage2::kNoFwb);
    CHECK(log.find("FWB: not implemented by this CPU") != std::string::npos);
}
