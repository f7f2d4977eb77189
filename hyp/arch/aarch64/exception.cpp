// The EL2 vectors: the guest's synchronous exceptions go to
// handle_guest_sync (its HVC and SMC to handle_guest_call, those vectors.S
// does not answer itself); anything else is unexpected and gets a full report
// (decoded ESR, ELR, FAR, SPSR, every register), then stop.
//
// Every synchronous exception from the guest, its AArch32 EL0 included,
// arrives at "lower EL (AArch64)": the lower-EL vector is chosen by the
// Execution state of the level immediately below the target (Arm ARM, table
// "Vector offsets from vector table base address"), and that is the guest's
// EL1, always AArch64 (HCR_EL2.RW = 1); a 32-bit process's bad access was
// seen to arrive there (tests/linux/init.sh, aarch32-bad-access). So "lower
// EL (AArch32)" cannot happen; SPSR_EL2.M[4] tells handle_guest_sync where
// the guest was.
//
// IRQ, FIQ and SError from a lower EL cannot arrive either: HCR_EL2.IMO, FMO
// and AMO are clear (hyp/arch/aarch64/guest.cpp), so physical interrupts and
// SErrors target the guest's EL1: taken there while the guest runs, and never
// at EL2 (an exception that targets a lower EL waits while EL2 runs). Should
// one come all the same, the report says which.
#include "asm_defs.h"
#include "guest.h"
#include "machine.h"
#include "passage/esr.h"
#include "passage/log.h"
#include "passage/vcpu/trap_frame.h"
#include "psci.h"
#include "sysreg.h"

namespace passage::arch {
namespace {

// vectors.S builds the frame with asm_defs.h's offsets.
static_assert(sizeof(TrapFrame) == FRAME_SIZE);
static_assert(__builtin_offsetof(TrapFrame, x[30]) == FRAME_X30 && __builtin_offsetof(TrapFrame, sp) == FRAME_SP);
static_assert(__builtin_offsetof(TrapFrame, elr) == FRAME_ELR && __builtin_offsetof(TrapFrame, spsr) == FRAME_SPSR);
static_assert(__builtin_offsetof(TrapFrame, esr) == FRAME_ESR && __builtin_offsetof(TrapFrame, far) == FRAME_FAR);
static_assert(__builtin_offsetof(TrapFrame, hpfar) == FRAME_HPFAR);
static_assert((ESR_EC_HVC64 & 1) == 0 && (ESR_EC_HVC64 | 1) == ESR_EC_SMC64);  // vectors.S tests EC[5:1]
// ... and sends EC[5:1] of the lower-EL aborts to guest_abort: the same ECs
// esr.h names, each with EC[0] clear (EC[0] set is an abort taken at EL2).
static_assert(ESR_EC_DABT_LOW == esr::kEcDataAbortLower && ESR_EC_IABT_LOW == esr::kEcInstAbortLower);
static_assert((ESR_EC_DABT_LOW & 1) == 0 && (ESR_EC_IABT_LOW & 1) == 0);

using ull = unsigned long long;

const char* vector_name(u64 v)
{
    static const char* const names[16] = {
        "current EL with SP0, synchronous",  "current EL with SP0, IRQ",  "current EL with SP0, FIQ",
        "current EL with SP0, SError",       "current EL with SPx, synchronous", "current EL with SPx, IRQ",
        "current EL with SPx, FIQ",          "current EL with SPx, SError", "lower EL (AArch64), synchronous",
        "lower EL (AArch64), IRQ",           "lower EL (AArch64), FIQ",   "lower EL (AArch64), SError",
        "lower EL (AArch32), synchronous",   "lower EL (AArch32), IRQ",   "lower EL (AArch32), FIQ",
        "lower EL (AArch32), SError"};
    return v < 16 ? names[v] : "?";
}

[[noreturn]] void report(const passage::TrapFrame* f, u64 vector, unsigned el)
{
    char esr[160];
    esr::describe(f->esr, esr, sizeof esr);
    log_raw("\nPANIC: unexpected exception at EL%u: %s\n", el, vector_name(vector));
    log_raw("  ESR  0x%016llx  %s\n", (ull)f->esr, esr);
    log_raw("  ELR  0x%016llx  FAR 0x%016llx  SPSR 0x%016llx\n", (ull)f->elr, (ull)f->far, (ull)f->spsr);
    if (el == 2) log_raw("  HPFAR 0x%016llx  (IPA 0x%llx)\n", (ull)f->hpfar, (ull)((f->hpfar >> 4) << 12));
    log_raw("  image at 0x%llx: ELR is image+0x%llx\n", (ull)g_machine.boot.image_base,
            (ull)(f->elr - g_machine.boot.image_base));
    for (int i = 0; i < 31; i += 3) {
        log_raw("  x%-2d 0x%016llx", i, (ull)f->x[i]);
        if (i + 1 < 31) log_raw("  x%-2d 0x%016llx", i + 1, (ull)f->x[i + 1]);
        if (i + 2 < 31) log_raw("  x%-2d 0x%016llx", i + 2, (ull)f->x[i + 2]);
        log_raw("\n");
    }
    log_raw("  sp  0x%016llx\n", (ull)f->sp);
    log_raw("passage: stopped; powering off\n");
    system_off(g_machine.psci);
}

}  // namespace
}  // namespace passage::arch

// Every EL2 vector but the guest's synchronous exceptions (vectors.S sends
// those to el2_guest_exception and el2_guest_call).
extern "C" void el2_exception(passage::TrapFrame* frame, passage::u64 vector)
{
    passage::arch::report(frame, vector, 2);
}

// vectors.S: the guest's synchronous exceptions but its calls.
extern "C" void el2_guest_exception(passage::TrapFrame* frame)
{
    passage::arch::handle_guest_sync(*frame);
}

// vectors.S: the guest's HVC or SMC that needs C++.
extern "C" void el2_guest_call(passage::CallFrame* frame)
{
    passage::arch::handle_guest_call(*frame);
}

extern "C" void el1_exception(passage::TrapFrame* frame, passage::u64 vector)
{
    passage::arch::report(frame, vector, 1);
}
