// A MOPS exception rewinds the guest to the prologue with its registers in
// the prologue's format (Arm ARM rules CNTMJ and MWFQH), for both options.
#include <catch2/catch.hpp>

#include "passage/vcpu/mops.h"

using namespace passage;
using namespace passage::vcpu;

namespace {

struct Syndrome {
    bool set = false;  // SET* (else CPY*)
    bool epilogue = false;
    bool wrong_option = false;
    bool option_a = false;
    unsigned dst = 0, src = 1, size = 2;
};

u64 esr(const Syndrome& s)
{
    return (u64{kEcMops} << 26) | (u64{1} << 25) | (u64(s.set) << 24) | (u64(s.epilogue) << 18) |
           (u64(s.wrong_option) << 17) | (u64(s.option_a) << 16) | (u64(s.dst) << 10) | (u64(s.src) << 5) | s.size;
}

struct Guest {
    u64 x[31] = {};
    u64 pc = 0x40001004;  // the main instruction; the prologue is at 0x40001000
    u64 spsr = 0x3c5;
};

constexpr u64 kN = u64{1} << 31;
constexpr u64 kSS = u64{1} << 21;

}  // namespace

TEST_CASE("mops: a forward SET in option A format goes back to start address and count")
{
    Guest g;
    g.x[0] = 0x80100;          // the end of the area
    g.x[1] = u64(0) - 0x100;   // minus what is left
    g.x[2] = 0xab;             // the byte to set: untouched
    g.spsr |= kSS;
    mops_rewind(esr({.set = true, .option_a = true, .src = 2, .size = 1}), g.x, g.pc, g.spsr);
    CHECK(g.x[0] == 0x80000);
    CHECK(g.x[1] == 0x100);
    CHECK(g.x[2] == 0xab);
    CHECK(g.pc == 0x40001000);
    CHECK((g.spsr & kSS) == 0);
    CHECK((g.spsr & ~kSS) == 0x3c5);
}

TEST_CASE("mops: a SET in option B format is already in prologue format and the epilogue rewinds by two")
{
    Guest g;
    g.pc = 0x40001008;
    g.x[5] = 0x80040;
    g.x[6] = 0xc0;
    mops_rewind(esr({.set = true, .epilogue = true, .dst = 5, .src = 31, .size = 6}), g.x, g.pc, g.spsr);
    CHECK(g.x[5] == 0x80040);
    CHECK(g.x[6] == 0xc0);
    CHECK(g.pc == 0x40001000);
}

TEST_CASE("mops: wrong option on an option B CPU means the registers are in option A format")
{
    Guest g;
    g.x[0] = 0x80100;
    g.x[1] = u64(0) - 0x40;
    mops_rewind(esr({.set = true, .wrong_option = true, .option_a = false, .src = 31, .size = 1}), g.x, g.pc, g.spsr);
    CHECK(g.x[0] == 0x800c0);
    CHECK(g.x[1] == 0x40);

    Guest h;  // and on an option A CPU, in option B format: left as they are
    h.x[0] = 0x80100;
    h.x[1] = 0x40;
    mops_rewind(esr({.set = true, .wrong_option = true, .option_a = true, .src = 31, .size = 1}), h.x, h.pc, h.spsr);
    CHECK(h.x[0] == 0x80100);
    CHECK(h.x[1] == 0x40);
}

TEST_CASE("mops: a forward CPY in option A format counts from the ends")
{
    Guest g;
    g.x[3] = 0x90200;  // destination end
    g.x[4] = 0xa0200;  // source end
    g.x[7] = u64(0) - 0x80;
    mops_rewind(esr({.option_a = true, .dst = 3, .src = 4, .size = 7}), g.x, g.pc, g.spsr);
    CHECK(g.x[3] == 0x90180);
    CHECK(g.x[4] == 0xa0180);
    CHECK(g.x[7] == 0x80);
    CHECK(g.pc == 0x40001000);
}

TEST_CASE("mops: a backward CPY in option A format is left as it is")
{
    Guest g;
    g.x[0] = 0x90000;
    g.x[1] = 0xa0000;
    g.x[2] = 0x80;
    mops_rewind(esr({.option_a = true}), g.x, g.pc, g.spsr);
    CHECK(g.x[0] == 0x90000);
    CHECK(g.x[1] == 0xa0000);
    CHECK(g.x[2] == 0x80);
}

TEST_CASE("mops: a backward CPY in option B format moves both addresses down by what is left")
{
    Guest g;
    g.spsr |= kN;
    g.x[0] = 0x90180;
    g.x[1] = 0xa0180;
    g.x[2] = 0x80;
    mops_rewind(esr({.epilogue = true}), g.x, g.pc, g.spsr);
    CHECK(g.x[0] == 0x90100);
    CHECK(g.x[1] == 0xa0100);
    CHECK(g.x[2] == 0x80);
    CHECK(g.pc == 0x40000ffc);  // the epilogue at pc: prologue 8 bytes before

    Guest h;  // forward (N clear): already in prologue format
    h.x[0] = 0x90180;
    h.x[1] = 0xa0180;
    h.x[2] = 0x80;
    mops_rewind(esr({}), h.x, h.pc, h.spsr);
    CHECK(h.x[0] == 0x90180);
    CHECK(h.x[1] == 0xa0180);
}

TEST_CASE("mops: register 31 reads as zero and is never written")
{
    Guest g;
    for (u64& r : g.x) r = 0x5555;
    mops_rewind(esr({.set = true, .option_a = true, .dst = 31, .src = 31, .size = 31}), g.x, g.pc, g.spsr);
    for (u64 r : g.x) CHECK(r == 0x5555);
}
