#include "passage/vcpu/el2_features.h"

#include "passage/bits.h"

namespace passage::vcpu {
namespace {

// One field of one ID register, and what it must hold.
enum class Test : u8 { Always, AtLeast, Zero };
struct Cond {
    u64 CpuIdRegs::* reg = nullptr;
    u8 lo = 0;
    u8 width = 0;
    Test test = Test::Always;
    u8 n = 0;
    u8 max = 0xff;

    constexpr bool holds(const CpuIdRegs& id) const
    {
        if (test == Test::Always) return true;
        u64 v = (id.*reg >> lo) & ((u64{1} << width) - 1);
        switch (test) {
        case Test::AtLeast: return v >= n && v <= max;
        case Test::Zero: return v == 0;
        case Test::Always: break;
        }
        return true;
    }
};

constexpr Cond at_least(u64 CpuIdRegs::* reg, u8 hi, u8 lo, u8 n) { return {reg, lo, u8(hi - lo + 1), Test::AtLeast, n}; }
constexpr Cond zero(u64 CpuIdRegs::* reg, u8 bit) { return {reg, bit, 1, Test::Zero, 0}; }
constexpr Cond kAlways{};

// The features, named as in the Arm ARM (field bits from its ID register pages).
constexpr Cond kSve = at_least(&CpuIdRegs::pfr0, 35, 32, 1);
constexpr Cond kMpam = at_least(&CpuIdRegs::pfr0, 43, 40, 1);
constexpr Cond kMpamFrac = at_least(&CpuIdRegs::pfr1, 19, 16, 1);
constexpr Cond kCsv2_2 = at_least(&CpuIdRegs::pfr0, 59, 56, 2);
constexpr Cond kCsv2_1 = at_least(&CpuIdRegs::pfr0, 59, 56, 1);
constexpr Cond kCsv2Frac2 = at_least(&CpuIdRegs::pfr1, 35, 32, 2);
constexpr Cond kAmu = at_least(&CpuIdRegs::pfr0, 47, 44, 1);
constexpr Cond kMte2 = at_least(&CpuIdRegs::pfr1, 11, 8, 2);
constexpr Cond kSme = at_least(&CpuIdRegs::pfr1, 27, 24, 1);
constexpr Cond kGcs = at_least(&CpuIdRegs::pfr1, 47, 44, 1);
constexpr Cond kThe = at_least(&CpuIdRegs::pfr1, 51, 48, 1);
constexpr Cond kFpmr = at_least(&CpuIdRegs::pfr2, 35, 32, 1);
constexpr Cond kFgt = at_least(&CpuIdRegs::mmfr0, 59, 56, 1);
constexpr Cond kFgt2 = at_least(&CpuIdRegs::mmfr0, 59, 56, 2);
constexpr Cond kHcx = at_least(&CpuIdRegs::mmfr1, 43, 40, 1);
constexpr Cond kLor = at_least(&CpuIdRegs::mmfr1, 19, 16, 1);
constexpr Cond kTcr2 = at_least(&CpuIdRegs::mmfr3, 3, 0, 1);
constexpr Cond kSctlr2 = at_least(&CpuIdRegs::mmfr3, 7, 4, 1);
constexpr Cond kS1pie = at_least(&CpuIdRegs::mmfr3, 11, 8, 1);
constexpr Cond kS1poe = at_least(&CpuIdRegs::mmfr3, 19, 16, 1);
constexpr Cond kAie = at_least(&CpuIdRegs::mmfr3, 27, 24, 1);
constexpr Cond kApa = at_least(&CpuIdRegs::isar1, 7, 4, 1);
constexpr Cond kApi = at_least(&CpuIdRegs::isar1, 11, 8, 1);
constexpr Cond kGpa = at_least(&CpuIdRegs::isar1, 27, 24, 1);
constexpr Cond kGpi = at_least(&CpuIdRegs::isar1, 31, 28, 1);
constexpr Cond kLs64 = at_least(&CpuIdRegs::isar1, 63, 60, 1);
constexpr Cond kLs64V = at_least(&CpuIdRegs::isar1, 63, 60, 2);
constexpr Cond kLs64Accdata = at_least(&CpuIdRegs::isar1, 63, 60, 3);
constexpr Cond kGpa3 = at_least(&CpuIdRegs::isar2, 11, 8, 1);
constexpr Cond kApa3 = at_least(&CpuIdRegs::isar2, 15, 12, 1);
constexpr Cond kMops = at_least(&CpuIdRegs::isar2, 19, 16, 1);
// PMUVer 0xf is an IMPLEMENTATION DEFINED PMU, not a later version.
constexpr Cond kPmuV3p9 = {&CpuIdRegs::dfr0, 8, 4, Test::AtLeast, 9, 14};
constexpr Cond kSpe = at_least(&CpuIdRegs::dfr0, 35, 32, 1);
constexpr Cond kSpeV1p2 = at_least(&CpuIdRegs::dfr0, 35, 32, 3);
constexpr Cond kTrbe = at_least(&CpuIdRegs::dfr0, 47, 44, 1);
constexpr Cond kBrbe = at_least(&CpuIdRegs::dfr0, 55, 52, 1);
constexpr Cond kSmeFa64 = at_least(&CpuIdRegs::smfr0, 63, 63, 1);
constexpr Cond kSme2 = at_least(&CpuIdRegs::smfr0, 59, 56, 1);
constexpr Cond kSmePriorities = at_least(&CpuIdRegs::smidr, 15, 15, 1);  // SMIDR_EL1.SMPS
constexpr Cond kMpamHcr = at_least(&CpuIdRegs::mpamidr, 17, 17, 1);     // MPAMIDR_EL1.HAS_HCR
constexpr Cond kSpeAtEl2 = zero(&CpuIdRegs::pmbidr, 4);                  // PMBIDR_EL1.P: not owned by EL3
constexpr Cond kSpeFds = at_least(&CpuIdRegs::pmsidr, 7, 7, 1);           // PMSIDR_EL1.FDS
constexpr Cond kTrbeAtEl2 = zero(&CpuIdRegs::trbidr, 4);                 // TRBIDR_EL1.P

// Exists: the register is implemented (passage writes it). Set / Clear:
// bits of its value; every Set is applied before any Clear.
enum class Op : u8 { Exists, Set, Clear };

struct Rule {
    const char* feature;
    Cond a;
    Cond b;
    El2Reg reg;
    Op op;
    u64 bits;
};

constexpr u64 bit(unsigned n) { return u64{1} << n; }

// Nothing here is hidden from the guest: every feature below has the EL2
// setting that lets EL1 and EL0 use it, so no ID register needs trapping
// (HCR_EL2.TID3 stays clear, and the guest reads the CPU's own values).
// Features passage cannot hand over stay out of reach by other means:
// FEAT_NV/NV2 need a guest EL2, which passage does not give; the guest
// never sees one. The second-generation fine-grained traps (FGT2) are set
// to 0 as Linux sets them, which traps the few registers of features newer
// than this table (FEAT_SPMU, FEAT_STEP2, ...); such an access becomes an
// undefined instruction in the guest.
//
// SCTLR_EL2.EnTP2 is not here: it acts only in the EL2&0 regime (E2H = 1,
// TGE = 1), never on a guest at EL1 under an nVHE EL2.
// clang-format off
constexpr Rule kRules[] = {
    // Always there. CPTR_EL2 (E2H = 0): RES1 bits 13, 9, 7:0, and TSM (12)
    // and TZ (8) are RES1 on CPUs without SME or SVE; TFP, TTA, TAM and
    // TCPAC clear: nothing trapped. CNTHCTL_EL2: EL1PCTEN and EL1PCEN, the
    // physical counter and timer to EL1; ECV's offsets and traps clear.
    {"Armv8.0",           kAlways,       kAlways,       El2Reg::Hcr,         Op::Exists, 0},
    {"Armv8.0",           kAlways,       kAlways,       El2Reg::Cptr,        Op::Exists, 0},
    {"Armv8.0",           kAlways,       kAlways,       El2Reg::Cptr,        Op::Set,    0x33ff},
    {"Armv8.0",           kAlways,       kAlways,       El2Reg::Cnthctl,     Op::Exists, 0},
    {"Armv8.0",           kAlways,       kAlways,       El2Reg::Cnthctl,     Op::Set,    0b11},
    {"Armv8.0",           kAlways,       kAlways,       El2Reg::Hstr,        Op::Exists, 0},  // no CP15 traps
    {"Armv8.0",           kAlways,       kAlways,       El2Reg::Mdcr,        Op::Exists, 0},  // HPMN: below

    // Pointer authentication: keys and instructions without traps.
    {"FEAT_PAuth",        kApa,          kAlways,       El2Reg::Hcr,         Op::Set,    kHcrAPI | kHcrAPK},
    {"FEAT_PAuth",        kApi,          kAlways,       El2Reg::Hcr,         Op::Set,    kHcrAPI | kHcrAPK},
    {"FEAT_PAuth",        kGpa,          kAlways,       El2Reg::Hcr,         Op::Set,    kHcrAPI | kHcrAPK},
    {"FEAT_PAuth",        kGpi,          kAlways,       El2Reg::Hcr,         Op::Set,    kHcrAPI | kHcrAPK},
    {"FEAT_PAuth_QARMA3", kApa3,         kAlways,       El2Reg::Hcr,         Op::Set,    kHcrAPI | kHcrAPK},
    {"FEAT_PAuth_QARMA3", kGpa3,         kAlways,       El2Reg::Hcr,         Op::Set,    kHcrAPI | kHcrAPK},
    // SCXTNUM_EL0/EL1 (FEAT_CSV2_2, or FEAT_CSV2_1p2 through CSV2_frac):
    // without EnSCXT their accesses from EL1 and EL0 trap to EL2.
    {"FEAT_CSV2_2",       kCsv2_2,       kAlways,       El2Reg::Hcr,         Op::Set,    kHcrEnSCXT},
    {"FEAT_CSV2_1p2",     kCsv2_1,       kCsv2Frac2,    El2Reg::Hcr,         Op::Set,    kHcrEnSCXT},
    // MTE: allocation tags reachable from EL1 and EL0 (HCR_EL2.ATA).
    {"FEAT_MTE2",         kMte2,         kAlways,       El2Reg::Hcr,         Op::Set,    kHcrATA},

    // SVE and SME: no traps, the longest vector lengths the CPU has.
    {"FEAT_SVE",          kSve,          kAlways,       El2Reg::Cptr,        Op::Clear,  bit(8)},   // TZ
    {"FEAT_SVE",          kSve,          kAlways,       El2Reg::Zcr,         Op::Exists, 0},
    {"FEAT_SVE",          kSve,          kAlways,       El2Reg::Zcr,         Op::Set,    0xf},      // LEN
    {"FEAT_SME",          kSme,          kAlways,       El2Reg::Cptr,        Op::Clear,  bit(12)},  // TSM
    {"FEAT_SME",          kSme,          kAlways,       El2Reg::Smcr,        Op::Exists, 0},
    {"FEAT_SME",          kSme,          kAlways,       El2Reg::Smcr,        Op::Set,    0xf},      // LEN
    {"FEAT_SME_FA64",     kSme,          kSmeFa64,      El2Reg::Smcr,        Op::Set,    bit(31)},  // FA64
    {"FEAT_SME2",         kSme,          kSme2,         El2Reg::Smcr,        Op::Set,    bit(30)},  // EZT0
    {"FEAT_SME",          kSme,          kSmePriorities, El2Reg::Smprimap,   Op::Exists, 0},        // all priorities equal
    {"FEAT_SME",          kFgt,          kSme,          El2Reg::Hfgrtr,      Op::Set,    bit(55) | bit(54)},  // nTPIDR2_EL0, nSMPRI_EL1
    {"FEAT_SME",          kFgt,          kSme,          El2Reg::Hfgwtr,      Op::Set,    bit(55) | bit(54)},

    // HCRX_EL2 and the instructions and registers it enables.
    {"FEAT_HCX",          kHcx,          kAlways,       El2Reg::Hcrx,        Op::Exists, 0},
    // MOPS: CPY*/SET* at EL0 and EL1 (MSCEn); their exceptions from EL1 come
    // to passage (MCE2), which rewinds the guest (mops.cpp), as
    // Documentation/arch/arm64/mops.rst asks of a hypervisor.
    {"FEAT_MOPS",         kHcx,          kMops,         El2Reg::Hcrx,        Op::Set,    bit(11) | bit(10)},  // MSCEn, MCE2
    {"FEAT_TCR2",         kHcx,          kTcr2,         El2Reg::Hcrx,        Op::Set,    bit(14)},  // TCR2En
    {"FEAT_SCTLR2",       kHcx,          kSctlr2,       El2Reg::Hcrx,        Op::Set,    bit(15)},  // SCTLR2En
    {"FEAT_FPMR",         kHcx,          kFpmr,         El2Reg::Hcrx,        Op::Set,    bit(23)},  // EnFPM
    {"FEAT_GCS",          kHcx,          kGcs,          El2Reg::Hcrx,        Op::Set,    bit(22)},  // GCSEn
    {"FEAT_LS64",         kHcx,          kLs64,         El2Reg::Hcrx,        Op::Set,    bit(1)},   // EnALS
    {"FEAT_LS64_V",       kHcx,          kLs64V,        El2Reg::Hcrx,        Op::Set,    bit(2)},   // EnASR
    {"FEAT_LS64_ACCDATA", kHcx,          kLs64Accdata,  El2Reg::Hcrx,        Op::Set,    bit(0)},   // EnAS0

    // Fine-grained traps: the n-bits are traps when 0.
    {"FEAT_FGT",          kFgt,          kAlways,       El2Reg::Hfgrtr,      Op::Exists, 0},
    {"FEAT_FGT",          kFgt,          kAlways,       El2Reg::Hfgwtr,      Op::Exists, 0},
    {"FEAT_FGT",          kFgt,          kAlways,       El2Reg::Hfgitr,      Op::Exists, 0},
    {"FEAT_FGT",          kFgt,          kAlways,       El2Reg::Hdfgrtr,     Op::Exists, 0},
    {"FEAT_FGT",          kFgt,          kAlways,       El2Reg::Hdfgwtr,     Op::Exists, 0},
    {"FEAT_S1PIE",        kFgt,          kS1pie,        El2Reg::Hfgrtr,      Op::Set,    bit(58) | bit(57)},  // nPIR_EL1, nPIRE0_EL1
    {"FEAT_S1PIE",        kFgt,          kS1pie,        El2Reg::Hfgwtr,      Op::Set,    bit(58) | bit(57)},
    {"FEAT_S1POE",        kFgt,          kS1poe,        El2Reg::Hfgrtr,      Op::Set,    bit(60) | bit(59)},  // nPOR_EL1, nPOR_EL0
    {"FEAT_S1POE",        kFgt,          kS1poe,        El2Reg::Hfgwtr,      Op::Set,    bit(60) | bit(59)},
    {"FEAT_AIE",          kFgt,          kAie,          El2Reg::Hfgrtr,      Op::Set,    bit(63) | bit(62)},  // nAMAIR2_EL1, nMAIR2_EL1
    {"FEAT_AIE",          kFgt,          kAie,          El2Reg::Hfgwtr,      Op::Set,    bit(63) | bit(62)},
    {"FEAT_THE",          kFgt,          kThe,          El2Reg::Hfgrtr,      Op::Set,    bit(56)},  // nRCWMASK_EL1
    {"FEAT_THE",          kFgt,          kThe,          El2Reg::Hfgwtr,      Op::Set,    bit(56)},
    {"FEAT_GCS",          kFgt,          kGcs,          El2Reg::Hfgrtr,      Op::Set,    bit(53) | bit(52)},  // nGCS_EL1, nGCS_EL0
    {"FEAT_GCS",          kFgt,          kGcs,          El2Reg::Hfgwtr,      Op::Set,    bit(53) | bit(52)},
    {"FEAT_GCS",          kFgt,          kGcs,          El2Reg::Hfgitr,      Op::Set,    bit(59) | bit(58) | bit(57)},  // nGCSEPP, nGCSSTR_EL1, nGCSPUSHM_EL1
    {"FEAT_LS64_ACCDATA", kFgt,          kLs64Accdata,  El2Reg::Hfgrtr,      Op::Set,    bit(50)},  // nACCDATA_EL1
    {"FEAT_LS64_ACCDATA", kFgt,          kLs64Accdata,  El2Reg::Hfgwtr,      Op::Set,    bit(50)},
    {"FEAT_SPEv1p2",      kFgt,          kSpeV1p2,      El2Reg::Hdfgrtr,     Op::Set,    bit(62)},  // nPMSNEVFR_EL1
    {"FEAT_SPEv1p2",      kFgt,          kSpeV1p2,      El2Reg::Hdfgwtr,     Op::Set,    bit(62)},
    {"FEAT_BRBE",         kFgt,          kBrbe,         El2Reg::Hdfgrtr,     Op::Set,    bit(61) | bit(60) | bit(59)},  // nBRBDATA, nBRBCTL, nBRBIDR
    {"FEAT_BRBE",         kFgt,          kBrbe,         El2Reg::Hdfgwtr,     Op::Set,    bit(61) | bit(60)},
    {"FEAT_BRBE",         kFgt,          kBrbe,         El2Reg::Hfgitr,      Op::Set,    bit(56) | bit(55)},  // nBRBIALL, nBRBINJ
    {"FEAT_AMUv1",        kFgt,          kAmu,          El2Reg::Hafgrtr,     Op::Exists, 0},        // no activity-monitor traps
    {"FEAT_FGT2",         kFgt2,         kAlways,       El2Reg::Hfgrtr2,     Op::Exists, 0},
    {"FEAT_FGT2",         kFgt2,         kAlways,       El2Reg::Hfgwtr2,     Op::Exists, 0},
    {"FEAT_FGT2",         kFgt2,         kAlways,       El2Reg::Hfgitr2,     Op::Exists, 0},
    {"FEAT_FGT2",         kFgt2,         kAlways,       El2Reg::Hdfgrtr2,    Op::Exists, 0},
    {"FEAT_FGT2",         kFgt2,         kAlways,       El2Reg::Hdfgwtr2,    Op::Exists, 0},
    {"FEAT_PMUv3p9",      kFgt2,         kPmuV3p9,      El2Reg::Hdfgrtr2,    Op::Set,    bit(4) | bit(3) | bit(2)},  // nPMUACR_EL1, nPMICFILTR_EL0, nPMICNTR_EL0
    {"FEAT_PMUv3p9",      kFgt2,         kPmuV3p9,      El2Reg::Hdfgwtr2,    Op::Set,    bit(4) | bit(3) | bit(2)},
    // SPE data-source filter: Linux's SPE driver writes PMSDSFR_EL1 when
    // PMSIDR_EL1.FDS says it exists (booting.rst: nPMSDSFR_EL1 = 1).
    {"FEAT_SPE_FDS",      kFgt2,         kSpeFds,       El2Reg::Hdfgrtr2,    Op::Set,    bit(19)},  // nPMSDSFR_EL1
    {"FEAT_SPE_FDS",      kFgt2,         kSpeFds,       El2Reg::Hdfgwtr2,    Op::Set,    bit(19)},

    // Self-hosted debug and profiling owned by the guest: the profiling and
    // trace buffers in the EL1&0 regime (MDCR_EL2.E2PB, E2TB = 0b11) unless
    // EL3 keeps them (P); SPE may sample physical addresses and the physical
    // counter; BRBE may record cycle counts and mispredictions.
    {"FEAT_SPE",          kSpe,          kAlways,       El2Reg::Mdcr,        Op::Set,    u64{0b11} << 12},  // E2PB
    {"FEAT_SPE",          kSpe,          kSpeAtEl2,     El2Reg::Pmscr,       Op::Exists, 0},
    {"FEAT_SPE",          kSpe,          kSpeAtEl2,     El2Reg::Pmscr,       Op::Set,    bit(6) | bit(4)},  // PCT = 0b01, PA
    {"FEAT_TRBE",         kTrbe,         kTrbeAtEl2,    El2Reg::Mdcr,        Op::Set,    u64{0b11} << 24},  // E2TB
    {"FEAT_BRBE",         kBrbe,         kAlways,       El2Reg::Brbcr,       Op::Exists, 0},
    {"FEAT_BRBE",         kBrbe,         kAlways,       El2Reg::Brbcr,       Op::Set,    bit(4) | bit(3)},  // MPRED, CC

    // MPAM: the default partition, no traps of MPAM1_EL1/MPAM0_EL1
    // (MPAM2_EL2.TRAPMPAM1EL1/0EL1 = 0) or of MPAMIDR_EL1 (MPAMHCR_EL2).
    {"FEAT_MPAM",         kMpam,         kAlways,       El2Reg::Mpam2,       Op::Exists, 0},
    {"FEAT_MPAM",         kMpamFrac,     kAlways,       El2Reg::Mpam2,       Op::Exists, 0},
    {"FEAT_MPAM",         kMpam,         kSme,          El2Reg::Mpam2,       Op::Set,    bit(50)},  // EnMPAMSM
    {"FEAT_MPAM",         kMpamFrac,     kSme,          El2Reg::Mpam2,       Op::Set,    bit(50)},
    {"FEAT_MPAM",         kMpamHcr,      kAlways,       El2Reg::Mpamhcr,     Op::Exists, 0},

    // EL1 and EL0 state booting.rst wants at 0 on entry.
    {"FEAT_GCS",          kGcs,          kAlways,       El2Reg::GcscrEl1,    Op::Exists, 0},
    {"FEAT_GCS",          kGcs,          kAlways,       El2Reg::Gcscre0El1,  Op::Exists, 0},
    {"FEAT_LOR",          kLor,          kAlways,       El2Reg::LorcEl1,     Op::Exists, 0},
    // The four architected activity counters counting (AMCNTENSET1: below).
    {"FEAT_AMUv1",        kAmu,          kAlways,       El2Reg::Amcntenset0, Op::Exists, 0},
    {"FEAT_AMUv1",        kAmu,          kAlways,       El2Reg::Amcntenset0, Op::Set,    0xf},
};
// clang-format on

constexpr const char* kNames[kEl2RegCount] = {
    "HCR_EL2",      "HCRX_EL2",     "CPTR_EL2",     "ZCR_EL2",      "SMCR_EL2",        "SMPRIMAP_EL2",
    "CNTHCTL_EL2",  "HSTR_EL2",     "MDCR_EL2",     "PMSCR_EL2",    "BRBCR_EL2",       "HFGRTR_EL2",
    "HFGWTR_EL2",   "HFGITR_EL2",   "HDFGRTR_EL2",  "HDFGWTR_EL2",  "HAFGRTR_EL2",     "HFGRTR2_EL2",
    "HFGWTR2_EL2",  "HFGITR2_EL2",  "HDFGRTR2_EL2", "HDFGWTR2_EL2", "MPAM2_EL2",       "MPAMHCR_EL2",
    "GCSCR_EL1",    "GCSCRE0_EL1",  "LORC_EL1",     "AMCNTENSET0_EL0", "AMCNTENSET1_EL0",
};

using PmuVer = Field<11, 8>;
using PmcrN = Field<15, 11>;
using Cg1nc = Field<15, 8>;
using E2h0 = Field<27, 24>;

}  // namespace

const char* el2_reg_name(El2Reg r)
{
    usize i = static_cast<usize>(r);
    return i < kEl2RegCount ? kNames[i] : "?";
}

EntryFeatures entry_features_for(const CpuIdRegs& id)
{
    constexpr Cond kMte = at_least(&CpuIdRegs::pfr1, 11, 8, 1);
    constexpr Cond kNmi = at_least(&CpuIdRegs::pfr1, 39, 36, 1);
    return {kMte.holds(id), kNmi.holds(id)};
}

El2Config el2_config_for(const CpuIdRegs& id)
{
    El2Config c;
    constexpr Op kPasses[] = {Op::Exists, Op::Set, Op::Clear};
    for (Op pass : kPasses)
        for (const Rule& r : kRules) {
            if (r.op != pass || !r.a.holds(id) || !r.b.holds(id)) continue;
            usize i = static_cast<usize>(r.reg);
            if (r.op == Op::Exists) c.present[i] = true;
            if (r.op == Op::Set) c.value[i] |= r.bits;
            if (r.op == Op::Clear) c.value[i] &= ~r.bits;
        }

    // Values read from the CPU rather than fixed. MDCR_EL2.HPMN = PMCR_EL0.N:
    // every PMU counter to the guest, none kept for EL2 (an IMPLEMENTATION
    // DEFINED PMU, 0xf, has no PMCR_EL0 to read: HPMN stays 0).
    u64 pmu = PmuVer::get(id.dfr0);
    if (pmu != 0 && pmu != 0xf) c.value[static_cast<usize>(El2Reg::Mdcr)] |= PmcrN::get(id.pmcr);
    // AMCNTENSET1_EL0: every auxiliary activity counter the CPU has.
    if (kAmu.holds(id) && Cg1nc::get(id.amcgcr) != 0) {
        c.present[static_cast<usize>(El2Reg::Amcntenset1)] = true;
        c.value[static_cast<usize>(El2Reg::Amcntenset1)] = (u64{1} << Cg1nc::get(id.amcgcr)) - 1;
    }
    return c;
}

bool id_reg_exists(const CpuIdRegs& id, IdReg r)
{
    // An architected PMU: PMUVer 0xf is IMPLEMENTATION DEFINED.
    constexpr Cond kPmu = {&CpuIdRegs::dfr0, 8, 4, Test::AtLeast, 1, 14};
    switch (r) {
    case IdReg::Smfr0:
    case IdReg::Smidr: return kSme.holds(id);
    case IdReg::Pmcr: return kPmu.holds(id);
    case IdReg::Pmbidr: return kSpe.holds(id);
    case IdReg::Pmsidr: return kSpe.holds(id) && kSpeAtEl2.holds(id);
    case IdReg::Trbidr: return kTrbe.holds(id);
    case IdReg::Mpamidr: return kMpam.holds(id) || kMpamFrac.holds(id);
    case IdReg::Amcgcr: return kAmu.holds(id);
    }
    return false;
}

bool e2h_is_res1(u64 mmfr4) { return (E2h0::get(mmfr4) & 0x8) != 0; }  // a signed field

}  // namespace passage::vcpu
