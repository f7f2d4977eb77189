#include "passage/vcpu/mops.h"

#include "passage/bits.h"

namespace passage::vcpu {
namespace {

// ISS of EC 0x27 (Arm ARM, ESR_EL2 "ISS encoding for an exception from the
// Memory Copy and Memory Set instructions").
using MemInst = Bit<24>;       // 1: SET*, 0: CPY*
using FromEpilogue = Bit<18>;  // taken on the epilogue (else on the main) instruction
using WrongOption = Bit<17>;   // the registers are in the other option's format
using OptionA = Bit<16>;       // the CPU that took it implements option A
using DestReg = Field<14, 10>;
using SrcReg = Field<9, 5>;
using SizeReg = Field<4, 0>;

using N = Bit<31>;   // PSTATE.N: a backward copy, in option B's format
using SS = Bit<21>;  // PSTATE.SS: 0 ends a step in progress before the prologue runs (as KVM)

constexpr unsigned kXzr = 31;

u64 read(const u64 (&x)[31], unsigned r) { return r == kXzr ? 0 : x[r]; }
void write(u64 (&x)[31], unsigned r, u64 v)
{
    if (r != kXzr) x[r] = v;
}

}  // namespace

void mops_rewind(u64 esr, u64 (&x)[31], u64& pc, u64& spsr)
{
    auto dst_r = static_cast<unsigned>(DestReg::get(esr));
    auto src_r = static_cast<unsigned>(SrcReg::get(esr));
    auto size_r = static_cast<unsigned>(SizeReg::get(esr));
    u64 dst = read(x, dst_r);
    u64 size = read(x, size_r);
    // The format the registers are in: the option of the CPU that took the
    // exception, unless the syndrome says they are in the other one's.
    bool format_a = (OptionA::get(esr) != 0) != (WrongOption::get(esr) != 0);

    if (MemInst::get(esr)) {
        // SET*: option A counts a forward set with a negative size from the
        // end; option B keeps the prologue's format.
        if (format_a) {
            write(x, dst_r, dst + size);
            write(x, size_r, u64(0) - size);
        }
    } else {
        u64 src = read(x, src_r);
        if (!format_a) {
            // Option B: a backward copy (N set) has moved both addresses down
            // by what is left; a forward copy is already in prologue format.
            if (N::get(spsr)) {
                write(x, dst_r, dst - size);
                write(x, src_r, src - size);
            }
        } else if (size >> 63) {
            // Option A: a forward copy (negative size) counts from the ends.
            write(x, dst_r, dst + size);
            write(x, src_r, src + size);
            write(x, size_r, u64(0) - size);
        }
    }
    // Prologue, main, epilogue are consecutive instructions.
    pc -= FromEpilogue::get(esr) ? 8 : 4;
    spsr = SS::set(spsr, 0);
}

}  // namespace passage::vcpu
