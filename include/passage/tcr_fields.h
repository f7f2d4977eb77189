// The translation-control fields TCR_EL2 (with HCR_EL2.E2H = 0) and
// VTCR_EL2 share, at the same bit positions and with the same encodings
// (Arm ARM, the two registers' descriptions): the size of the input
// range, the walks' cacheability and shareability, the granule and the
// output size. Declared once for passage's stage 1 and the guests' stage 2.
#pragma once

#include "passage/bits.h"

namespace passage::tcr {

using T0SZ = Field<5, 0>;     // input range 2^(64 - T0SZ) bytes
using IRGN0 = Field<9, 8>;    // walks' inner cacheability: 0b01 write-back
using ORGN0 = Field<11, 10>;  // walks' outer cacheability: 0b01 write-back
using SH0 = Field<13, 12>;    // walks' shareability: 0b11 inner shareable
using TG0 = Field<15, 14>;    // granule: 0b00 4 KiB
using PS = Field<18, 16>;     // output size, encoded as ID_AA64MMFR0_EL1.PARange

// The encodings passage uses in them.
constexpr u64 kWriteBack = 0b01;   // IRGN0/ORGN0: Normal WB, read- and write-allocate
constexpr u64 kInnerShare = 0b11;  // SH0
constexpr u64 kGranule4K = 0b00;   // TG0

}  // namespace passage::tcr
