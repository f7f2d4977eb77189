// When an SMMU may walk the guest's stage 2 (review 2026-12, A7), and the
// names of its global errors (A9).
#include <catch2/catch.hpp>

#include <string>

#include "passage/iommu/stage2_share.h"

using namespace passage;
using namespace passage::iommu;

namespace {

SmmuFeatures smmu(unsigned oas_field, bool fwb, bool vmid16)
{
    SmmuFeatures f;
    f.stage2 = f.aa64 = f.gran4k = true;
    f.oas = oas_field;  // 2: 40 bits, 5: 48 bits
    f.fwb = fwb;
    f.vmid16 = vmid16;
    return f;
}

std::string why_not(const SmmuFeatures& f, const SharedStage2& s2)
{
    char why[160];
    bool ok = can_share_stage2(f, s2, why, sizeof why);
    CHECK(ok == (why[0] == '\0'));
    return why;
}

}  // namespace

TEST_CASE("an SMMU shares a stage 2 that fits it")
{
    CHECK(why_not(smmu(5, false, false), {40, false, 1}).empty());
    CHECK(why_not(smmu(2, true, true), {40, true, 0x1234}).empty());
}

TEST_CASE("an IPA wider than the SMMU's output size is refused")
{
    CHECK(why_not(smmu(2, false, false), {44, false, 1}) == "the 44-bit stage 2 does not fit its 40-bit input");
}

TEST_CASE("FWB encodings need IDR3.FWB")
{
    CHECK(why_not(smmu(5, false, false), {40, true, 1}) == "the stage 2 uses FWB and it has no IDR3.FWB");
}

TEST_CASE("a VMID above 255 needs IDR0.VMID16")
{
    CHECK(why_not(smmu(5, false, false), {40, false, 255}).empty());
    CHECK(why_not(smmu(5, false, false), {40, false, 256}) == "VMID 256 needs 16-bit VMIDs and it has no IDR0.VMID16");
}

TEST_CASE("every reason is named at once")
{
    CHECK(why_not(smmu(2, false, false), {44, true, 300}) ==
          "the 44-bit stage 2 does not fit its 40-bit input, the stage 2 uses FWB and it has no IDR3.FWB, "
          "VMID 300 needs 16-bit VMIDs and it has no IDR0.VMID16");
}

TEST_CASE("global errors are named with service failure first")
{
    char text[128];
    describe_global_errors(0x101, text, sizeof text);
    CHECK(std::string(text) == "SFM_ERR, CMDQ_ERR");
    describe_global_errors(0x4, text, sizeof text);
    CHECK(std::string(text) == "EVENTQ_ABT_ERR");
    describe_global_errors(0x2, text, sizeof text);
    CHECK(std::string(text) == "bits 0x2");
    describe_global_errors(0, text, sizeof text);
    CHECK(std::string(text).empty());
}
