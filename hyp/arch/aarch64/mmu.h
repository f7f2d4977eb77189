// passage's EL2 stage-1 MMU: identity map of RAM and the MMIO it uses.
#pragma once

#include "passage/boot_info.h"
#include "passage/platform.h"
#include "passage/result.h"

namespace passage::arch {

// Builds the map (image code RX, rodata RO, data RW XN; other RAM RW XN;
// console, GIC and ECAM Device; nothing else, no PCI BAR) and turns the MMU
// and caches on. Returns the table pages used.
Result<usize> enable_el2_mmu(const BootInfo& boot, const Platform& p);

// What every CPU loads to turn its EL2 MMU on.
struct MmuRegs {
    u64 mair, tcr, ttbr, sctlr;
};

// Cleans the EL2 MMU settings and tables to memory, for a CPU that will read
// them with its MMU off (secondary_entry, before it uses its stack).
void el2_mmu_publish();

}  // namespace passage::arch

extern "C" {
// guest_entry.S: loads MAIR, TCR and TTBR0, invalidates the EL2 TLB and the
// instruction cache, and sets SCTLR_EL2. It uses x0-x3 and no stack.
void el2_mmu_enable(const passage::arch::MmuRegs* regs);
extern passage::arch::MmuRegs passage_el2_mmu;
}

namespace passage::arch {

// Usable physical address bits (ID_AA64MMFR0_EL1.PARange, clamped to 48).
unsigned pa_bits();

}  // namespace passage::arch
