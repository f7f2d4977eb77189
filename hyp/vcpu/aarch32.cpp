#include "passage/vcpu/aarch32.h"

#include "passage/bits.h"
#include "passage/esr.h"

namespace passage::vcpu {
namespace {

using ItLow = Field<26, 25>;   // IT[1:0]
using ItHigh = Field<15, 10>;  // IT[7:2]
using CV = Bit<24>;            // ISS: COND is valid
using Cond = Field<23, 20>;    // ISS: the instruction's condition

// ConditionHolds() on NZCV (SPSR bits 31:28).
bool holds(u32 cond, u64 spsr)
{
    bool n = (spsr >> 31 & 1) != 0, z = (spsr >> 30 & 1) != 0, c = (spsr >> 29 & 1) != 0, v = (spsr >> 28 & 1) != 0;
    bool r = true;
    switch (cond >> 1) {
    case 0: r = z; break;             // EQ / NE
    case 1: r = c; break;             // CS / CC
    case 2: r = n; break;             // MI / PL
    case 3: r = v; break;             // VS / VC
    case 4: r = c && !z; break;       // HI / LS
    case 5: r = n == v; break;        // GE / LT
    case 6: r = n == v && !z; break;  // GT / LE
    default: return true;             // AL, and 0b1111 (unconditional)
    }
    return (cond & 1) != 0 ? !r : r;
}

}  // namespace

u64 it_advance(u64 spsr)
{
    u32 it = it_state(spsr);
    if ((it & 0x7) == 0) it = 0;                       // the block's last instruction
    else it = (it & 0xe0) | ((it << 1) & 0x1f);        // IT[4:0] shifts left by one
    return ItHigh::set(ItLow::set(spsr, it & 0x3), it >> 2);
}

bool condition_passed(u64 esr, u64 spsr)
{
    u32 cond;
    if (CV::get(esr) != 0) cond = u32(Cond::get(esr));
    else if (u32 it = it_state(spsr); it != 0) cond = it >> 4;
    else return true;
    return holds(cond, spsr);
}

bool has_condition(u32 ec)
{
    // 0x09-0x0B are AArch64-only classes (PAuth, LD64B) or reserved.
    return ec == esr::kEcWfx || (ec >= 0x03 && ec <= 0x08) || ec == 0x0c;
}

}  // namespace passage::vcpu
