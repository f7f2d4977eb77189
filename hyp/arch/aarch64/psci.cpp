#include "psci.h"

#include "sysreg.h"

namespace passage::arch {

u64 psci_call(PsciMethod method, u64 fid, u64 a1, u64 a2, u64 a3) { return smccc_call(method, fid, a1, a2, a3).x0; }

SmcccResult smccc_call(PsciMethod method, u64 fid, u64 a1, u64 a2, u64 a3)
{
    register u64 x0 asm("x0") = fid;
    register u64 x1 asm("x1") = a1;
    register u64 x2 asm("x2") = a2;
    register u64 x3 asm("x3") = a3;
    if (method == PsciMethod::Smc)
        asm volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory", "x4", "x5", "x6", "x7", "x8", "x9",
                     "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17");
    else if (method == PsciMethod::Hvc)
        asm volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory", "x4", "x5", "x6", "x7", "x8", "x9",
                     "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17");
    else return {~u64{0}, 0, 0, 0};
    return {x0, x1, x2, x3};
}

void system_off(PsciMethod method)
{
    (void)psci_call(method, vcpu::psci_fn::kSystemOff);
    for (;;) wfi();
}

}  // namespace passage::arch
