// SMMUv3 structures as values: the stage-2 STE built from VTCR_EL2 and
// VTTBR_EL2 (checked at compile time against hand-computed encodings),
// command encodings, queue pointers with their wrap bit, event records.
#include <catch2/catch.hpp>

#include "passage/iommu/smmuv3.h"

using namespace passage;
using namespace passage::iommu;

namespace {

// VTCR_EL2 for a 40-bit IPA starting at level 1 (two concatenated tables):
// T0SZ 24, SL0 1, IRGN0 1, ORGN0 1, SH0 3, TG0 4K, PS 40 bits, RES1 bit 31.
constexpr u64 kVtcr40 = 0x8002'3558;
// Table at 0x40_0100_0000, VMID 1 in VTTBR[63:48].
constexpr u64 kVttbr = (u64{1} << 48) | 0x40'0100'0000;

constexpr Stage2Params kCoherent{kVtcr40, kVttbr, 4, true, false, true};
constexpr Ste kSte40 = stage2_ste(kCoherent);
// V = 1, Config = 0b110 (stage 2 only).
static_assert(kSte40.dw[0] == 0xd);
// SHCFG = 1 (incoming); no FWB, EATS 0, STRW 0.
static_assert(kSte40.dw[1] == 0x1000'0000'0000);
// S2VMID 1; bits [47:32] are VTCR[15:0] (0x3558); S2PS 2 (40 bits, under
// OAS 44); S2AA64 (51); S2R (58); S2ENDI, S2AFFD, S2HD, S2HA, S2S clear.
static_assert(kSte40.dw[2] == 0x040a'3558'0000'0001);
static_assert(kSte40.dw[3] == 0x40'0100'0000);
static_assert(kSte40.dw[4] == 0 && kSte40.dw[7] == 0);

// -cpu max: PS 52 bits (6) in VTCR, QEMU 10's OAS 44 bits (4): S2PS 4.
// Without dma-coherent the walks are non-cacheable and outer shareable.
constexpr u64 kVtcr52 = 0x8006'3558;
constexpr Ste kSteNc = stage2_ste({kVtcr52, kVttbr, 4, false, false, true});
static_assert(kSteNc.dw[2] == 0x040c'2058'0000'0001);
// With FWB on the CPU (only when the SMMU has IDR3.FWB) STE.S2FWB is set.
static_assert(stage2_ste({kVtcr40, kVttbr, 4, true, true, true}).dw[1] == 0x1000'0200'0000);
// An 8-bit VMID is VTTBR[55:48].
static_assert(stage2_ste({kVtcr40, (u64{0xab} << 48) | (u64{0xcd} << 56), 4, true, false, false}).dw[2] % 0x10000 == 0xab);

static_assert(abort_ste().dw[0] == 0x1);

// Commands (IHI 0070 4): opcode in [7:0].
static_assert(cmd_cfgi_ste(0x0210).dw[0] == 0x0000'0210'0000'0003 && cmd_cfgi_ste(0x0210).dw[1] == 1);
static_assert(cmd_cfgi_all().dw[0] == 0x04 && cmd_cfgi_all().dw[1] == 31);
static_assert(cmd_tlbi_s12_vmall(1).dw[0] == 0x0000'0001'0000'0028);
static_assert(cmd_tlbi_s2_ipa(1, 0x80'0012'3456, true).dw[0] == 0x0000'0001'0000'002a);
static_assert(cmd_tlbi_s2_ipa(1, 0x80'0012'3456, true).dw[1] == 0x80'0012'3001);
static_assert(cmd_tlbi_s2_ipa(1, 0x80'0012'3456, false).dw[1] == 0x80'0012'3000);
static_assert(cmd_sync().dw[0] == 0x46 && cmd_sync().dw[1] == 0);
// The 256 StreamIDs of bus 0x12: SID 0x1200, Range 7 (2^8).
static_assert(cmd_cfgi_ste_range(0x1200, 8).dw[0] == 0x0000'1200'0000'0004 && cmd_cfgi_ste_range(0x1200, 8).dw[1] == 7);

}  // namespace

TEST_CASE("smmuv3: queue pointers wrap with the bit above the index")
{
    // A 4-entry queue: indexes 0-3, the wrap bit is bit 2.
    QueuePtr p{2, 0};
    for (int i = 0; i < 3; ++i) p = p.next();
    CHECK(p.value == 3);
    p = p.next();
    CHECK(p.index() == 0);
    CHECK(p.wrap() == 1);
    CHECK(p.value == 4);
    for (int i = 0; i < 4; ++i) p = p.next();
    CHECK(p.value == 0);  // both wrapped back
    const QueuePtr cons{2, 0};
    CHECK(queue_empty(cons, cons));
    CHECK(queue_full({2, 4}, cons));
    CHECK_FALSE(queue_full({2, 3}, cons));
    CHECK(queue_used({2, 4}, cons) == 4);
    CHECK(queue_used({2, 1}, {2, 6}) == 3);  // prod wrapped back, cons not yet
    // Register bits above the pointer (ERR, OVFLG) are not part of it.
    CHECK(QueuePtr::from_reg(2, 0x8000'0005 | (2u << 24)).value == 5);
}

TEST_CASE("smmuv3: a stage-2 translation fault record decodes to SID and address and direction")
{
    const u64 rec[4] = {0x0000'0018'0000'0010, (u64{1} << 35) | (u64{1} << 39), 0x4020'1008, 0x4020'1008};
    Event e = decode_event(rec);
    CHECK(e.type == 0x10);
    CHECK(std::string(event_name(e.type)) == "F_TRANSLATION");
    CHECK(e.sid == 0x18);
    CHECK(e.has_addr);
    CHECK(e.read);
    CHECK(e.stage2);
    CHECK(e.input_addr == 0x4020'1008);
    CHECK(e.ipa == 0x4020'1008);
    const u64 perm[4] = {0x0000'0020'0000'0013, 0, 0x8000'0000, 0};
    e = decode_event(perm);
    CHECK(std::string(event_name(e.type)) == "F_PERMISSION");
    CHECK_FALSE(e.read);
    const u64 bad_ste[4] = {0x0000'0007'0000'0004, 0xffff'ffff'ffff'ffff, 0x1234, 0};
    e = decode_event(bad_ste);
    CHECK(std::string(event_name(e.type)) == "C_BAD_STE");
    CHECK(e.sid == 7);
    CHECK_FALSE(e.has_addr);
    CHECK(std::string(event_name(0x77)) == "unknown event");
}

// IHI 0070 chapter 7 (and Linux EVTQ_1_PnU/InD, QEMU EVT_SET_PNU/IND):
// PnU is record bit 97, InD bit 98, RnW 99, S2 103.
TEST_CASE("smmuv3: event record dword 1 fields sit at the spec's bits")
{
    CHECK(reg::evt::PnU::kMask == u64{1} << 33);
    CHECK(reg::evt::InD::kMask == u64{1} << 34);
    CHECK(reg::evt::RnW::kMask == u64{1} << 35);
    CHECK(reg::evt::S2::kMask == u64{1} << 39);
}

// Dword 3 is an IPA only for the translation-class faults; F_WALK_EABT has
// a fetch PA there and F_TRANSL_FORBIDDEN nothing, and neither of the
// latter two has an S2 bit.
TEST_CASE("smmuv3: only translation-class faults report an IPA")
{
    const u64 walk[4] = {0x0000'0018'0000'000b, (u64{1} << 39), 0x4020'1000, 0x4000'7ff8};
    Event e = decode_event(walk);
    CHECK(std::string(event_name(e.type)) == "F_WALK_EABT");
    CHECK(e.has_addr);
    CHECK(e.stage2);
    CHECK(e.input_addr == 0x4020'1000);
    CHECK(e.ipa == 0);
    const u64 forbidden[4] = {0x0000'0018'0000'0007, (u64{1} << 35) | (u64{1} << 39), 0x1'0000'0000'0000, 0xdead'b000};
    e = decode_event(forbidden);
    CHECK(std::string(event_name(e.type)) == "F_TRANSL_FORBIDDEN");
    CHECK(e.has_addr);
    CHECK(e.read);
    CHECK_FALSE(e.stage2);
    CHECK(e.ipa == 0);
}

// The VMID the SMMU commands use comes from the same VTTBR_EL2 as the STE.
static_assert(vttbr_vmid((u64{0xab} << 48) | (u64{0xcd} << 56), false) == 0xab);
static_assert(vttbr_vmid((u64{0xab} << 48) | (u64{0xcd} << 56), true) == 0xcdab);
