// ESR decoding names the class, the fault and the access as the Arm ARM does.
#include <catch2/catch.hpp>

#include <string>

#include "passage/esr.h"

using namespace passage;

TEST_CASE("esr: a level-3 translation fault on a write at EL2")
{
    // EC 0x25, IL, ISV, SAS 2 (word), SRT 1, WnR, DFSC 0x07.
    u64 esr = (u64{0x25} << 26) | (1u << 25) | (1u << 24) | (2u << 22) | (1u << 16) | (1u << 6) | 0x07;
    char buf[160];
    esr::describe(esr, buf, sizeof buf);
    std::string s = buf;
    CHECK(s.find("data abort (same EL)") != std::string::npos);
    CHECK(s.find("translation fault level 3") != std::string::npos);
    CHECK(s.find("write") != std::string::npos);
    CHECK(s.find("SRT 1") != std::string::npos);
}

TEST_CASE("esr: non-abort classes print the class and ISS")
{
    char buf[160];
    esr::describe((u64{0x16} << 26) | 0x1234, buf, sizeof buf);
    CHECK(std::string(buf) == "EC 0x16 HVC (AArch64), ISS 0x0001234");
    CHECK(std::string(esr::class_name(0x00)).find("undefined") != std::string::npos);
    CHECK(std::string(esr::fault_status_name(0x0d)) == "permission fault");
}
