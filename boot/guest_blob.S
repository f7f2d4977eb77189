/* The default test guest (tests/guests), as an ELF file inside the image. */
    .section .rodata.test_guest, "a"
    .balign 16
    .global test_guest_elf_start
test_guest_elf_start:
#ifdef TEST_GUEST_ELF
    .incbin TEST_GUEST_ELF
#endif
    .global test_guest_elf_end
test_guest_elf_end:
