// Arm SMMUv3 register map and structure fields (Arm IHI 0070, "SMMU
// architecture version 3"), each declared once. Offsets are from the SMMU's
// base; page 1 starts at 0x10000 and holds the event queue's PROD/CONS
// (QEMU aliases them in page 0, which would hide a wrong offset).
#pragma once

#include "passage/bits.h"

namespace passage::iommu::reg {

// --- Registers (IHI 0070 6.3) ---
constexpr u32 kIdr0 = 0x00;
constexpr u32 kIdr1 = 0x04;
constexpr u32 kIdr3 = 0x0c;
constexpr u32 kIdr5 = 0x14;
constexpr u32 kCr0 = 0x20;
constexpr u32 kCr0Ack = 0x24;
constexpr u32 kCr1 = 0x28;
constexpr u32 kCr2 = 0x2c;
constexpr u32 kGbpa = 0x44;
constexpr u32 kIrqCtrl = 0x50;
constexpr u32 kIrqCtrlAck = 0x54;
constexpr u32 kGerror = 0x60;
constexpr u32 kGerrorN = 0x64;
constexpr u32 kStrtabBase = 0x80;     // 64-bit
constexpr u32 kStrtabBaseCfg = 0x88;
constexpr u32 kCmdqBase = 0x90;       // 64-bit
constexpr u32 kCmdqProd = 0x98;
constexpr u32 kCmdqCons = 0x9c;
constexpr u32 kEventqBase = 0xa0;     // 64-bit
constexpr u32 kEventqProd = 0x100a8;  // page 1
constexpr u32 kEventqCons = 0x100ac;  // page 1

// IDR0
using Idr0S2P = Bit<0>;
using Idr0S1P = Bit<1>;
using Idr0Ttf = Field<3, 2>;  // bit 3: AArch64 tables
using Idr0Cohacc = Bit<4>;
using Idr0Vmid16 = Bit<18>;
using Idr0StallModel = Field<25, 24>;  // 0 stall and terminate, 1 terminate only, 2 stall forced
using Idr0StLevel = Field<28, 27>;  // 0 linear only, 1 two-level too
// IDR1
using Idr1SidSize = Field<5, 0>;
using Idr1EventqS = Field<20, 16>;
using Idr1CmdqS = Field<25, 21>;
using Idr1QueuesPreset = Bit<29>;
using Idr1TablesPreset = Bit<30>;
// IDR3
using Idr3Fwb = Bit<8>;
// IDR5
using Idr5Oas = Field<2, 0>;  // 0 32, 1 36, 2 40, 3 42, 4 44, 5 48, 6 52 bits
using Idr5Gran4K = Bit<4>;

// CR0 / CR0ACK
using Cr0SmmuEn = Bit<0>;
using Cr0EventqEn = Bit<2>;
using Cr0CmdqEn = Bit<3>;
// CR1: how the SMMU reads its queues (bits 5:0) and its tables (11:6),
// the same three fields each. IC/OC 0 NC, 1 WB, 2 WT; SH 0 NSH, 2 OSH, 3 ISH.
template <unsigned Lsb>
struct Cr1Access {
    using Ic = Field<Lsb + 1, Lsb>;
    using Oc = Field<Lsb + 3, Lsb + 2>;
    using Sh = Field<Lsb + 5, Lsb + 4>;
    static constexpr u64 make(u64 cache, u64 share) { return Ic::make(cache) | Oc::make(cache) | Sh::make(share); }
};
using Cr1Queue = Cr1Access<0>;
using Cr1Table = Cr1Access<6>;
// CR2
using Cr2RecInvSid = Bit<1>;
using Cr2Ptm = Bit<2>;
// GBPA: global bypass attributes, in force while SMMUEN = 0.
using GbpaAbort = Bit<20>;
using GbpaUpdate = Bit<31>;
// GERROR / GERRORN: an error is active while the bits differ.
using GerrorCmdqErr = Bit<0>;
using GerrorEventqAbtErr = Bit<2>;
using GerrorSfmErr = Bit<8>;
constexpr u32 kGerrorKnown = 0x1fd;  // bits 0, 2-8
// STRTAB_BASE / STRTAB_BASE_CFG
using StrtabBaseAddr = Field<51, 6>;
using StrtabBaseRa = Bit<62>;
using StrtabCfgLog2Size = Field<5, 0>;
using StrtabCfgSplit = Field<10, 6>;
using StrtabCfgFmt = Field<17, 16>;  // 0 linear, 1 two-level
// A level-1 stream table descriptor: Span [4:0] (2^(Span-1) STEs, 0 =
// invalid), L2Ptr [51:6].
using L1Span = Field<4, 0>;
using L1L2Ptr = Field<51, 6>;
// CMDQ_BASE / EVENTQ_BASE
using QueueBaseLog2Size = Field<4, 0>;
using QueueBaseAddr = Field<51, 5>;
using QueueBaseAlloc = Bit<62>;  // RA for the command queue, WA for the event queue
// CMDQ_CONS / EVENTQ_PROD / EVENTQ_CONS
using CmdqConsErr = Field<30, 24>;
using QueueOverflow = Bit<31>;  // EVENTQ_PROD.OVFLG, EVENTQ_CONS.OVACKFLG

// CMDQ_CONS.ERR codes
constexpr u32 kCerrorNone = 0;
constexpr u32 kCerrorIll = 1;
constexpr u32 kCerrorAbt = 2;
constexpr u32 kCerrorAtcInvSync = 3;

// IDR5.OAS and VTCR_EL2.PS share one encoding: the size in bits.
constexpr unsigned oas_bits(u64 field)
{
    constexpr unsigned kBits[] = {32, 36, 40, 42, 44, 48, 52};
    return field < 7 ? kBits[field] : 52;
}

// --- Stream table entry (IHI 0070 5.2), 64 bytes ---
namespace ste {
// dword 0
using V = Bit<0>;
using Config = Field<3, 1>;
constexpr u64 kConfigAbort = 0b000;
constexpr u64 kConfigBypass = 0b100;
constexpr u64 kConfigS2 = 0b110;
// dword 1
using S2Fwb = Bit<25>;
using Eats = Field<29, 28>;
using Strw = Field<31, 30>;
using ShCfg = Field<45, 44>;  // 1: use the incoming shareability
// dword 2
using S2Vmid = Field<15, 0>;
using S2T0sz = Field<37, 32>;
using S2Sl0 = Field<39, 38>;
using S2Ir0 = Field<41, 40>;
using S2Or0 = Field<43, 42>;
using S2Sh0 = Field<45, 44>;
using S2Tg = Field<47, 46>;
using S2Ps = Field<50, 48>;
using S2Aa64 = Bit<51>;
using S2Endi = Bit<52>;
using S2Affd = Bit<53>;
using S2Ptw = Bit<54>;
using S2Hd = Bit<55>;
using S2Ha = Bit<56>;
using S2S = Bit<57>;
using S2R = Bit<58>;
// dword 3
using S2Ttb = Field<51, 4>;
}  // namespace ste

// --- Commands (IHI 0070 4), 16 bytes ---
namespace cmd {
using Opcode = Field<7, 0>;
constexpr u64 kCfgiSte = 0x03;
constexpr u64 kCfgiSteRange = 0x04;
constexpr u64 kTlbiS12Vmall = 0x28;
constexpr u64 kTlbiS2Ipa = 0x2a;
constexpr u64 kTlbiNsnhAll = 0x30;
constexpr u64 kSync = 0x46;
// dword 0
using Sid = Field<63, 32>;   // CFGI_STE
using Vmid = Field<47, 32>;  // TLBI_S12_VMALL, TLBI_S2_IPA
using SyncCs = Field<13, 12>;  // 0: no signal, completion seen in CMDQ_CONS
// dword 1
using Leaf = Bit<0>;         // CFGI_STE, TLBI_S2_IPA
using Range = Field<4, 0>;   // CFGI_STE_RANGE: 2^(Range+1) StreamIDs; 31 = all
using Ipa = Field<51, 12>;   // TLBI_S2_IPA: IPA[51:12], in place
}  // namespace cmd

// --- Event records (IHI 0070 7), 32 bytes ---
namespace evt {
// dword 0
using Type = Field<7, 0>;
using Ssv = Bit<11>;
using Ssid = Field<31, 12>;
using Sid = Field<63, 32>;
// dword 1 (record bits 97, 98, 99, 103, 105:104)
using PnU = Bit<33>;
using InD = Bit<34>;
using RnW = Bit<35>;  // 1: read
using S2 = Bit<39>;   // the fault is at stage 2
using Class = Field<41, 40>;
// dword 2: the input address. dword 3: the IPA for F_TRANSLATION,
// F_ADDR_SIZE, F_ACCESS and F_PERMISSION; the fetch address (a PA) for
// F_WALK_EABT, F_STE_FETCH and F_CD_FETCH; reserved for the others.
using Ipa = Field<51, 3>;
constexpr u64 kFUut = 0x01;
constexpr u64 kCBadStreamId = 0x02;
constexpr u64 kFSteFetch = 0x03;
constexpr u64 kCBadSte = 0x04;
constexpr u64 kFStreamDisabled = 0x06;
constexpr u64 kFTranslForbidden = 0x07;
constexpr u64 kCBadSubstreamId = 0x08;
constexpr u64 kFCdFetch = 0x09;
constexpr u64 kCBadCd = 0x0a;
constexpr u64 kFWalkEabt = 0x0b;
constexpr u64 kFTranslation = 0x10;
constexpr u64 kFAddrSize = 0x11;
constexpr u64 kFAccess = 0x12;
constexpr u64 kFPermission = 0x13;
constexpr u64 kFTlbConflict = 0x20;
constexpr u64 kFCfgConflict = 0x21;
}  // namespace evt

static_assert(ste::S2Ttb::kMask == 0x000f'ffff'ffff'fff0);
static_assert(cmd::Ipa::make(0x1234'5678'9000 >> 12) == 0x1234'5678'9000);
static_assert(oas_bits(4) == 44 && oas_bits(2) == 40);

}  // namespace passage::iommu::reg
