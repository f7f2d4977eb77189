// The EL2 registers the guest needs on this CPU model, from its ID registers.
//
// The guest runs at EL1 and must find every feature its ID registers show
// usable, as Linux's Documentation/arch/arm64/booting.rst ("entered at EL1")
// and Linux's own EL2 set-up require: an advertised feature whose EL2 enable
// is left clear traps to EL2 (or is UNDEFINED) at the guest's first use.
// el2_features.cpp holds the one table from feature to EL2 setting; the arch
// layer reads the ID registers and writes the registers marked present.
#pragma once

#include "passage/types.h"

namespace passage::vcpu {

// What the arch layer reads. The first group exists on every Armv8 CPU
// (unallocated ID registers read as zero). The second exists only where the
// first says so: the arch layer reads each only then and leaves it 0
// otherwise, as reading an absent register is UNDEFINED.
struct CpuIdRegs {
    u64 pfr0 = 0, pfr1 = 0, pfr2 = 0;
    u64 mmfr0 = 0, mmfr1 = 0, mmfr2 = 0, mmfr3 = 0, mmfr4 = 0;
    u64 isar1 = 0, isar2 = 0;
    u64 dfr0 = 0;
    u64 smfr0 = 0;  // ID_AA64SMFR0_EL1 (0 without SME)

    u64 pmcr = 0;     // PMCR_EL0, with an architected PMU (PMUVer not 0 or 0xf)
    u64 pmbidr = 0;   // PMBIDR_EL1, with SPE
    u64 pmsidr = 0;   // PMSIDR_EL1, with SPE the guest owns (PMBIDR_EL1.P = 0)
    u64 trbidr = 0;   // TRBIDR_EL1, with TRBE
    u64 smidr = 0;    // SMIDR_EL1, with SME
    u64 mpamidr = 0;  // MPAMIDR_EL1, with MPAM
    u64 amcgcr = 0;   // AMCGCR_EL0, with AMU
};

// The registers passage sets for the guest, in the order the arch layer
// writes them (CPTR_EL2 before ZCR_EL2/SMCR_EL2, which it may trap).
enum class El2Reg : u8 {
    Hcr,  // only the feature bits; make_guest_hw adds VM, TSC, RW, ...
    Hcrx,
    Cptr,
    Zcr,
    Smcr,
    Smprimap,
    Cnthctl,
    Hstr,
    Mdcr,
    Pmscr,
    Brbcr,
    Hfgrtr,
    Hfgwtr,
    Hfgitr,
    Hdfgrtr,
    Hdfgwtr,
    Hafgrtr,
    Hfgrtr2,
    Hfgwtr2,
    Hfgitr2,
    Hdfgrtr2,
    Hdfgwtr2,
    Mpam2,
    Mpamhcr,
    GcscrEl1,
    Gcscre0El1,
    LorcEl1,
    Amcntenset0,
    Amcntenset1,
    Count
};
constexpr usize kEl2RegCount = static_cast<usize>(El2Reg::Count);

const char* el2_reg_name(El2Reg r);

struct El2Config {
    u64 value[kEl2RegCount] = {};
    bool present[kEl2RegCount] = {};

    u64 get(El2Reg r) const { return value[static_cast<usize>(r)]; }
    bool has(El2Reg r) const { return present[static_cast<usize>(r)]; }
};

El2Config el2_config_for(const CpuIdRegs& id);

// Features that change PSTATE when passage injects an exception into EL1
// (inject.h's El1State): decided once from the ID registers, not per trap.
struct EntryFeatures {
    bool mte = false;  // FEAT_MTE: PSTATE.TCO is set on entry
    bool nmi = false;  // FEAT_NMI: PSTATE.ALLINT = !SCTLR_EL1.SPINTMASK
};
EntryFeatures entry_features_for(const CpuIdRegs& id);

// The feature identification registers beyond the ID_AA64 ones, each of
// which exists (and may be read: otherwise it is UNDEFINED) only where the
// ID_AA64 registers say so. Pmsidr also needs id.pmbidr read first: SPE
// owned by EL3 (PMBIDR_EL1.P) leaves it alone.
enum class IdReg : u8 { Smfr0, Smidr, Pmcr, Pmbidr, Pmsidr, Trbidr, Mpamidr, Amcgcr };
bool id_reg_exists(const CpuIdRegs& id, IdReg r);

// ID_AA64MMFR4_EL1.E2H0 negative: HCR_EL2.E2H is RES1, EL2 is VHE only
// (passage runs its EL2 with E2H = 0 and refuses such a CPU).
bool e2h_is_res1(u64 mmfr4);

// HCR_EL2 bits the table sets.
constexpr u64 kHcrAPK = u64{1} << 40;
constexpr u64 kHcrAPI = u64{1} << 41;
constexpr u64 kHcrEnSCXT = u64{1} << 53;
constexpr u64 kHcrATA = u64{1} << 56;

}  // namespace passage::vcpu
