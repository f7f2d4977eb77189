// Injected exceptions look exactly like the hardware's: syndrome, vector,
// and the new PSTATE (Arm ARM D1.10).
#include <catch2/catch.hpp>

#include "passage/vcpu/inject.h"

using namespace passage;
using namespace passage::vcpu;

TEST_CASE("inject: a data abort from EL1h goes to VBAR+0x200 with EC 0x25 and FSC 0x10")
{
    El1State el1{0x40801000, 0};  // SPAN = 0: PAN is set on entry
    u64 spsr = 0x600003c5 | (u64{1} << 21) | (u64{1} << 20) | (u64{3} << 10);  // EL1h, NZ C, SS, IL, BTYPE
    Injection in = inject_external_abort(0x40800100, spsr, 0x40200000, false, false, el1);
    CHECK(in.esr_el1 == ((u64{0x25} << 26) | (u64{1} << 25) | 0x10));
    CHECK(in.far_el1 == 0x40200000);
    CHECK(in.set_far);
    CHECK(in.elr_el1 == 0x40800100);
    CHECK(in.spsr_el1 == spsr);
    CHECK(in.elr_el2 == 0x40801200);
    CHECK((in.spsr_el2 & 0x1f) == 0b00101);          // EL1h
    CHECK(((in.spsr_el2 >> 6) & 0xf) == 0xf);        // DAIF masked
    CHECK(((in.spsr_el2 >> 22) & 1) == 1);           // PAN, because SPAN = 0
    CHECK(((in.spsr_el2 >> 21) & 1) == 0);           // SS cleared
    CHECK(((in.spsr_el2 >> 20) & 1) == 0);           // IL cleared
    CHECK(((in.spsr_el2 >> 10) & 3) == 0);           // BTYPE cleared
    CHECK((in.spsr_el2 >> 28) == (spsr >> 28));      // NZCV kept
}

TEST_CASE("inject: the vector depends on where the guest was")
{
    CHECK(sync_vector_offset(0b00100) == 0x000);  // EL1t
    CHECK(sync_vector_offset(0b00101) == 0x200);  // EL1h
    CHECK(sync_vector_offset(0b00000) == 0x400);  // EL0, AArch64
    CHECK(sync_vector_offset(0b10000) == 0x600);  // EL0, AArch32
}

TEST_CASE("inject: from EL0 the classes are 0x24 and 0x20 with WnR on writes and SPAN and DSSBS honoured")
{
    El1State el1{0x1000, (u64{1} << 23) | (u64{1} << 44)};  // SPAN = 1, DSSBS = 1
    Injection d = inject_external_abort(0x400000, 0x0, 0x1234, false, true, el1);
    CHECK((d.esr_el1 >> 26) == 0x24);
    CHECK(((d.esr_el1 >> 6) & 1) == 1);
    CHECK(d.elr_el2 == 0x1400);
    CHECK(((d.spsr_el2 >> 22) & 1) == 0);  // PAN unchanged (was 0) with SPAN = 1
    CHECK(((d.spsr_el2 >> 12) & 1) == 1);  // SSBS = DSSBS
    Injection i = inject_external_abort(0x400000, 0x0, 0x400000, true, false, el1);
    CHECK((i.esr_el1 >> 26) == 0x20);
    Injection i1 = inject_external_abort(0x400000, 0x5, 0x400000, true, false, el1);
    CHECK((i1.esr_el1 >> 26) == 0x21);
}

TEST_CASE("inject: an undefined instruction is EC 0 with IL and FAR is left alone")
{
    Injection u = inject_undefined(0x40800200, 0x3c5, El1State{0x40801000, 0});
    CHECK(u.esr_el1 == (u64{1} << 25));
    CHECK_FALSE(u.set_far);
    CHECK(u.elr_el2 == 0x40801200);
}

namespace {

// SPSR_EL2 of a 32-bit User-mode process: Thumb, NZCV = 1010, GE = 0101,
// inside an IT block (IT = 0x1a), E = 0, A I F clear, PAN clear.
constexpr u64 kUsr32Thumb = 0xa0000000 | (u64{0x5} << 16) | (u64{0x1a >> 2} << 10) | (u64{0x1a & 3} << 25) |
                            (u64{1} << 5) | 0x10;

}  // namespace

// From AArch32 EL0 the hardware uses VBAR_EL1 + 0x600, the lower-EL classes,
// and saves the AArch32-format PSTATE (T, IT, GE, Q and all) in SPSR_EL1 as
// it is; ELR_EL1 is the faulting Thumb instruction's own address.
TEST_CASE("inject: a data abort from AArch32 EL0 goes to VBAR+0x600 with the AArch32 SPSR")
{
    El1State el1{0xffff'8000'1001'0000, u64{1} << 23};  // SPAN = 1
    Injection d = inject_external_abort(0x0001'0a42, kUsr32Thumb, 0x7654'3000, false, false, el1);
    CHECK(d.elr_el2 == 0xffff'8000'1001'0600);
    CHECK(d.esr_el1 == ((u64{0x24} << 26) | (u64{1} << 25) | 0x10));  // IL: RES1 when ISV = 0
    CHECK(d.far_el1 == 0x7654'3000);
    CHECK(d.set_far);
    CHECK(d.elr_el1 == 0x0001'0a42);
    CHECK(d.spsr_el1 == kUsr32Thumb);
    // The new PSTATE is AArch64 EL1h: none of the AArch32 bits (T, IT, GE, E).
    CHECK(d.spsr_el2 == (0xa0000000 | 0x3c5));

    Injection w = inject_external_abort(0x0001'0a42, kUsr32Thumb, 0x7654'3000, false, true, el1);
    CHECK(((w.esr_el1 >> 6) & 1) == 1);  // WnR
    Injection i = inject_external_abort(0x0001'0a42, kUsr32Thumb, 0x0001'0a42, true, false, el1);
    CHECK(i.esr_el1 == ((u64{0x20} << 26) | (u64{1} << 25) | 0x10));
    CHECK(i.elr_el2 == 0xffff'8000'1001'0600);
}

TEST_CASE("inject: an undefined instruction from AArch32 EL0 keeps the AArch32 SPSR and PAN per SPAN")
{
    const u64 spsr = 0x10 | (u64{1} << 24);  // ARM state, DIT
    Injection u = inject_undefined(0x8000, spsr, El1State{0x1000, 0});  // SPAN = 0
    CHECK(u.esr_el1 == (u64{1} << 25));
    CHECK(u.elr_el1 == 0x8000);
    CHECK(u.spsr_el1 == spsr);
    CHECK(u.elr_el2 == 0x1600);
    CHECK(u.spsr_el2 == ((u64{1} << 24) | (u64{1} << 22) | 0x3c5));  // DIT kept, PAN set
}

// FEAT_MTE: PSTATE.TCO is set on every exception entry; without it the bit
// is RES0 and stays clear.
TEST_CASE("inject: TCO is set on entry when the CPU has MTE")
{
    const u64 spsr = GENERATE(u64{0x0}, u64{0x3c5}, kUsr32Thumb);
    CAPTURE(spsr);
    El1State with{0x1000, 0, true, false};
    CHECK(((inject_undefined(0x8000, spsr, with).spsr_el2 >> 25) & 1) == 1);
    El1State without{0x1000, 0, false, false};
    CHECK(((inject_undefined(0x8000, spsr, without).spsr_el2 >> 25) & 1) == 0);
}

// FEAT_NMI: PSTATE.ALLINT = NOT SCTLR_EL1.SPINTMASK on entry; without it
// ALLINT is RES0, whatever the guest's SPSR had in bit 13.
TEST_CASE("inject: ALLINT on entry follows SCTLR_EL1.SPINTMASK when the CPU has NMI")
{
    const u64 spintmask = u64{1} << 62, nmi_enable = u64{1} << 61;
    const u64 from = GENERATE(u64{0x0}, u64{0x3c5} | (u64{1} << 13), kUsr32Thumb);
    CAPTURE(from);
    auto allint = [&](El1State el1) { return (inject_undefined(0x8000, from, el1).spsr_el2 >> 13) & 1; };
    CHECK(allint(El1State{0x1000, nmi_enable, false, true}) == 1);
    CHECK(allint(El1State{0x1000, nmi_enable | spintmask, false, true}) == 0);
    CHECK(allint(El1State{0x1000, 0, false, false}) == 0);
}

namespace {

// The entry rules one at a time, as Arm ARM AArch64.TakeException writes
// them: the folded EntryRule must give the same PSTATE for every input.
u64 reference_entry_pstate(u64 spsr, const El1State& el1)
{
    auto bit = [](u64 v, unsigned n) { return (v >> n) & 1; };
    u64 p = spsr & ((u64{0xf} << 28) | (u64{1} << 24));  // NZCV, DIT
    p |= 0b00101;                                         // EL1h
    p |= u64{0xf} << 6;                                   // DAIF
    u64 pan = bit(el1.sctlr, 23) == 0 ? 1 : bit(spsr, 22);
    p |= pan << 22;
    p |= bit(el1.sctlr, 44) << 12;  // SSBS = DSSBS
    if (el1.mte) p |= u64{1} << 25;  // TCO
    if (el1.nmi) p |= (bit(el1.sctlr, 62) == 0 ? u64{1} : 0) << 13;  // ALLINT
    return p;
}

}  // namespace

TEST_CASE("inject: the folded entry rule gives the PSTATE of each rule applied in turn")
{
    u64 x = 0x9e3779b97f4a7c15;
    auto next = [&] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    const u64 modes[] = {0b00000, 0b00100, 0b00101, 0b10000, 0b10011};
    for (int i = 0; i < 20000; ++i) {
        u64 spsr = (next() & ~u64{0x1f}) | modes[i % 5];
        u64 sctlr = next();
        El1State el1{next() & ~u64{0x7ff}, sctlr, (i & 8) != 0, (i & 16) != 0};
        Injection a = inject_external_abort(0x8000, spsr, 0x1234, (i & 32) != 0, (i & 64) != 0, el1);
        Injection u = inject_undefined(0x8000, spsr, el1);
        REQUIRE(a.spsr_el2 == reference_entry_pstate(spsr, el1));
        REQUIRE(u.spsr_el2 == a.spsr_el2);
        REQUIRE(a.elr_el2 == el1.vbar + sync_vector_offset(spsr));
        REQUIRE(u.elr_el2 == a.elr_el2);
    }
}

TEST_CASE("inject: the per-guest rule table answers as the rule worked out per abort")
{
    u64 x = 0x5851f42d4c957f2d;
    for (int f = 0; f < 4; ++f) {
        const bool mte = (f & 1) != 0, nmi = (f & 2) != 0;
        const EntryRules rules(mte, nmi);
        for (int i = 0; i < 4000; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            const u64 sctlr = x, spsr = x * 0x9e3779b97f4a7c15;
            const El1State el1{0x1000, sctlr, mte, nmi};
            const EntryRule want = entry_rule(el1);
            REQUIRE(rules(sctlr).keep == want.keep);
            REQUIRE(rules(sctlr).set == want.set);
            const Injection a = inject_external_abort(0x8000, spsr, 0x1234, false, (i & 1) != 0, 0x1000, rules(sctlr));
            const Injection b = inject_external_abort(0x8000, spsr, 0x1234, false, (i & 1) != 0, el1);
            REQUIRE(a.spsr_el2 == b.spsr_el2);
            REQUIRE(a.elr_el2 == b.elr_el2);
            REQUIRE(a.esr_el1 == b.esr_el1);
        }
    }
}
