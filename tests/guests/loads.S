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
    .text
    .global raw_load
    .type raw_load, %function
raw_load:
    stp     x29, x30, [sp, #-112]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    stp     x25, x26, [sp, #64]
    stp     x27, x28, [sp, #80]
    str     x1, [sp, #96]
    adr     x29, 1f
    add     x29, x29, x3, lsl #3      /* each entry: the load and a branch, 8 bytes */
    mov     x30, x2
    ldp     x1, x2, [x0, #8]
    ldp     x3, x4, [x0, #24]
    ldp     x5, x6, [x0, #40]
    ldp     x7, x8, [x0, #56]
    ldp     x9, x10, [x0, #72]
    ldp     x11, x12, [x0, #88]
    ldp     x13, x14, [x0, #104]
    ldp     x15, x16, [x0, #120]
    ldp     x17, x18, [x0, #136]
    ldp     x19, x20, [x0, #152]
    ldp     x21, x22, [x0, #168]
    ldp     x23, x24, [x0, #184]
    ldp     x25, x26, [x0, #200]
    ldp     x27, x28, [x0, #216]
    ldr     x0, [x0]
    br      x29
1:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28
    ldr     w\n, [x30]
    b       2f
    .endr
2:  ldr     x30, [sp, #96]
    stp     x0, x1, [x30, #0]
    stp     x2, x3, [x30, #16]
    stp     x4, x5, [x30, #32]
    stp     x6, x7, [x30, #48]
    stp     x8, x9, [x30, #64]
    stp     x10, x11, [x30, #80]
    stp     x12, x13, [x30, #96]
    stp     x14, x15, [x30, #112]
    stp     x16, x17, [x30, #128]
    stp     x18, x19, [x30, #144]
    stp     x20, x21, [x30, #160]
    stp     x22, x23, [x30, #176]
    stp     x24, x25, [x30, #192]
    stp     x26, x27, [x30, #208]
    str     x28, [x30, #224]
    ldp     x19, x20, [sp, #16]
    ldp     x21, x22, [sp, #32]
    ldp     x23, x24, [sp, #48]
    ldp     x25, x26, [sp, #64]
    ldp     x27, x28, [sp, #80]
    ldp     x29, x30, [sp], #112
    ret
    .size raw_load, . - raw_load
