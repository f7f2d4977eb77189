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

// Cleans the EL2 MMU settings and tables to memory, for a CPU that will read
// them with its MMU off; then el2_mmu_on_secondary() on that CPU.
void el2_mmu_publish();
void el2_mmu_on_secondary();

// Usable physical address bits (ID_AA64MMFR0_EL1.PARange, clamped to 48).
unsigned pa_bits();

}  // namespace passage::arch
