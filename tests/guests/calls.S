/*
 * raw_hvc / raw_smc (calls.cpp): one HVC #0 or SMC #0 with every general
 * register x0-x28 taken from in[0..28] and stored to out[0..28] afterwards,
 * so a check sees exactly which registers the hypervisor changed.
 *
 *     void raw_hvc(const u64 in[29], u64 out[29]);
 *     void raw_smc(const u64 in[29], u64 out[29]);
 *
 * x29 holds the arrays' addresses across the call (it is not compared);
 * x19-x28 are saved and restored for the caller.
 */
#include "raw_regs.inc"

.macro raw_call name, insn
    .global \name
    .type \name, %function
\name:
    enter_raw_frame
    str     x1, [sp, #96]
    mov     x29, x0
    load_x0_x28 x29
    \insn
    ldr     x29, [sp, #96]
    store_x0_x28 x29
    leave_raw_frame
    ret
    .size \name, . - \name
.endm

    .text
    raw_call raw_hvc, "hvc #0"
    raw_call raw_smc, "smc #0"
