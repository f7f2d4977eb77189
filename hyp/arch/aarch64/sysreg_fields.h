// Fields of the system registers and stage-1 descriptors the arch layer
// writes or reads, each declared once, named as in the Arm ARM (DDI 0487).
// asm_defs.h repeats the few that assembly needs; the checks below keep
// the two equal.
#pragma once

#include "asm_defs.h"
#include "passage/bits.h"
#include "passage/tcr_fields.h"

namespace passage::arch {

// HCR_EL2 (D24.2.48); the features' bits come from vcpu/el2_features.
namespace hcr {
using VM = Bit<0>;     // stage 2 on
using SWIO = Bit<1>;   // set/way invalidate becomes clean+invalidate
using TSC = Bit<19>;   // the guest's SMCs trap
using RW = Bit<31>;    // EL1 is AArch64
using E2H = Bit<34>;   // VHE (passage runs with 0)
using FWB = Bit<46>;   // stage 2 forces the combined memory type
}  // namespace hcr
static_assert(hcr::RW::kMask == HCR_EL2_RW && hcr::E2H::kMask == HCR_EL2_E2H);

// SCTLR_ELx (D24.2.158): the bits passage sets, and each regime's RES1 bits.
namespace sctlr {
using M = Bit<0>;     // MMU on
using C = Bit<2>;     // data cacheable
using SA = Bit<3>;    // SP alignment check
using I = Bit<12>;    // instruction cacheable
using WXN = Bit<19>;  // writable means never executable
constexpr u64 kEl1Res1 = Bit<29>::kMask | Bit<28>::kMask | Bit<23>::kMask | Bit<22>::kMask | Bit<20>::kMask |
                         Bit<11>::kMask;
constexpr u64 kEl2Res1 = Bit<29>::kMask | Bit<28>::kMask | Bit<23>::kMask | Bit<22>::kMask | Bit<18>::kMask |
                         Bit<16>::kMask | Bit<11>::kMask | Bit<5>::kMask | Bit<4>::kMask;
static_assert(kEl1Res1 == 0x30D00800 && kEl2Res1 == 0x30C50830);
}  // namespace sctlr

// SCTLR_EL1 with its RES1 bits, MMU and caches off: the guest's first state.
constexpr u64 kSctlrEl1MmuOff = sctlr::kEl1Res1;

// TCR_ELx: the TTBR0 walk fields and their encodings are the ones TCR_EL2
// and VTCR_EL2 share (passage/tcr_fields.h); here TCR_EL1's own (D24.2.173)
// and TCR_EL2's RES1 bits (E2H = 0).
namespace tcr {
using namespace passage::tcr;
using EL1_EPD1 = Bit<23>;  // no TTBR1 walks
using EL1_IPS = Field<34, 32>;
constexpr u64 kEl2Res1 = Bit<31>::kMask | Bit<23>::kMask;
}  // namespace tcr

// ICC_SRE_EL2 (GICv3): the system-register interface for EL2, and for EL1.
namespace icc_sre {
using SRE = Bit<0>;
using Enable = Bit<3>;
}  // namespace icc_sre

// PAR_EL1 after an AT instruction (D24.2.118).
namespace par {
using F = Bit<0>;          // the translation faulted
using FST = Field<6, 1>;   // with F: the fault status
using PA = Field<47, 12>;
using ATTR = Field<63, 56>;  // without F: the combined MAIR encoding
}  // namespace par

// VMSAv8-64 stage-1 descriptors, 4 KiB granule (D8.3).
namespace s1desc {
using Type = Field<1, 0>;  // 0b01 block, 0b11 table (or page at level 3)
using AttrIndx = Field<4, 2>;
using AP = Field<7, 6>;    // 0: EL1 read/write
using SH = Field<9, 8>;
using AF = Bit<10>;
using OA = Field<47, 12>;  // output address (a table's, or a block's with its low bits clear)
using PXN = Bit<53>;
using UXN = Bit<54>;
constexpr u64 kBlock = 0b01, kTable = 0b11;
}  // namespace s1desc

// The ID register fields the arch layer itself reads (the rest:
// vcpu/el2_features.cpp).
namespace id {
using MMFR0_PARange = Field<3, 0>;
using MMFR2_FWB = Field<43, 40>;
}  // namespace id

}  // namespace passage::arch
