// Geometry and VTCR_EL2 for every requested IPA size and PARange value.
#include <catch2/catch.hpp>

#include "passage/stage2/descriptor.h"
#include "passage/stage2/geometry.h"

using namespace passage;
using namespace passage::stage2;

TEST_CASE("geometry for every IPA size and PARange", "[stage2][geometry]")
{
    // The walk must be as short as the architecture allows and the IPA
    // space never wider than the PA space.
    const int parange = GENERATE(range(0, 8));
    const unsigned requested = GENERATE(range(32u, 49u));
    const bool vmid16 = GENERATE(false, true);
    CAPTURE(parange, requested, vmid16);
    const unsigned pa_bits[] = {32, 36, 40, 42, 44, 48, 48, 48};

    CpuFeatures cpu{static_cast<u8>(parange), vmid16, false};
    Result<Geometry> g = make_geometry(cpu, requested);
    REQUIRE(g.ok());
    const unsigned ipa = std::min(requested, pa_bits[parange]);
    CHECK(g->ipa_bits == ipa);
    CHECK(g->pa_bits == pa_bits[parange]);

    // Start level: level 2 resolves bits 21.., level 1 bits 30.., level 0
    // bits 39..; a first lookup resolves at most 9 + 4 bits (16 tables).
    const unsigned expect_level = ipa <= 34 ? 2 : ipa <= 43 ? 1 : 0;
    CHECK(g->start_level == expect_level);
    const unsigned root_bits = ipa - (12 + 9 * (3 - expect_level));
    CHECK(root_bits <= 13);
    CHECK(g->root_entries == (usize{1} << root_bits));
    CHECK(g->concat == (root_bits > 9 ? 1u << (root_bits - 9) : 1u));
    CHECK(g->concat <= 16);
    // One level deeper would need more than 16 concatenated tables.
    if (expect_level < 2) CHECK(ipa - (12 + 9 * (2 - expect_level)) > 13);

    const u64 v = g->vtcr;
    CHECK(tcr::T0SZ::get(v) == 64 - ipa);
    CHECK(VtcrSL0::get(v) == 2 - expect_level);
    CHECK(tcr::IRGN0::get(v) == 0b01);
    CHECK(tcr::ORGN0::get(v) == 0b01);
    CHECK(tcr::SH0::get(v) == 0b11);
    CHECK(tcr::TG0::get(v) == 0b00);
    CHECK(tcr::PS::get(v) == static_cast<u64>(std::min(parange, 5)));
    CHECK(VtcrVS::get(v) == (vmid16 ? 1u : 0u));
    CHECK(VtcrRes1::get(v) == 1);
    CHECK((v & ~u64{0x800f'ffff}) == 0);  // nothing else set (no HA/HD, no 52-bit)
}

// A table the SMMU walks too: QEMU 10.0's SMMUv3 reads every first-level
// entry from the first of concatenated tables, so its walk of IPA 2^39 and
// up in a 40-bit space goes wrong. One root table where the CPU allows it.
TEST_CASE("geometry with a single root table for a second walker", "[stage2][geometry]")
{
    const int parange = GENERATE(range(0, 8));
    const unsigned requested = GENERATE(range(32u, 49u));
    CAPTURE(parange, requested);
    const unsigned pa_bits[] = {32, 36, 40, 42, 44, 48, 48, 48};
    CpuFeatures cpu{static_cast<u8>(parange), true, false};
    Result<Geometry> g = make_geometry(cpu, requested, true);
    REQUIRE(g.ok());
    const unsigned ipa = std::min(requested, pa_bits[parange]);
    CHECK(g->ipa_bits == ipa);
    if (pa_bits[parange] >= 44) {
        CHECK(g->concat == 1);
        CHECK(g->start_level == (ipa <= 30 ? 2u : ipa <= 39 ? 1u : 0u));
    } else {
        // A level-0 start needs 44-bit PAs: concatenation stays.
        CHECK(g->start_level == make_geometry(cpu, requested).value().start_level);
    }
    // QEMU virt's 40-bit plan on a 48-bit CPU: level 0, two entries, no concatenation.
    if (parange == 5 && requested == 40) {
        CHECK(g->start_level == 0);
        CHECK(g->root_entries == 2);
        CHECK(VtcrSL0::get(g->vtcr) == 2);
    }
}

TEST_CASE("known VTCR_EL2 values", "[stage2][geometry]")
{
    // cortex-a72 (44-bit PA, 16-bit VMIDs) with a 40-bit IPA: level 1, two tables.
    Result<Geometry> a72 = make_geometry(CpuFeatures{0b0100, true, false}, 40);
    REQUIRE(a72.ok());
    CHECK(a72->start_level == 1);
    CHECK(a72->concat == 2);
    CHECK(a72->vtcr == 0x800c'3558);
    // -cpu max (52-bit PARange, clamped to 48) asking for 48 bits: level 0.
    Result<Geometry> max = make_geometry(CpuFeatures{0b0110, true, true}, 48);
    REQUIRE(max.ok());
    CHECK(max->ipa_bits == 48);
    CHECK(max->start_level == 0);
    CHECK(max->concat == 1);
    CHECK(max->vtcr == 0x800d'3590);
}

TEST_CASE("geometry refuses what it cannot build", "[stage2][geometry]")
{
    // Requests outside 32..48 bits and reserved PARange values.
    CHECK(make_geometry(CpuFeatures{0b0101, false, false}, 31).error() == Error::InvalidArgument);
    CHECK(make_geometry(CpuFeatures{0b0101, false, false}, 49).error() == Error::InvalidArgument);
    CHECK(make_geometry(CpuFeatures{0b1000, false, false}, 40).error() == Error::Unsupported);
}

TEST_CASE("CPU features from the ID registers", "[stage2][geometry]")
{
    // PARange, VMIDBits = 0b0010 and FWB = 0b0001 are what passage reads.
    CpuFeatures f = CpuFeatures::from_id_regs(0x0000'0000'0000'1126, 0x0000'0000'1012'0020,
                                              0x0000'0100'0000'0000);
    CHECK(f.pa_range == 6);
    CHECK(f.vmid16);
    CHECK(f.s2fwb);
    CpuFeatures g = CpuFeatures::from_id_regs(0x1124, 0, 0);
    CHECK(g.pa_range == 4);
    CHECK_FALSE(g.vmid16);
    CHECK_FALSE(g.s2fwb);
    CHECK(make_vttbr(PhysAddr(0x4008'0000), 5) == 0x0005'0000'4008'0000);
}
