// A trapped AArch32 instruction's condition and the IT state, from the
// SPSR_EL2 of the trap (Arm ARM D17.2.37 CV/COND, J1.3 ConditionHolds and
// ITAdvance).
#include <catch2/catch.hpp>

#include "passage/vcpu/aarch32.h"

using namespace passage;
using namespace passage::vcpu;

namespace {

constexpr u64 kUsr32 = 0x10, kThumb = u64{1} << 5;
constexpr u64 kN = u64{1} << 31, kZ = u64{1} << 30, kC = u64{1} << 29, kV = u64{1} << 28;

// An MRC trap (EC 0x03) with CV = 1 and the given COND.
constexpr u64 mrc_with_cond(u32 cond) { return u64{0x03} << 26 | u64{1} << 25 | u64{1} << 24 | u64(cond) << 20; }
constexpr u64 with_it(u64 spsr, u64 it) { return spsr | (it >> 2) << 10 | (it & 3) << 25; }

}  // namespace

TEST_CASE("aarch32: SPSR.M bit 4 says the trap came from AArch32")
{
    CHECK(from_aarch32(kUsr32));
    CHECK(from_aarch32(kUsr32 | kThumb));
    CHECK_FALSE(from_aarch32(0x3c5));  // EL1h
    CHECK_FALSE(from_aarch32(0x0));    // EL0t, AArch64
}

// Each condition against flags that make it hold and flags that make it fail.
TEST_CASE("aarch32: ConditionHolds for every COND with CV = 1")
{
    struct Case {
        u32 cond;
        u64 holds, fails;
    };
    const Case cases[] = {
        {0x0, kZ, 0},            // EQ
        {0x1, 0, kZ},            // NE
        {0x2, kC, 0},            // CS
        {0x3, 0, kC},            // CC
        {0x4, kN, 0},            // MI
        {0x5, 0, kN},            // PL
        {0x6, kV, 0},            // VS
        {0x7, 0, kV},            // VC
        {0x8, kC, kC | kZ},      // HI
        {0x9, kC | kZ, kC},      // LS
        {0xa, kN | kV, kN},      // GE
        {0xb, kN, kN | kV},      // LT
        {0xc, 0, kZ},            // GT
        {0xd, kZ, kN | kV},      // LE holds on Z; GT's flags make it fail
    };
    for (const Case& c : cases) {
        CAPTURE(c.cond);
        CHECK(condition_passed(mrc_with_cond(c.cond), kUsr32 | c.holds));
        CHECK_FALSE(condition_passed(mrc_with_cond(c.cond), kUsr32 | c.fails));
    }
    CHECK(condition_passed(mrc_with_cond(0xe), kUsr32));                   // AL
    CHECK(condition_passed(mrc_with_cond(0xf), kUsr32 | kN | kZ | kC | kV));  // unconditional
}

// CV = 0: a T32 instruction in an IT block takes the block's condition
// (IT[7:4]); outside a block the instruction is unconditional.
TEST_CASE("aarch32: with CV = 0 the condition comes from the IT state")
{
    const u64 no_cv = u64{0x03} << 26 | u64{1} << 25 | u64{0xe} << 20;
    CHECK(condition_passed(no_cv, kUsr32 | kThumb));
    const u64 it_eq = with_it(kUsr32 | kThumb, 0x08);  // IT EQ
    CHECK_FALSE(condition_passed(no_cv, it_eq));
    CHECK(condition_passed(no_cv, it_eq | kZ));
    const u64 it_ne = with_it(kUsr32 | kThumb, 0x18);  // IT NE
    CHECK(condition_passed(no_cv, it_ne));
    CHECK_FALSE(condition_passed(no_cv, it_ne | kZ));
}

TEST_CASE("aarch32: it_state gathers IT from bits 15:10 and 26:25")
{
    CHECK(it_state(with_it(kUsr32, 0xa5)) == 0xa5);
    CHECK(it_state(kUsr32 | kN | kZ | kC | kV) == 0);
    CHECK(it_advance(kUsr32 | kThumb | kN) == (kUsr32 | kThumb | kN));  // no block: nothing changes
}

TEST_CASE("aarch32: the classes with a condition field")
{
    for (u32 ec : {0x01u, 0x03u, 0x04u, 0x05u, 0x06u, 0x07u, 0x08u, 0x0cu}) CHECK(has_condition(ec));
    for (u32 ec : {0x00u, 0x02u, 0x09u, 0x0eu, 0x11u, 0x20u, 0x24u}) CHECK_FALSE(has_condition(ec));
}
