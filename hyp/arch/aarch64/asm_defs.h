/* Constants shared by the assembly files and C++ (exception.cpp checks the frame). */
#pragma once

/* A 64-bit constant in both languages (the assembler takes no suffix). */
#ifdef __ASSEMBLER__
#define ASM_U64(x) x
#else
#define ASM_U64(x) x##ull
#endif

#define R_AARCH64_RELATIVE 1027

#define MAX_CPUS 8
#define STACK_SIZE (16 * 1024)

/* CPTR_EL2 with E2H = 0: RES1 bits 13, 12, 9-0; TFP (10) = 0, no FP trap. */
#define CPTR_EL2_RES1 0x33ff
/* CPTR_EL2 with E2H = 1 (CPACR_EL1's layout): FPEN = 0b11, no FP trap. */
#define CPTR_EL2_VHE_FPEN (3 << 20)

/* HCR_EL2: RW (EL1 is AArch64) and E2H (RES1 on VHE-only CPUs). */
#define HCR_EL2_RW (ASM_U64(1) << 31)
#define HCR_EL2_E2H (ASM_U64(1) << 34)

/* The EL2 MMU settings every CPU loads (mmu.cpp, MmuRegs; guest_entry.S, el2_mmu_enable). */
#define MMU_REGS_MAIR 0
#define MMU_REGS_TCR 8
#define MMU_REGS_TTBR 16
#define MMU_REGS_SCTLR 24

/* TrapFrame layout (include/passage/vcpu/trap_frame.h). */
#define FRAME_X30 (30 * 8)
#define FRAME_SP (31 * 8)
#define FRAME_ELR (32 * 8)
#define FRAME_SPSR (33 * 8)
#define FRAME_ESR (34 * 8)
#define FRAME_FAR (35 * 8)
#define FRAME_HPFAR (36 * 8)
#define FRAME_SIZE (38 * 8)

/* ESR_EL2.EC (bits 31:26) of the guest's calls; HVC and SMC differ in bit 0. */
#define ESR_EC_SHIFT 26
#define ESR_EC_HVC64 0x16
#define ESR_EC_SMC64 0x17
/* The guest's aborts (from a lower EL): instruction 0x20, data 0x24. */
#define ESR_EC_IABT_LOW 0x20
#define ESR_EC_DABT_LOW 0x24

/* FastCallTable (include/passage/vcpu/fast_calls.h), vectors.S's call fast path. */
#define FAST_CALLS_ENTRIES 256
#define FAST_CALL_ENTRY_SIZE 16
#define FAST_CALL_ANSWER 8
#define SMCCC_SVE_HINT_CLEAR 0xfffeffff
