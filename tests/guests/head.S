/*
 * Entry points and exception vectors of the test guest.
 *
 * passage enters _start at EL1h, MMU and caches off, DAIF masked, with
 * x0 = the guest DTB. CPU_ON starts a secondary CPU at secondary_entry with
 * x0 = the context id, MMU off. QEMU -kernel (standalone) enters _start at
 * EL1 with x0 = 0.
 *
 * The very first instruction reads the virtual counter: with CNTVOFF_EL2 = 0
 * it is the count since reset, which the bench mode turns into instructions
 * from reset to the guest (under -icount shift=0 one instruction is 1 ns).
 */

/* SCTLR_EL1 RES1 bits (29, 28, 23, 22, 20, 11); M, C, I and all else 0. */
#define SCTLR_EL1_MMU_OFF 0x30d00800
#define CPACR_EL1_FPEN (3 << 20)
#define PRIMARY_STACK_SIZE (16 * 1024)
#define SECONDARY_STACK_SIZE (8 * 1024)
/* struct Frame in exceptions.h: x0-x30, elr, spsr, esr, far, pad. */
#define FRAME_SIZE (36 * 8)

    .section .text.entry, "ax"
    .global _start
_start:
    mrs     x20, cntvct_el0            /* first: the count at guest entry */
    msr     daifset, #0xf
    mov     x19, x0                    /* DTB, or 0 when QEMU loaded us */
    ldr     x1, =SCTLR_EL1_MMU_OFF
    msr     sctlr_el1, x1
    msr     spsel, #1
    mov     x1, #CPACR_EL1_FPEN        /* FP/SIMD on: Debian's libfdt uses it */
    msr     cpacr_el1, x1
    adrp    x1, guest_vectors
    add     x1, x1, :lo12:guest_vectors
    msr     vbar_el1, x1
    isb

    adrp    x1, __bss_start            /* BSS is 16-byte aligned at both ends */
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
    adrp    x1, primary_stack_top
    add     x1, x1, :lo12:primary_stack_top
    mov     sp, x1
    mov     x0, x19
    mov     x1, x20
    bl      guest_main                 /* never returns */
3:  wfi
    b       3b

    .global secondary_entry
secondary_entry:
    msr     daifset, #0xf
    mov     x19, x0                    /* context id */
    ldr     x1, =SCTLR_EL1_MMU_OFF
    msr     sctlr_el1, x1
    msr     spsel, #1
    adrp    x1, guest_vectors
    add     x1, x1, :lo12:guest_vectors
    msr     vbar_el1, x1
    isb
    adrp    x1, secondary_stack_top
    add     x1, x1, :lo12:secondary_stack_top
    mov     sp, x1
    mov     x0, x19
    bl      secondary_main             /* calls CPU_OFF */
4:  wfi
    b       4b

/*
 * Vectors: 16 entries of 0x80 bytes (current EL SP0, current EL SPx, lower
 * EL AArch64, lower EL AArch32; each sync, IRQ, FIQ, SError). Each saves a
 * Frame and calls guest_exception(frame, index); if that returns, the frame
 * (with a possibly changed ELR) is resumed.
 */
.macro ventry idx
    .balign 0x80
    sub     sp, sp, #FRAME_SIZE
    stp     x0, x1, [sp, #0]
    mov     x1, #\idx
    b       vector_common
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global guest_vectors
guest_vectors:
    ventry 0
    ventry 1
    ventry 2
    ventry 3
    ventry 4                           /* VBAR_EL1 + 0x200: where an injected abort arrives */
    ventry 5
    ventry 6
    ventry 7
    ventry 8
    ventry 9
    ventry 10
    ventry 11
    ventry 12
    ventry 13
    ventry 14
    ventry 15

vector_common:
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
    mrs     x2, elr_el1
    stp     x30, x2, [sp, #240]        /* x30, elr */
    mrs     x2, spsr_el1
    mrs     x3, esr_el1
    stp     x2, x3, [sp, #256]         /* spsr, esr */
    mrs     x2, far_el1
    str     x2, [sp, #272]             /* far */
    mov     x0, sp
    bl      guest_exception
    ldp     x30, x2, [sp, #240]
    msr     elr_el1, x2
    ldr     x2, [sp, #256]
    msr     spsr_el1, x2
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
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #FRAME_SIZE
    eret

    .section .stacks, "aw", %nobits
    .balign 16
primary_stack:
    .skip   PRIMARY_STACK_SIZE
    .global primary_stack_top
primary_stack_top:
secondary_stack:
    .skip   SECONDARY_STACK_SIZE
    .global secondary_stack_top
secondary_stack_top:
