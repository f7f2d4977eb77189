#include "exceptions.h"

#include "console.h"
#include "psci.h"

namespace guest {

namespace {

volatile bool g_armed;
AbortRecord g_record;
volatile bool g_reporting;
volatile bool g_tried_other_conduit;

const char* vector_name(u64 vector)
{
    static constexpr const char* kFrom[] = {"current EL with SP0", "current EL with SPx", "lower EL AArch64",
                                            "lower EL AArch32"};
    static constexpr const char* kKind[] = {"synchronous", "IRQ", "FIQ", "SError"};
    static char name[64];
    char* p = name;
    for (const char* s = kFrom[(vector >> 2) & 3]; *s; ++s) *p++ = *s;
    *p++ = ',';
    *p++ = ' ';
    for (const char* s = kKind[vector & 3]; *s; ++s) *p++ = *s;
    *p = '\0';
    return name;
}

}  // namespace

void expect_abort()
{
    g_record = {};
    g_armed = true;
}

AbortRecord take_abort_record()
{
    g_armed = false;
    return g_record;
}

Probe probe_read32(u64 va)
{
    Probe p{};
    expect_abort();
    asm volatile("adr %0, 1f\n"
                 "1: ldr %w1, [%2]"
                 : "=&r"(p.pc), "+r"(p.value)
                 : "r"(va)
                 : "memory");
    p.abort = take_abort_record();
    return p;
}

extern "C" void guest_exception(Frame* frame, u64 vector)
{
    bool sync = (vector & 3) == 0;
    if (g_armed && sync) {
        g_armed = false;
        g_record = {true, static_cast<unsigned>(vector), frame->esr, frame->far, frame->elr};
        frame->elr += 4;  // skip the faulting load
        return;
    }
    if (g_reporting) {
        // The report or SYSTEM_OFF itself faulted: most likely the PSCI
        // conduit is wrong (an SMC with nothing at EL2/EL3 is undefined). Try
        // the other conduit once, then park.
        if (!g_tried_other_conduit) {
            g_tried_other_conduit = true;
            psci::set_conduit(psci::conduit() == Conduit::Smc ? Conduit::Hvc : Conduit::Smc);
            psci::system_off();
        }
        print("guest: cannot power off: PSCI faults through both SMC and HVC; parked");
        for (;;) wfi();
    }
    g_reporting = true;
    print("guest: FAIL unexpected exception ESR=0x%016lx ELR=0x%lx FAR=0x%lx", frame->esr, frame->elr, frame->far);
    info("%s (vector %lu), EC 0x%x, SPSR 0x%lx, on cpu 0x%lx", vector_name(vector), vector, esr_ec(frame->esr),
         frame->spsr, my_mpidr());
    print("guest: stopped; powering off");
    psci::system_off();
}

}  // namespace guest
