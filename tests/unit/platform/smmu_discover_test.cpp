// SMMUv3 discovery and the host bridges' iommu-map: QEMU's own tree, a
// board-like fixture with two SMMUs and a mask, and broken maps that must be
// refused with a message naming the bridge.
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

std::string summary(const Platform& p)
{
    g_log.clear();
    set_log_sink(capture);
    print_platform_summary(p);
    set_log_sink(nullptr);
    return g_log;
}

}  // namespace

TEST_CASE("smmu discovery: QEMU virt with iommu=smmuv3 maps every RID one to one")
{
    auto d = discover_blob(load_dtb("qemu-virt-smmuv3.dtb"));
    INFO(d.diag.text);
    REQUIRE(d.ok);
    REQUIRE(d.p.smmu_count == 1);
    CHECK(d.p.smmus[0].reg.base == 0x9050000);
    CHECK(d.p.smmus[0].reg.size == 0x20000);
    CHECK(d.p.smmus[0].dma_coherent);
    REQUIRE(d.p.bridge_count == 1);
    const PciHostBridge& b = d.p.bridges[0];
    REQUIRE(b.iommu_map_count == 1);
    CHECK(b.iommu_map[0].smmu == 0);
    auto r = stream_route(b, 0x0210);
    REQUIRE(r.ok());
    CHECK(r->smmu == 0);
    CHECK(r->stream_id == 0x0210);
    // The SMMU's registers are passage's, not plain MMIO for the guest.
    for (usize i = 0; i < d.p.mmio_count; ++i) CHECK(std::string(d.p.mmio[i].compatible) != "arm,smmu-v3");
}

TEST_CASE("smmu discovery: a masked map with two SMMUs and one IOMMU passage does not drive")
{
    auto d = discover_blob(load_dtb("smmu-board.dtb"));
    INFO(d.diag.text);
    REQUIRE(d.ok);
    REQUIRE(d.p.smmu_count == 2);  // the disabled one is left out
    CHECK(d.p.smmus[0].dma_coherent);
    CHECK_FALSE(d.p.smmus[1].dma_coherent);
    CHECK(d.p.smmus[1].reg.base == 0x2b400000);
    REQUIRE(d.p.bridge_count == 2);
    const PciHostBridge& b = d.p.bridges[0];
    CHECK(b.iommu_map_mask == 0xff00);
    REQUIRE(b.iommu_map_count == 2);
    // RID 01:02.3 (0x0113) masked to 0x0100: the second entry, SMMU 1.
    auto r = stream_route(b, 0x0113);
    REQUIRE(r.ok());
    CHECK(r->smmu == 1);
    CHECK(r->stream_id == 0x2000);
    r = stream_route(b, 0x03ff);
    REQUIRE(r.ok());
    CHECK(r->stream_id == 0x2200);
    r = stream_route(b, 0x00ff);  // bus 0, masked to 0
    REQUIRE(r.ok());
    CHECK(r->smmu == 0);
    CHECK(r->stream_id == 0);
    CHECK(stream_route(b, 0x0400).error() == Error::NotFound);  // past the map
    const PciHostBridge& other = d.p.bridges[1];
    REQUIRE(other.iommu_map_count == 1);
    CHECK(other.iommu_map[0].smmu == IommuMapEntry::kNotSmmuV3);
    std::string s = summary(d.p);
    INFO(s);
    CHECK(s.find("smmu1      arm,smmu-v3 0x2b400000 (256 KiB) /iommu@2b400000\n") != std::string::npos);
    CHECK(s.find("iommu-map rid 0100-03ff -> smmu1 sid 0x2000 (mask 0xff00)") != std::string::npos);
    CHECK(s.find("/pcie@50000000 has no SMMUv3 in its iommu-map: assigned devices behind it can DMA anywhere") != std::string::npos);
    CHECK(s.find("/pcie@4010000000 has no SMMUv3") == std::string::npos);
}

TEST_CASE("smmu discovery: a host bridge without an SMMU is reported as unconfined")
{
    auto d = discover_blob(load_dtb("board-nested.dtb"));
    REQUIRE(d.ok);
    CHECK(d.p.smmu_count == 0);
    CHECK(stream_route(d.p.bridges[0], 0).error() == Error::NotFound);
    CHECK(summary(d.p).find("/pcie@40000000 has no SMMUv3 in its iommu-map: assigned devices behind it can DMA anywhere, "
                            "passage included") != std::string::npos);
}

TEST_CASE("smmu discovery: malformed maps and SMMU nodes are refused naming the node")
{
    struct Case {
        const char* file;
        const char* message;
    };
    auto c = GENERATE(Case{"smmu-map-overlap.dtb", "/pcie@4010000000: iommu-map entries for RIDs 0x100-0x1ff and 0x0-0x1ff overlap"},
                      Case{"smmu-map-truncated.dtb", "/pcie@4010000000: iommu-map entry at byte 16 is truncated"},
                      Case{"smmu-map-dangling.dtb", "/pcie@4010000000: iommu-map names phandle 0x77, which is no node"},
                      Case{"smmu-map-too-long.dtb", "/pcie@4010000000: iommu-map entry for RID 0xff00 length 0x200 leaves the 16-bit RID space"},
                      Case{"smmu-small-reg.dtb", "SMMUv3 /iommu@9050000: reg 0x9050000 size 0x10000 is not 64 KiB aligned or smaller"});
    auto d = discover_blob(load_dtb(c.file));
    INFO(c.file << ": " << d.diag.text);
    CHECK_FALSE(d.ok);
    CHECK(std::string(d.diag.text).find(c.message) != std::string::npos);
}
