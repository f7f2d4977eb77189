#include "psci.h"

namespace guest::psci {

namespace {
Conduit g_conduit = Conduit::Smc;
}

void set_conduit(Conduit c) { g_conduit = c; }
Conduit conduit() { return g_conduit; }

i64 call(u64 fid, u64 a1, u64 a2, u64 a3)
{
    // SMCCC: arguments in x0-x3, result in x0; x4-x17 may be clobbered.
    register u64 x0 asm("x0") = fid;
    register u64 x1 asm("x1") = a1;
    register u64 x2 asm("x2") = a2;
    register u64 x3 asm("x3") = a3;
    if (g_conduit == Conduit::Hvc)
        asm volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory", "x4", "x5", "x6", "x7", "x8",
                     "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17");
    else
        asm volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory", "x4", "x5", "x6", "x7", "x8",
                     "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17");
    // PSCI return codes are 32-bit signed.
    return static_cast<int32_t>(x0);
}

void system_off()
{
    (void)call(kSystemOff);
    for (;;) wfi();
}

const char* error_text(i64 ret)
{
    switch (ret) {
    case 0: return "SUCCESS";
    case -1: return "NOT_SUPPORTED";
    case -2: return "INVALID_PARAMETERS";
    case -3: return "DENIED";
    case -4: return "ALREADY_ON";
    case -5: return "ON_PENDING";
    case -6: return "INTERNAL_FAILURE";
    case -7: return "NOT_PRESENT";
    case -8: return "DISABLED";
    case -9: return "INVALID_ADDRESS";
    default: return "unknown";
    }
}

}  // namespace guest::psci
