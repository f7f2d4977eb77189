#include "secondary.h"

#include "psci.h"

namespace guest {

Mailbox g_mailbox;

// Runs on the secondary with the MMU off; everything it reads (the PSCI
// conduit) the primary cleaned to memory before CPU_ON.
namespace {

// bbm-race: a device page read in a loop while the primary moves a
// neighbouring BAR back and forth, so that the hypervisor splits and folds
// the stage-2 block over both. Every read must return the device's data;
// an abort stops the guest with a FAIL (exceptions.cpp).
void race(volatile Mailbox* box)
{
    auto* reg = reinterpret_cast<volatile u32*>(box->race_addr);
    *reg = u32(box->race_value);
    u64 reads = 0, bad = 0;
    while (box->race_stop == 0) {
        for (unsigned i = 0; i < 256; ++i) {
            u32 v;
            asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(reg) : "memory");  // one ldr: a syndrome passage can use
            if (v != u32(box->race_value)) ++bad;
        }
        reads += 256;
        box->race_reads = reads;
        dsb_sy();
    }
    box->race_reads = reads;
    box->race_bad = bad;
    dsb_sy();
    box->race_done = 1;
    dsb_sy();
}

}  // namespace

extern "C" [[noreturn]] void secondary_main(u64 context)
{
    volatile Mailbox* box = &g_mailbox;
    if (context == kRaceContext) race(box);
    box->mpidr = my_mpidr();
    dsb_sy();
    box->context = context;  // the flag the primary waits for
    dsb_sy();
    i64 ret = psci::cpu_off();
    box->cpu_off_result = static_cast<u64>(ret);
    box->cpu_off_returned = 1;
    dsb_sy();
    for (;;) wfi();
}

}  // namespace guest
