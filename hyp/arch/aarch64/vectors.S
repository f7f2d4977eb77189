/*
 * Exception vectors. Every entry saves the full register state in a TrapFrame
 * on the current stack and calls the C++ handler with the frame and the
 * vector index (0-15: current EL SP0, current EL SPx, lower EL AArch64,
 * lower EL AArch32; each sync, irq, fiq, serror). A handler that returns
 * resumes the frame with ERET.
 *
 * Except the guest's HVC and SMC (guest_call below): answered from a table
 * before any other register is saved when the answer is a constant, else
 * with only the registers a C++ call may clobber saved. And the guest's
 * aborts (guest_abort below): C++ first sees a frame of those same
 * registers, and only what it cannot answer from them gets the full save.
 */
#include "asm_defs.h"

/* x4-x17, in their TrapFrame slots: caller-saved registers every path into C++ saves. */
.macro save_x4_x17
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
.endm

.macro restore_x4_x17
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
.endm

/* x20-x29, in their TrapFrame slots: callee-saved, so only a full frame saves them. */
.macro save_x20_x29
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
.endm

/* ELR, SPSR, ESR and FAR into the frame (x2 and x3 already saved). */
.macro save_syndrome el
    mrs     x2, elr_\el
    mrs     x3, spsr_\el
    stp     x2, x3, [sp, #FRAME_ELR]
    mrs     x2, esr_\el
    mrs     x3, far_\el
    stp     x2, x3, [sp, #FRAME_ESR]
.endm

/* HPFAR_EL2 too: a stage-2 fault's IPA. */
.macro save_hpfar
    mrs     x2, hpfar_el2
    str     x2, [sp, #FRAME_HPFAR]
.endm

/* ELR and SPSR from the frame, as a handler may have changed them. */
.macro restore_elr_spsr el
    ldp     x2, x3, [sp, #FRAME_ELR]
    msr     elr_\el, x2
    msr     spsr_\el, x3
.endm

.macro save_frame el
    stp     x2, x3, [sp, #16]
    save_x4_x17
    stp     x18, x19, [sp, #144]
    save_x20_x29
    add     x2, sp, #FRAME_SIZE    /* sp before the exception */
    stp     x30, x2, [sp, #FRAME_X30]
    save_syndrome \el
.endm

.macro restore_frame el
    restore_elr_spsr \el
    ldp     x2, x3, [sp, #16]
    restore_x4_x17
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

/* Lower EL (AArch64) synchronous: the guest's calls go to guest_call, its aborts to guest_abort. */
.macro ventry_lower_sync
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mrs     x1, esr_el2
    lsr     w1, w1, #(ESR_EC_SHIFT + 1)  /* EC[5:1]: HVC64 and SMC64 differ in EC[0] only */
    cmp     w1, #(ESR_EC_DABT_LOW >> 1)  /* EC[0] set is an abort taken from EL2: never here */
    b.eq    guest_abort
    cmp     w1, #(ESR_EC_HVC64 >> 1)
    b.eq    guest_call
    cmp     w1, #(ESR_EC_IABT_LOW >> 1)
    b.eq    guest_abort
    b       el2_guest_sync
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global el2_vectors
el2_vectors:
    ventry 0, el2_common
    ventry 1, el2_common
    ventry 2, el2_common
    ventry 3, el2_common
    ventry 4, el2_common
    ventry 5, el2_common
    ventry 6, el2_common
    ventry 7, el2_common
    ventry_lower_sync
    ventry 9, el2_common
    ventry 10, el2_common
    ventry 11, el2_common
    ventry 12, el2_common
    ventry 13, el2_common
    ventry 14, el2_common
    ventry 15, el2_common
    vector_table el1_vectors, el1_common

el2_common:
    save_frame el2
    save_hpfar
    mov     x0, sp
    bl      el2_exception          /* x0 = frame, x1 = vector index */
    restore_frame el2

/* The guest's other synchronous exceptions: aborts, traps (trap.cpp). */
el2_guest_sync:
    save_frame el2
    save_hpfar
    mov     x0, sp
    bl      el2_guest_exception
    restore_frame el2

/*
 * The guest's data or instruction abort. el2_guest_abort (trap.cpp) gets a
 * TrapFrame in which only x0-x18, x30, ELR, SPSR, ESR, FAR and HPFAR are
 * filled: the registers a C++ call may clobber and the syndrome. It answers
 * what needs no other register (a plain word load into one of those, an
 * abort to inject) and returns true; ELR and SPSR come back from the frame,
 * since an injection changes both. It returns false, having changed
 * nothing, for anything else: then x19-x29, which C++ preserved, and SP
 * complete the frame for the full path, as if the fast one had not run.
 */
guest_abort:
    stp     x2, x3, [sp, #16]
    save_x4_x17
    str     x18, [sp, #144]
    str     x30, [sp, #FRAME_X30]
    save_syndrome el2
    save_hpfar
    mov     x0, sp
    bl      el2_guest_abort        /* trap.cpp */
    cbz     w0, 1f
    restore_elr_spsr el2
    ldp     x2, x3, [sp, #16]
    restore_x4_x17
    ldr     x18, [sp, #144]
    ldr     x30, [sp, #FRAME_X30]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME_SIZE
    eret
1:  str     x19, [sp, #152]
    save_x20_x29
    add     x2, sp, #FRAME_SIZE    /* sp before the exception */
    str     x2, [sp, #FRAME_SP]
    mov     x0, sp
    bl      el2_guest_exception
    restore_frame el2

el1_common:
    save_frame el1
    str     xzr, [sp, #FRAME_HPFAR]
    mov     x0, sp
    bl      el1_exception
    restore_frame el1

/*
 * The guest's HVC or SMC (x0 = function ID; x0 and x1 saved in the frame). The function is looked up in passage_fast_calls exactly as
 * fast_call_answer() (fast_calls.h) does it: a constant answer or
 * NOT_SUPPORTED goes straight back in x0, every other register untouched,
 * as handle_psci would leave them; the rest goes to el2_guest_call.
 */
guest_call:
    stp     x2, x3, [sp, #16]
    mrs     x2, esr_el2
    tbz     w2, #ESR_EC_SHIFT, 1f        /* SMC: ELR points at it; HVC: past it */
    mrs     x2, elr_el2
    add     x2, x2, #4
    msr     elr_el2, x2
1:  adrp    x2, passage_fast_calls
    add     x2, x2, :lo12:passage_fast_calls
    lsr     w3, w0, #24
    ldrb    w3, [x2, w3, uxtw]           /* 1 + first entry of this top byte */
    cbz     w3, call_not_supported
    add     x2, x2, x3, lsl #4
    add     x2, x2, #(FAST_CALLS_ENTRIES - FAST_CALL_ENTRY_SIZE)
    and     w0, w0, #SMCCC_SVE_HINT_CLEAR
2:  ldp     w1, w3, [x2], #FAST_CALL_ENTRY_SIZE   /* first, count */
    subs    w1, w0, w1
    b.lo    call_not_supported           /* below this entry: in none */
    cmp     w1, w3
    b.hs    2b
    ldp     w0, w3, [x2, #(FAST_CALL_ANSWER - FAST_CALL_ENTRY_SIZE)]  /* answer, needs_cpp */
    cbnz    w3, call_cpp
    sxtw    x0, w0
    b       call_return
call_not_supported:
    mov     x0, #-1
call_return:
    ldr     x1, [sp, #8]
    ldp     x2, x3, [sp, #16]
    add     sp, sp, #FRAME_SIZE
    eret

/*
 * A call for handle_psci: x0-x3 are the CallFrame at sp (only they are read
 * or written); x4-x18 and x30 are what the C++ call may clobber besides
 * (x19-x29 it preserves, and nothing on this path writes ELR or SPSR: an
 * exception taken at EL2 never returns). x19's slot holds x30 here.
 */
call_cpp:
    save_x4_x17
    stp     x18, x30, [sp, #144]
    mov     x0, sp
    bl      el2_guest_call
    restore_x4_x17
    ldp     x18, x30, [sp, #144]
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    add     sp, sp, #FRAME_SIZE
    eret
