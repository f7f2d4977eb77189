// FEAT_MOPS under a hypervisor (Linux's Documentation/arch/arm64/mops.rst):
// a CPY sequence whose main instruction finds PSTATE.C naming the other
// algorithm option, as after a move between CPUs of different options,
// takes a MOPS exception to EL2 (HCRX_EL2.MCE2). passage puts the registers
// back in the prologue's format and resumes at the prologue: the copy
// completes. Without the EL2 set-up the instructions are UNDEFINED here.
#include "checks.h"
#include "console.h"

namespace guest {
namespace {

constexpr unsigned kBytes = 256;
alignas(64) u8 g_src[kBytes];
alignas(64) u8 g_dst[kBytes];

constexpr u64 kPstateC = u64{1} << 29;

u64 read_isar2()
{
    u64 v;
    asm volatile("mrs %0, S3_0_C0_C6_2" : "=r"(v));  // ID_AA64ISAR2_EL1
    return v;
}

void fill()
{
    for (unsigned i = 0; i < kBytes; ++i) {
        g_src[i] = static_cast<u8>(i * 7 + 1);
        g_dst[i] = 0;
    }
}

unsigned first_difference()
{
    for (unsigned i = 0; i < kBytes; ++i)
        if (g_dst[i] != g_src[i]) return i;
    return kBytes;
}

}  // namespace

void check_mops(Context& ctx)
{
    if (((read_isar2() >> 16) & 0xf) == 0) return skip("mops", "no FEAT_MOPS");
    if (ctx.standalone) return skip("mops", "no hypervisor to take the MOPS exception");

    // The whole sequence once, reading PSTATE after the prologue: its C flag
    // is this CPU's option.
    fill();
    u64 d = reinterpret_cast<u64>(g_dst), s = reinterpret_cast<u64>(g_src), n = kBytes, nzcv = 0;
    asm volatile(".arch_extension mops\n"
                 "cpyfp [%0]!, [%1]!, %2!\n"
                 "mrs %3, nzcv\n"
                 "cpyfm [%0]!, [%1]!, %2!\n"
                 "cpyfe [%0]!, [%1]!, %2!\n"
                 : "+r"(d), "+r"(s), "+r"(n), "=r"(nzcv)
                 :
                 : "memory", "cc");
    if (n != 0 || first_difference() != kBytes) return fail("mops", "a plain CPYF sequence left %lu bytes", n);

    // Straight into the main instruction with the registers in the
    // prologue's format and C naming the other option.
    fill();
    d = reinterpret_cast<u64>(g_dst);
    s = reinterpret_cast<u64>(g_src);
    n = kBytes;
    u64 flags = nzcv ^ kPstateC;
    asm volatile(".arch_extension mops\n"
                 "msr nzcv, %3\n"
                 "b 1f\n"
                 "cpyfp [%0]!, [%1]!, %2!\n"
                 "1: cpyfm [%0]!, [%1]!, %2!\n"
                 "cpyfe [%0]!, [%1]!, %2!\n"
                 : "+r"(d), "+r"(s), "+r"(n)
                 : "r"(flags)
                 : "memory", "cc");
    unsigned bad = first_difference();
    if (n != 0 || bad != kBytes || d != reinterpret_cast<u64>(g_dst) + kBytes)
        return fail("mops", "after the wrong-option exception: %lu bytes left, first difference at byte %u", n, bad);
    pass("mops");
}

}  // namespace guest
