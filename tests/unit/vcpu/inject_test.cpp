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
