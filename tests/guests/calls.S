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
.macro raw_call name, insn
    .global \name
    .type \name, %function
\name:
    stp     x29, x30, [sp, #-112]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    str     x1, [sp, #96]
    mov     x29, x0
    ldp     x0, x1, [x29, #0]
    ldp     x2, x3, [x29, #16]
    ldp     x4, x5, [x29, #32]
    ldp     x6, x7, [x29, #48]
    ldp     x8, x9, [x29, #64]
    ldp     x10, x11, [x29, #80]
    ldp     x12, x13, [x29, #96]
    ldp     x14, x15, [x29, #112]
    ldp     x16, x17, [x29, #128]
    ldp     x18, x19, [x29, #144]
    ldp     x20, x21, [x29, #160]
    ldp     x22, x23, [x29, #176]
    ldp     x24, x25, [x29, #192]
    ldp     x26, x27, [x29, #208]
    ldr     x28, [x29, #224]
    \insn
    ldr     x29, [sp, #96]
    stp     x0, x1, [x29, #0]
    stp     x2, x3, [x29, #16]
    stp     x4, x5, [x29, #32]
    stp     x6, x7, [x29, #48]
    stp     x8, x9, [x29, #64]
    stp     x10, x11, [x29, #80]
    stp     x12, x13, [x29, #96]
    stp     x14, x15, [x29, #112]
    stp     x16, x17, [x29, #128]
    stp     x18, x19, [x29, #144]
    stp     x20, x21, [x29, #160]
    stp     x22, x23, [x29, #176]
    stp     x24, x25, [x29, #192]
    stp     x26, x27, [x29, #208]
    str     x28, [x29, #224]
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #112
    ret
    .size \name, . - \name
.endm

    .text
    raw_call raw_hvc, "hvc #0"
    raw_call raw_smc, "smc #0"
