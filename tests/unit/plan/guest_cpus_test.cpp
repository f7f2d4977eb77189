// The guest's CPUs (issue 14 d and l): spin-table CPUs refused, CPUs past
// passage's limit left out, the boot CPU found by its MPIDR or refused.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "passage/pci/device_table.h"
#include "passage/plan/address_plan.h"
#include "passage/plan/guest_cpus.h"

using namespace passage;
using namespace passage::plan;

namespace {

Platform load(const char* name)
{
    std::ifstream f(std::string(PASSAGE_TEST_DATA_DIR) + "/" + name, std::ios::binary);
    REQUIRE(f.good());
    std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<u64> blob(raw.size() / 8 + 1);
    std::memcpy(blob.data(), raw.data(), raw.size());
    Platform p;
    Diagnostic d;
    REQUIRE(check_device_tree(blob.data(), raw.size(), d));
    REQUIRE(discover_platform(blob.data(), p, d));
    return p;
}

std::vector<u64> list(const GuestCpus& c) { return {c.mpidr, c.mpidr + c.count}; }

}  // namespace

TEST_CASE("guest cpus: spin-table CPUs are refused")
{
    Platform p = load("spin-table.dtb");
    GuestCpus c;
    Diagnostic d;
    REQUIRE(choose_guest_cpus(p, 0x80000000, c, d));  // MPIDR_EL1 bit 31 is RES1
    CHECK(list(c) == std::vector<u64>{0x0, 0x3});
    CHECK(c.boot == 0);
    CHECK(c.refused == 2);
}

TEST_CASE("guest cpus: a spin-table boot CPU is kept since passage already runs on it")
{
    Platform p = load("spin-table.dtb");
    GuestCpus c;
    Diagnostic d;
    REQUIRE(choose_guest_cpus(p, 0x80000002, c, d));
    CHECK(list(c) == std::vector<u64>{0x0, 0x2, 0x3});
    CHECK(c.boot == 1);
}

TEST_CASE("guest cpus: the boot CPU is found by MPIDR among the first eight")
{
    Platform p = load("many-cpus.dtb");
    GuestCpus c;
    Diagnostic d;
    REQUIRE(choose_guest_cpus(p, 0x81000101, c, d));  // MT and RES1 bits ignored
    CHECK(c.count == 8);
    CHECK(c.boot == 7);
    CHECK(c.mpidr[7] == 0x101);
}

TEST_CASE("guest cpus: a boot CPU past the first eight is refused by name")
{
    Platform p = load("many-cpus.dtb");
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
    Platform p = load("spin-table.dtb");
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
