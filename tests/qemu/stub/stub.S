/*
 * A boot stub that starts passage from any load address under QEMU, the way
 * a board's firmware or U-Boot would: QEMU runs this ELF (given as -kernel)
 * at EL2 with x0 = 0, and places its device tree at the start of RAM; the
 * stub jumps to passage with x0 = that device tree and x1-x3 = 0, as
 * Documentation/arch/arm64/booting.rst asks, and with SPSel = 0.
 *
 * Where to jump is not built in: QEMU writes it into the slot at
 * boot_stub_slot (a page after the stub, outside its ELF, so it never races
 * QEMU's ROM loading) with
 *   -device loader,addr=<slot>,data=<load address>,data-len=8
 * and passage.bin itself with -device loader,file=...,addr=<load address>.
 * scripts/qemu-cmd.sh --load-addr writes both.
 */
    .section .text.stub, "ax"
    .global _start
_start:
    ldr     x4, =boot_stub_slot
    ldr     x5, [x4]               /* passage's load address */
    cbz     x5, 1f                 /* nothing told us where: stop */
    ldr     x0, =BOOT_STUB_DTB     /* QEMU's device tree for an ELF -kernel */
    mov     x1, xzr
    mov     x2, xzr
    mov     x3, xzr
    /*
     * Hand over on SP_EL0 (SPSel = 0), as firmware may: booting.rst says
     * nothing of SPSel, so passage must select SP_EL2 itself.
     */
    msr     spsel, #0
    br      x5
1:  wfi
    b       1b
    .ltorg
