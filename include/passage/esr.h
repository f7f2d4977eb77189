// Decoding ESR_ELx (Arm ARM D17.2.37): exception class names and the
// data/instruction abort syndrome, for reports a person can read.
#pragma once

#include "passage/bits.h"

namespace passage::esr {

using EC = Field<31, 26>;
using IL = Bit<25>;
using ISS = Field<24, 0>;
// Data abort ISS
using ISV = Bit<24>;
using SAS = Field<23, 22>;
using SSE = Bit<21>;
using SRT = Field<20, 16>;
using SF = Bit<15>;
using CM = Bit<8>;
using S1PTW = Bit<7>;
using WnR = Bit<6>;
using xFSC = Field<5, 0>;
// A translation fault at any level (DFSC/IFSC 0b0001LL): nothing mapped.
constexpr bool is_translation_fault(u64 esr) { return (xFSC::get(esr) & 0x3c) == 0x04; }
static_assert(is_translation_fault(0x93c08007));   // data abort, translation fault level 3
static_assert(!is_translation_fault(0x9200004f));  // permission fault level 3
static_assert(!is_translation_fault(0x96000010));  // synchronous external abort

constexpr u32 kEcUnknown = 0x00;
constexpr u32 kEcWfx = 0x01;
constexpr u32 kEcFpAccess = 0x07;
constexpr u32 kEcIllegalState = 0x0e;
constexpr u32 kEcSvc64 = 0x15;
constexpr u32 kEcHvc64 = 0x16;
constexpr u32 kEcSmc64 = 0x17;
constexpr u32 kEcSysReg = 0x18;
constexpr u32 kEcInstAbortLower = 0x20;
constexpr u32 kEcInstAbortSame = 0x21;
constexpr u32 kEcPcAlign = 0x22;
constexpr u32 kEcDataAbortLower = 0x24;
constexpr u32 kEcDataAbortSame = 0x25;
constexpr u32 kEcSpAlign = 0x26;
constexpr u32 kEcSError = 0x2f;
constexpr u32 kEcBrk = 0x3c;

const char* class_name(u32 ec);
const char* fault_status_name(u32 fsc);

// One line: "EC 0x25 data abort (same EL): translation fault level 3, write, ISV 1 ...".
void describe(u64 esr, char* buf, usize size);

}  // namespace passage::esr
