// The combined memory types the self-test expects, against the Arm ARM rules
// and the values QEMU 7.2 was seen to report (docs/design.md).
#include <catch2/catch.hpp>

#include "passage/plan/attr_check.h"

using namespace passage;
using namespace passage::plan;
using stage2::MemType;

TEST_CASE("attr check: without FWB the more restrictive type wins")
{
    auto e = stage2::kNoFwb;
    CHECK(expected_combined(MemType::NormalNC, MemType::NormalNC, e) == 0x44);
    CHECK(expected_combined(MemType::NormalNC, MemType::DeviceNGnRE, e) == 0x04);
    CHECK(expected_combined(MemType::DeviceNGnRE, MemType::NormalNC, e) == 0x04);
    CHECK(expected_combined(MemType::NormalWB, MemType::NormalNC, e) == 0x44);
    CHECK(expected_combined(MemType::NormalWB, MemType::NormalWB, e) == 0xff);
    CHECK(expected_combined(MemType::NormalWB, MemType::DeviceNGnRnE, e) == 0x00);
    CHECK(expected_combined(MemType::DeviceNGnRE, MemType::DeviceNGnRnE, e) == 0x00);
}

TEST_CASE("attr check: with FWB Device forces and NC caps while RAM follows the chosen encoding")
{
    for (auto e : {stage2::kFwbForceWb, stage2::kFwbGuestChoice}) {
        CHECK(expected_combined(MemType::NormalWB, MemType::DeviceNGnRE, e) == 0x04);
        CHECK(expected_combined(MemType::NormalNC, MemType::DeviceNGnRE, e) == 0x04);
        CHECK(expected_combined(MemType::NormalWB, MemType::NormalNC, e) == 0x44);
        CHECK(expected_combined(MemType::DeviceNGnRE, MemType::NormalNC, e) == 0x04);
        CHECK(expected_combined(MemType::NormalNC, MemType::NormalNC, e) == 0x44);
    }
    CHECK(expected_combined(MemType::DeviceNGnRE, MemType::NormalWB, stage2::kFwbForceWb) == 0xff);
    CHECK(expected_combined(MemType::NormalNC, MemType::NormalWB, stage2::kFwbGuestChoice) == 0x44);
    CHECK(expected_combined(MemType::NormalWB, MemType::NormalWB, stage2::kFwbGuestChoice) == 0xff);
}

TEST_CASE("attr check: never cacheable on a passed-through BAR whatever the guest asks")
{
    for (auto e : {stage2::kNoFwb, stage2::kFwbForceWb, stage2::kFwbGuestChoice})
        for (MemType s1 : kStage1Types) CHECK(expected_combined(s1, MemType::NormalNC, e) != kAttrNormalWB);
}

TEST_CASE("attr check: one sample per region class")
{
    GuestPlan plan;
    auto add = [&](u64 ipa, RegionClass c) {
        GuestRegion& r = plan.regions[plan.count++];
        r.ipa = r.pa = ipa;
        r.size = 0x1000;
        r.cls = c;
    };
    add(0x08000000, RegionClass::Gic);
    add(0x09000000, RegionClass::Mmio);
    add(0x0a000000, RegionClass::Mmio);
    add(0x10000000, RegionClass::PciBar);
    add(0x40000000, RegionClass::Ram);
    add(0x40400000, RegionClass::Ram);
    const GuestRegion* s[8];
    usize n = pick_samples(plan, s, 8);
    REQUIRE(n == 4);
    CHECK(s[1]->ipa == 0x09000000);
    CHECK(s[3]->ipa == 0x40000000);
}
