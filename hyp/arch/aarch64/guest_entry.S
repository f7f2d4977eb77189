/*
 * Into the guest, and secondary CPUs into passage.
 */
#include "asm_defs.h"

    .text

/*
 * enter_guest(entry, x0, el2_stack_top): ERET to EL1h with DAIF masked at
 * `entry`, x0 as given and every other register zero (booting.rst wants
 * x1-x3 = 0). Traps from the guest then start on a fresh EL2 stack.
 */
    .global enter_guest
enter_guest:
    msr     elr_el2, x0
    mov     x3, #0x3c5              /* EL1h, D A I F masked */
    msr     spsr_el2, x3
    mov     sp, x2
    mov     x0, x1
    mov     x1, xzr
    mov     x2, xzr
    mov     x3, xzr
    mov     x4, xzr
    mov     x5, xzr
    mov     x6, xzr
    mov     x7, xzr
    mov     x8, xzr
    mov     x9, xzr
    mov     x10, xzr
    mov     x11, xzr
    mov     x12, xzr
    mov     x13, xzr
    mov     x14, xzr
    mov     x15, xzr
    mov     x16, xzr
    mov     x17, xzr
    mov     x18, xzr
    mov     x19, xzr
    mov     x20, xzr
    mov     x21, xzr
    mov     x22, xzr
    mov     x23, xzr
    mov     x24, xzr
    mov     x25, xzr
    mov     x26, xzr
    mov     x27, xzr
    mov     x28, xzr
    mov     x29, xzr
    mov     x30, xzr
    eret

/*
 * el2_mmu_enable(const MmuRegs* regs): the EL2 MMU and caches on, from the
 * settings at x0. A leaf that touches no memory but *regs, so a secondary
 * can call it before its first stack access.
 */
    .global el2_mmu_enable
el2_mmu_enable:
    ldp     x1, x2, [x0, #MMU_REGS_MAIR]
    msr     mair_el2, x1
    msr     tcr_el2, x2
    ldp     x1, x2, [x0, #MMU_REGS_TTBR]
    msr     ttbr0_el2, x1
    isb
    tlbi    alle2
    dsb     sy
    ic      iallu
    dsb     sy
    isb
    msr     sctlr_el2, x2
    isb
    ret

/*
 * secondary_entry: where the real firmware's PSCI CPU_ON starts a CPU for
 * the guest: EL2, MMU off, x0 = the CPU's index. Turns its MMU on before
 * anything is written: a store with the MMU off goes around the caches,
 * and another CPU's cache may hold a stale copy of the line (any Normal
 * memory may be fetched speculatively), which the first cached load after
 * would see. Then the CPU's own stack, passage's vectors, and
 * secondary_main(index).
 */
    .global secondary_entry
secondary_entry:
    msr     daifset, #0xf
    msr     spsel, #1              /* SP_EL2, as on the boot CPU */
    mov     x19, x0
    cmp     x19, #MAX_CPUS
    b.hs    2f
    mov     x1, #HCR_EL2_RW        /* E2H = 0: the EL2 regime passage's settings are for */
    msr     hcr_el2, x1
    isb
    adrp    x0, passage_el2_mmu
    add     x0, x0, :lo12:passage_el2_mmu
    bl      el2_mmu_enable
    adrp    x1, passage_stacks
    add     x1, x1, :lo12:passage_stacks
    add     x2, x19, #1
    mov     x3, #STACK_SIZE
    madd    x1, x2, x3, x1
    mov     sp, x1
    mov     x1, #CPTR_EL2_RES1
    msr     cptr_el2, x1
    adrp    x1, el2_vectors
    add     x1, x1, :lo12:el2_vectors
    msr     vbar_el2, x1
    isb
    mov     x0, x19
    bl      secondary_main
2:  wfi
    b       2b
