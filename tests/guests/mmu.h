// The guest's own stage-1 tables: EL1&0 regime, TTBR0 only, 4 KiB granule,
// 48-bit VA, mostly an identity map. Each mapping names its memory type;
// what the guest finally gets is this combined with passage's stage 2.
#pragma once

#include "arch.h"

namespace guest::mmu {

// MAIR_EL1 indices (the AttrIndx of a descriptor).
enum class Mem : u8 {
    DeviceNGnRnE = 0,  // ECAM (config writes must not be posted)
    DeviceNGnRE = 1,   // UART, device registers
    NormalNC = 2,      // write-combining BAR alias
    NormalWB = 3,      // RAM
};

const char* mem_name(Mem m);

// Maps [va, va + size) to [pa, ...), all 4 KiB aligned, using 1 GiB and
// 2 MiB blocks where alignment allows. Only fills invalid entries (never
// changes a live one), so it is safe with the MMU on. False when the table
// pool runs out or the range would overlap an existing mapping.
bool map(u64 va, u64 pa, u64 size, Mem mem);

// Programs MAIR/TCR/TTBR0 and turns on the MMU and caches.
void enable();
bool enabled();

unsigned tables_used();

// AT S1E1R: the PAR_EL1 of a VA (bit 0 = fault; else ATTR in bits 63:56).
u64 translate(u64 va);

}  // namespace guest::mmu
