#include "secondary.h"

#include "psci.h"

namespace guest {

Mailbox g_mailbox;

// Runs on the secondary with the MMU off; everything it reads (the PSCI
// conduit) the primary cleaned to memory before CPU_ON.
extern "C" [[noreturn]] void secondary_main(u64 context)
{
    volatile Mailbox* box = &g_mailbox;
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
