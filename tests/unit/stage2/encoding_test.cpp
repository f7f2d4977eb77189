// Descriptor encodings against the Arm ARM values (D8.3, D8.5), for every
// type and access, with and without FEAT_S2FWB.
#include <catch2/catch.hpp>

#include "passage/stage2/descriptor.h"

using namespace passage;
using namespace passage::stage2;

namespace {

// MemAttr[3:0] the Arm ARM gives for each type: no FWB, FWB forcing
// write-back for RAM, FWB leaving RAM to the guest.
u64 expected_memattr(MemType t, Encoding enc)
{
    switch (t) {
    case MemType::NormalWB: return !enc.fwb ? 0b1111 : enc.ram == FwbRam::ForceWriteBack ? 0b0110 : 0b0111;
    case MemType::NormalNC: return 0b0101;
    case MemType::DeviceNGnRE: return 0b0001;
    case MemType::DeviceNGnRnE: return 0b0000;
    }
    return ~u64{0};
}

}  // namespace

TEST_CASE("every type/access/encoding gives the Arm ARM bits", "[stage2][encoding]")
{
    // The whole matrix: one place turns intent into bits, so check all of it.
    const MemType type = GENERATE(MemType::NormalWB, MemType::NormalNC, MemType::DeviceNGnRE,
                                  MemType::DeviceNGnRnE);
    const Access access = GENERATE(Access::None, Access::RO, Access::WO, Access::RW);
    const Encoding enc = GENERATE(kNoFwb, kFwbForceWb, kFwbGuestChoice);
    const unsigned level = GENERATE(1u, 2u, 3u);
    const bool exec = GENERATE(false, true);
    const PhysAddr oa(level_span(level) * 3);
    CAPTURE(static_cast<int>(type), static_cast<int>(access), enc.fwb, static_cast<int>(enc.ram), level, exec);

    Result<u64> d = encode_leaf(oa, level, {type, access, exec}, enc);
    if (exec && type != MemType::NormalWB) {
        REQUIRE_FALSE(d.ok());
        CHECK(d.error() == Error::InvalidArgument);
        return;
    }
    REQUIRE(d.ok());
    const u64 v = *d;
    CHECK((v & 3) == (level == 3 ? 0b11u : 0b01u));
    CHECK(((v >> 2) & 0xf) == expected_memattr(type, enc));
    CHECK(((v >> 6) & 3) == static_cast<u64>(access));
    CHECK(((v >> 8) & 3) == 0b11);                 // inner shareable
    CHECK(((v >> 10) & 1) == 1);                   // AF
    CHECK(((v >> 53) & 3) == (exec ? 0b00u : 0b10u));  // XN 0b10 = never, not 0b11
    CHECK((v & 0x0000'ffff'ffff'f000) == oa.value);
    CHECK((v & 0xff80'0000'0000'0000) == 0);       // nothing above XN (no contiguous, no SW bits)
    CHECK((v & (u64{1} << 52)) == 0);

    Result<Leaf> back = decode_leaf(v, level, enc);
    REQUIRE(back.ok());
    CHECK(back->oa == oa);
    CHECK(back->attrs == Attrs{type, access, exec});
}

TEST_CASE("Linux's stage-2 memory types are the ones used", "[stage2][encoding]")
{
    // MT_S2_NORMAL, MT_S2_NORMAL_NC, MT_S2_DEVICE_nGnRE and the FWB variants.
    CHECK(memattr_for(MemType::NormalWB, kNoFwb).value() == 0xf);
    CHECK(memattr_for(MemType::NormalNC, kNoFwb).value() == 0x5);
    CHECK(memattr_for(MemType::DeviceNGnRE, kNoFwb).value() == 0x1);
    CHECK(memattr_for(MemType::NormalWB, kFwbForceWb).value() == 6);
    CHECK(memattr_for(MemType::NormalNC, kFwbForceWb).value() == 5);
    CHECK(memattr_for(MemType::DeviceNGnRE, kFwbForceWb).value() == 1);
}

TEST_CASE("decoding refuses bits passage never writes", "[stage2][encoding]")
{
    // A descriptor that does not decode is reported, never guessed at.
    const u64 page = encode_leaf(PhysAddr(0x4000'0000), 3, {MemType::NormalWB, Access::RW, true}, kNoFwb).value();
    CHECK(decode_leaf(page | (u64{0b11} << 53), 3, kNoFwb).error() == Error::Unsupported);  // XNX EL1-only
    CHECK(decode_leaf(page | (u64{0b01} << 53), 3, kNoFwb).error() == Error::Unsupported);
    CHECK(decode_leaf(page & ~(u64{1} << 10), 3, kNoFwb).error() == Error::Unsupported);   // AF = 0
    CHECK(decode_leaf(MemAttr::set(page, 0b1010), 3, kNoFwb).error() == Error::Unsupported); // WT
    CHECK(decode_leaf(MemAttr::set(page, 0b0010), 3, kFwbGuestChoice).error() == Error::Unsupported);
    CHECK(decode_leaf(0, 3, kNoFwb).error() == Error::NotFound);
    CHECK(decode_leaf(page & ~u64{2}, 3, kNoFwb).error() == Error::Unsupported);  // block at level 3
    CHECK(decode_leaf(make_table_desc(PhysAddr(0x1000)), 2, kNoFwb).error() == Error::NotFound);
    // Both FWB encodings of RAM read back as Normal write-back.
    CHECK(decode_leaf(MemAttr::set(page, 0b0110), 3, kFwbGuestChoice)->attrs.type == MemType::NormalWB);
    CHECK(decode_leaf(MemAttr::set(page, 0b0111), 3, kFwbForceWb)->attrs.type == MemType::NormalWB);
}

TEST_CASE("blocks only where the 4 KiB granule allows them", "[stage2][encoding]")
{
    // Level 0 has no blocks; a block's output address is aligned to its size.
    CHECK(encode_leaf(PhysAddr(0), 0, {}, kNoFwb).error() == Error::InvalidArgument);
    CHECK(encode_leaf(PhysAddr(0x20'0000), 1, {}, kNoFwb).error() == Error::Misaligned);
    CHECK(encode_leaf(PhysAddr(0x1000), 2, {}, kNoFwb).error() == Error::Misaligned);
    CHECK(encode_leaf(PhysAddr(0x1000), 3, {}, kNoFwb).ok());
    CHECK(encode_leaf(PhysAddr(u64{1} << 48), 3, {}, kNoFwb).error() == Error::Misaligned);
}
