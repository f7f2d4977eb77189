/*
 * The bench mode's measured loops and its exception vectors (bench.h).
 *
 * Each loop is
 *     u32 bench_loop_<what>(u64 iterations, u64 x0_value)
 * and returns how far event counter 0 (INST_RETIRED, EL1 and EL2, set up by
 * bench.cpp) moved over `iterations` rounds of
 *     mov x0, <x0_value>; <the instruction>; subs; b.ne
 * so two loops differ only in the measured instruction. The loop lives in
 * x19-x22, which SMCCC (even 1.0, which may clobber x4-x17) and the guest's
 * handler preserve.
 */

.macro bench_loop name, insn:vararg
    .global \name
    .type \name, %function
    .balign 64
\name:
    stp     x19, x20, [sp, #-32]!
    stp     x21, x22, [sp, #16]
    mov     x19, x0                    /* iterations (at least 1) */
    mov     x22, x1                    /* x0 for each round */
    isb
    mrs     x20, pmevcntr0_el0
1:  mov     x0, x22
    \insn
    subs    x19, x19, #1
    b.ne    1b
    isb
    mrs     x21, pmevcntr0_el0
    sub     w0, w21, w20               /* the counter is 32 bits wide */
    ldp     x21, x22, [sp, #16]
    ldp     x19, x20, [sp], #32
    ret
    .size \name, . - \name
.endm

    .section .text.bench, "ax"
    bench_loop bench_loop_nop, nop
    bench_loop bench_loop_hvc, hvc #0
    bench_loop bench_loop_smc, smc #0
    bench_loop bench_loop_load, ldr w1, [x0]       /* x0 = an address outside guest RAM */
    bench_loop bench_loop_brk, brk #0

/*
 * Vectors for the abort loops: a synchronous exception from the current EL
 * on SP_EL1 (VBAR_EL1 + 0x200: where passage injects the external abort and
 * where a BRK lands) skips the instruction at ELR_EL1 and returns: six
 * instructions, x0 saved on the stack. Every other entry goes to the
 * corresponding entry of guest_vectors (a report and power off).
 */
.macro bench_vector idx
    .balign 0x80
    b       guest_vectors + \idx * 0x80
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global bench_vectors
bench_vectors:
    bench_vector 0
    bench_vector 1
    bench_vector 2
    bench_vector 3
    .balign 0x80                       /* 4: current EL, SP_EL1, synchronous */
    str     x0, [sp, #-16]!
    mrs     x0, elr_el1
    add     x0, x0, #4
    msr     elr_el1, x0
    ldr     x0, [sp], #16
    eret
    bench_vector 5
    bench_vector 6
    bench_vector 7
    bench_vector 8
    bench_vector 9
    bench_vector 10
    bench_vector 11
    bench_vector 12
    bench_vector 13
    bench_vector 14
    bench_vector 15

/*
 * u32 bench_loop_bar_move(u64 iterations, u64 bar_reg, u64 addr_a, u64 addr_b)
 * Each round writes addr_a, then addr_b, to the BAR register at bar_reg (a
 * 32-bit config write that passage traps and turns into a BAR move): two
 * moves a round, in four instructions as in bench_loop_nop.
 */
    .section .text.bench, "ax"
    .global bench_loop_bar_move
    .type bench_loop_bar_move, %function
    .balign 64
bench_loop_bar_move:
    stp     x19, x20, [sp, #-32]!
    stp     x21, x22, [sp, #16]
    mov     x19, x0
    isb
    mrs     x20, pmevcntr0_el0
1:  str     w2, [x1]
    str     w3, [x1]
    subs    x19, x19, #1
    b.ne    1b
    isb
    mrs     x21, pmevcntr0_el0
    sub     w0, w21, w20
    ldp     x21, x22, [sp, #16]
    ldp     x19, x20, [sp], #32
    ret
    .size bench_loop_bar_move, . - bench_loop_bar_move
