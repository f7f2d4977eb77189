/*
 * raw_load (loads.cpp): one `ldr w<rt>, [x30]` of `addr`, with every
 * general register x0-x28 taken from in[0..28] before it and stored to
 * out[0..28] after it, so a check sees what the load wrote and that no
 * other register changed, whichever register the load names.
 *
 *     void raw_load(const u64 in[29], u64 out[29], u64 addr, unsigned rt);   rt 0-28
 *
 * x30 holds the address (then the out pointer) and x29 the load's entry in
 * the table below; neither is compared. x19-x28 are kept for the caller.
 */
#include "raw_regs.inc"

    .text
    .global raw_load
    .type raw_load, %function
raw_load:
    enter_raw_frame
    str     x1, [sp, #96]
    str     x2, [sp, #104]
    adr     x29, 1f
    add     x29, x29, x3, lsl #3      /* each entry: the load and a branch, 8 bytes */
    mov     x30, x0
    load_x0_x28 x30
    ldr     x30, [sp, #104]           /* the address */
    br      x29
1:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28
    ldr     w\n, [x30]
    b       2f
    .endr
2:  ldr     x30, [sp, #96]
    store_x0_x28 x30
    leave_raw_frame
    ret
    .size raw_load, . - raw_load
