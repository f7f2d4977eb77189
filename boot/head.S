/*
 * The arm64 Linux Image header and the primary entry.
 *
 * Loaders (QEMU -kernel, U-Boot booti, board firmware) recognise the header,
 * place the image, and jump to its first instruction with x0 = DTB.
 * Documentation/arch/arm64/booting.rst gives the layout.
 */
#include "asm_defs.h"

    .section .text.head, "ax"
    .global _start
_start:
    b       primary_entry          /* code0 */
    .long   0                      /* code1 */
    /*
     * The rest of the header (text_offset, image_size, flags, magic) is
     * written by linker/passage.ld: image_size is only known at link time and
     * must not become a relocation.
     */

    .section .text.entry, "ax"
primary_entry:
    mov     x19, x0                /* DTB */
    adr     x20, _start            /* where we really are */

    /* Mask everything; the MMU and caches are off per the boot protocol. */
    msr     daifset, #0xf
    /*
     * SP_ELx whatever SPSel the firmware left: passage's vectors (the
     * "current EL with SP_ELx" ones) and every stack below assume it.
     */
    msr     spsel, #1

    /* Apply R_AARCH64_RELATIVE relocations: *(base + off) = base + addend. */
    adrp    x1, __rela_start
    add     x1, x1, :lo12:__rela_start
    adrp    x2, __rela_end
    add     x2, x2, :lo12:__rela_end
1:  cmp     x1, x2
    b.hs    3f
    ldp     x3, x4, [x1], #16      /* r_offset, r_info */
    ldr     x5, [x1], #8           /* r_addend */
    cmp     x4, #R_AARCH64_RELATIVE
    b.ne    2f                     /* the build refuses any other type */
    add     x5, x5, x20
    str     x5, [x20, x3]
2:  b       1b
3:
    /*
     * Clear BSS. It is 16-byte aligned at both ends: 64 bytes an iteration
     * while they last (one pair a loop was 100 000 instructions), then
     * pairs. No DC ZVA: with the MMU off memory is Device, where it faults.
     */
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
    sub     x3, x2, #64
4:  cmp     x1, x3
    b.hi    5f
    stp     xzr, xzr, [x1]
    stp     xzr, xzr, [x1, #16]
    stp     xzr, xzr, [x1, #32]
    stp     xzr, xzr, [x1, #48]
    add     x1, x1, #64
    b       4b
5:  cmp     x1, x2
    b.hs    9f
    stp     xzr, xzr, [x1], #16
    b       5b
9:
    /* The boot CPU's stack: the top of per-CPU stack 0. */
    adrp    x1, passage_stacks
    add     x1, x1, :lo12:passage_stacks
    add     x1, x1, #STACK_SIZE
    mov     sp, x1

    /* FP/SIMD on for libfdt (Debian's build uses it); see docs/design.md. */
    mrs     x21, CurrentEL
    lsr     x21, x21, #2
    cmp     x21, #2
    b.ne    6f
    /*
     * E2H = 0, the EL2 regime passage is written for. Where E2H is RES1
     * (a VHE-only CPU) CPTR_EL2 has CPACR_EL1's layout: FPEN there, so
     * that passage_main gets as far as saying it cannot run here.
     */
    mov     x1, #HCR_EL2_RW
    msr     hcr_el2, x1
    isb
    mrs     x1, hcr_el2
    mov     x2, #CPTR_EL2_RES1
    tst     x1, #HCR_EL2_E2H
    mov     x1, #CPTR_EL2_VHE_FPEN
    csel    x1, x2, x1, eq
    msr     cptr_el2, x1
    adrp    x1, el2_vectors
    add     x1, x1, :lo12:el2_vectors
    msr     vbar_el2, x1
    b       7f
6:  mov     x1, #(3 << 20)         /* CPACR_EL1.FPEN = 0b11 */
    msr     cpacr_el1, x1
    adrp    x1, el1_vectors
    add     x1, x1, :lo12:el1_vectors
    msr     vbar_el1, x1
7:  isb

    mov     x0, x19
    mov     x1, x20
    mov     x2, x21
    bl      passage_main           /* never returns */
8:  wfi
    b       8b
