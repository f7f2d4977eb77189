/*
 * Exception vectors. Every entry saves the full register state in a TrapFrame
 * on the current stack and calls the C++ handler with the frame and the
 * vector index (0-15: current EL SP0, current EL SPx, lower EL AArch64,
 * lower EL AArch32; each sync, irq, fiq, serror). A handler that returns
 * resumes the frame with ERET.
 */
#include "asm_defs.h"

.macro save_frame el
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    add     x2, sp, #FRAME_SIZE    /* sp before the exception */
    stp     x30, x2, [sp, #FRAME_X30]
    mrs     x2, elr_\el
    mrs     x3, spsr_\el
    stp     x2, x3, [sp, #FRAME_ELR]
    mrs     x2, esr_\el
    mrs     x3, far_\el
    stp     x2, x3, [sp, #FRAME_ESR]
.endm

.macro restore_frame el
    ldp     x2, x3, [sp, #FRAME_ELR]
    msr     elr_\el, x2
    msr     spsr_\el, x3
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldr     x30, [sp, #FRAME_X30]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME_SIZE
    eret
.endm

.macro ventry idx, common
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x1, #\idx
    b       \common
.endm

.macro vector_table name, common
    .balign 0x800
    .global \name
\name:
    ventry 0, \common
    ventry 1, \common
    ventry 2, \common
    ventry 3, \common
    ventry 4, \common
    ventry 5, \common
    ventry 6, \common
    ventry 7, \common
    ventry 8, \common
    ventry 9, \common
    ventry 10, \common
    ventry 11, \common
    ventry 12, \common
    ventry 13, \common
    ventry 14, \common
    ventry 15, \common
.endm

    .section .text.vectors, "ax"
    vector_table el2_vectors, el2_common
    vector_table el1_vectors, el1_common

el2_common:
    save_frame el2
    mrs     x2, hpfar_el2
    str     x2, [sp, #FRAME_HPFAR]
    mov     x0, sp
    bl      el2_exception          /* x0 = frame, x1 = vector index */
    restore_frame el2

el1_common:
    save_frame el1
    str     xzr, [sp, #FRAME_HPFAR]
    mov     x0, sp
    bl      el1_exception
    restore_frame el1
