// The EL2 register set passage gives the guest, from the ID registers of
// real CPU models (as passage logged them under QEMU: "CPU ID: ...") and of
// a made-up CPU with every feature QEMU lacks.
#include <catch2/catch.hpp>

#include "passage/vcpu/el2_features.h"

using namespace passage;
using namespace passage::vcpu;

namespace {

constexpr u64 bit(unsigned n) { return u64{1} << n; }

// QEMU 7.2 and 10.0 cortex-a72: Armv8.0, no SVE, no SME, PMUv3 with 6 counters.
CpuIdRegs cortex_a72()
{
    CpuIdRegs id;
    id.pfr0 = 0x0000000001000222;
    id.dfr0 = 0x0000000010305106;
    id.mmfr0 = 0x0000000000001124;
    id.pmcr = 0x41023000;
    return id;
}

// Neoverse N1 as QEMU's target/arm/cpu64.c describes the hardware: Armv8.2,
// LOR, SPE (which QEMU itself then hides), no pointer authentication.
CpuIdRegs neoverse_n1()
{
    CpuIdRegs id;
    id.pfr0 = 0x1100000011111112;
    id.pfr1 = 0x0000000000000020;
    id.dfr0 = 0x0000000110305408;
    id.mmfr0 = 0x0000000000101125;
    id.mmfr1 = 0x0000000010212122;
    id.mmfr2 = 0x0000000000001011;
    id.isar1 = 0x0000000000100001;
    id.pmcr = 0x410c3000;
    return id;
}

// QEMU 10.0 neoverse-n2: Armv9.0, SVE2, pointer authentication, no FGT.
CpuIdRegs neoverse_n2()
{
    CpuIdRegs id;
    id.pfr0 = 0x1201001121110112;
    id.pfr1 = 0x0000000000000121;
    id.dfr0 = 0x000000f010305609;
    id.mmfr0 = 0x0000022200101125;
    id.mmfr1 = 0x0000000010212122;
    id.mmfr2 = 0x1221011112101011;
    id.isar1 = 0x0011111110211502;
    id.pmcr = 0x3000;
    return id;
}

// QEMU 10.0 -cpu max: SVE2, SME (FA64, not SME2), FGT, HCX, MOPS, MTE
// instructions only (no tag memory without -machine mte=on).
CpuIdRegs qemu10_max()
{
    CpuIdRegs id;
    id.pfr0 = 0x1301001121110222;
    id.pfr1 = 0x0000001001000121;
    id.dfr0 = 0x100000001030560a;
    id.mmfr0 = 0x2100032310201126;
    id.mmfr1 = 0x0110112010312122;
    id.mmfr2 = 0x1221011112011011;
    id.mmfr3 = 0x1000000000000000;
    id.isar1 = 0x0111211110211502;
    id.isar2 = 0x0000000000110012;
    id.smfr0 = 0x80f100fd00000000;
    id.smidr = 0;
    id.pmcr = 0x41013000;
    return id;
}

// Every feature of the table at once, as no QEMU model has them: SME2 with
// priorities, GCS, THE, FPMR, FGT2, TCR2, SCTLR2, S1PIE, S1POE, AIE,
// LS64_ACCDATA, MOPS, PMUv3p9, SPEv1p2, TRBE, BRBE, AMU with 3 auxiliary
// counters, MPAM with MPAMHCR_EL2, MTE2.
CpuIdRegs everything()
{
    CpuIdRegs id;
    id.pfr0 = (u64{1} << 44) | (u64{1} << 40) | (u64{1} << 32) | 0x1111;  // AMU, MPAM, SVE
    id.pfr1 = (u64{1} << 48) | (u64{1} << 44) | (u64{2} << 24) | (u64{3} << 8);  // THE, GCS, SME2, MTE3
    id.pfr2 = u64{1} << 32;                                                 // FPMR
    id.mmfr0 = u64{2} << 56;                                                // FGT2
    id.mmfr1 = (u64{1} << 40) | (u64{1} << 16);                             // HCX, LO
    id.mmfr3 = (u64{1} << 24) | (u64{1} << 16) | (u64{1} << 8) | (u64{1} << 4) | 1;  // AIE, S1POE, S1PIE, SCTLRX, TCRX
    id.isar1 = (u64{3} << 60) | (u64{1} << 4);                              // LS64_ACCDATA, APA
    id.isar2 = u64{1} << 16;                                                // MOPS
    id.dfr0 = (u64{1} << 52) | (u64{1} << 44) | (u64{3} << 32) | (u64{9} << 8);  // BRBE, TRBE, SPEv1p2, PMUv3p9
    id.smfr0 = (u64{1} << 63) | (u64{1} << 56);                             // FA64, SME2
    id.smidr = bit(15);                                                     // SMPS
    id.mpamidr = bit(17);                                                   // HAS_HCR
    id.amcgcr = u64{3} << 8;                                                // CG1NC = 3
    id.pmcr = 20 << 11;
    return id;
}

}  // namespace

TEST_CASE("el2 features: cortex-a72 gets the Armv8.0 set with CPTR_EL2 TZ and TSM as RES1")
{
    El2Config c = el2_config_for(cortex_a72());
    CHECK(c.get(El2Reg::Cptr) == 0x33ff);  // RES1 13 12 9 8 7:0, TFP clear
    CHECK(c.get(El2Reg::Hcr) == 0);       // no pointer authentication, no MTE
    CHECK(c.get(El2Reg::Cnthctl) == 0b11);
    CHECK(c.has(El2Reg::Hstr));
    CHECK(c.get(El2Reg::Hstr) == 0);
    CHECK(c.get(El2Reg::Mdcr) == 6);  // HPMN = PMCR_EL0.N, no traps
    for (El2Reg r : {El2Reg::Hcrx, El2Reg::Zcr, El2Reg::Smcr, El2Reg::Hfgrtr, El2Reg::Hfgitr, El2Reg::Hdfgrtr,
                     El2Reg::Hafgrtr, El2Reg::Hfgrtr2, El2Reg::Pmscr, El2Reg::Brbcr, El2Reg::Mpam2, El2Reg::LorcEl1,
                     El2Reg::Amcntenset0, El2Reg::GcscrEl1}) {
        INFO(el2_reg_name(r));
        CHECK_FALSE(c.has(r));
    }
}

TEST_CASE("el2 features: neoverse-n1 clears LORC_EL1 and hands SPE to the guest")
{
    El2Config c = el2_config_for(neoverse_n1());
    CHECK(c.get(El2Reg::Cptr) == 0x33ff);
    CHECK(c.get(El2Reg::Hcr) == 0);
    CHECK(c.has(El2Reg::LorcEl1));
    CHECK(c.get(El2Reg::Mdcr) == ((u64{3} << 12) | 6));  // E2PB: the EL1&0 regime owns the buffer
    CHECK(c.get(El2Reg::Pmscr) == ((u64{1} << 6) | (u64{1} << 4)));
    CHECK_FALSE(c.has(El2Reg::Brbcr));
    CHECK_FALSE(c.has(El2Reg::Hcrx));
    CHECK_FALSE(c.has(El2Reg::Hfgrtr));
    CHECK_FALSE(c.has(El2Reg::Zcr));
}

TEST_CASE("el2 features: neoverse-n2 gets SVE untrapped at full length and pointer authentication")
{
    El2Config c = el2_config_for(neoverse_n2());
    CHECK(c.get(El2Reg::Cptr) == 0x32ff);  // TZ clear, TSM still RES1
    CHECK(c.has(El2Reg::Zcr));
    CHECK(c.get(El2Reg::Zcr) == 0xf);
    CHECK_FALSE(c.has(El2Reg::Smcr));
    CHECK(c.get(El2Reg::Hcr) == (kHcrAPI | kHcrAPK | kHcrEnSCXT));  // CSV2 2: SCXTNUM_ELx
    CHECK_FALSE(c.has(El2Reg::Hcrx));
}

TEST_CASE("el2 features: QEMU 10 max gets HCRX_EL2 MSCEn and MCE2 for MOPS")
{
    El2Config c = el2_config_for(qemu10_max());
    REQUIRE(c.has(El2Reg::Hcrx));
    CHECK(c.get(El2Reg::Hcrx) == (bit(11) | bit(10)));  // MSCEn, MCE2 and nothing else
    CHECK(c.get(El2Reg::Cptr) == 0x22ff);               // TZ and TSM clear
    CHECK(c.get(El2Reg::Smcr) == (bit(31) | 0xf));      // FA64, no EZT0 without SME2
    CHECK_FALSE(c.has(El2Reg::Smprimap));               // SMIDR_EL1.SMPS = 0
    CHECK(c.get(El2Reg::Hcr) == (kHcrAPI | kHcrAPK | kHcrEnSCXT));  // MTE instructions only: no ATA; CSV2 3
    u64 sme_regs = bit(55) | bit(54);                   // nTPIDR2_EL0, nSMPRI_EL1
    CHECK(c.get(El2Reg::Hfgrtr) == sme_regs);
    CHECK(c.get(El2Reg::Hfgwtr) == sme_regs);
    CHECK(c.has(El2Reg::Hfgitr));
    CHECK(c.get(El2Reg::Hfgitr) == 0);
    CHECK(c.has(El2Reg::Hdfgrtr));
    CHECK_FALSE(c.has(El2Reg::Hafgrtr));  // no AMU: HAFGRTR_EL2 is UNDEFINED
    CHECK_FALSE(c.has(El2Reg::Hfgrtr2));  // FGT, not FGT2
    CHECK(c.get(El2Reg::Mdcr) == 6);
}

TEST_CASE("el2 features: MTE with tag memory sets HCR_EL2.ATA")
{
    CpuIdRegs id = qemu10_max();
    id.pfr1 = (id.pfr1 & ~(u64{0xf} << 8)) | (u64{2} << 8);  // -machine virt,mte=on
    CHECK((el2_config_for(id).get(El2Reg::Hcr) & kHcrATA) != 0);
}

TEST_CASE("el2 features: a CPU with every feature leaves nothing it advertises trapped")
{
    El2Config c = el2_config_for(everything());
    CHECK(c.get(El2Reg::Hcr) == (kHcrAPI | kHcrAPK | kHcrATA));
    // MOPS, TCR2, SCTLR2, FPMR, GCS, LS64 LS64_V LS64_ACCDATA
    CHECK(c.get(El2Reg::Hcrx) ==
          (bit(11) | bit(10) | bit(14) | bit(15) | bit(23) | bit(22) | bit(1) | bit(2) | bit(0)));
    u64 fgt = bit(55) | bit(54) | bit(58) | bit(57) | bit(60) | bit(59) | bit(63) | bit(62) | bit(56) | bit(53) |
              bit(52) | bit(50);
    CHECK(c.get(El2Reg::Hfgrtr) == fgt);
    CHECK(c.get(El2Reg::Hfgwtr) == fgt);
    CHECK(c.get(El2Reg::Hfgitr) == (bit(59) | bit(58) | bit(57) | bit(56) | bit(55)));
    CHECK(c.get(El2Reg::Hdfgrtr) == (bit(62) | bit(61) | bit(60) | bit(59)));
    CHECK(c.get(El2Reg::Hdfgwtr) == (bit(62) | bit(61) | bit(60)));  // BRBIDR_EL1 is read-only
    CHECK(c.has(El2Reg::Hafgrtr));
    CHECK(c.get(El2Reg::Hafgrtr) == 0);
    for (El2Reg r : {El2Reg::Hfgrtr2, El2Reg::Hfgwtr2, El2Reg::Hfgitr2}) {
        INFO(el2_reg_name(r));
        CHECK(c.has(r));
        CHECK(c.get(r) == 0);
    }
    CHECK(c.get(El2Reg::Hdfgrtr2) == (bit(4) | bit(3) | bit(2)));
    CHECK(c.get(El2Reg::Hdfgwtr2) == (bit(4) | bit(3) | bit(2)));
    CHECK(c.get(El2Reg::Cptr) == 0x22ff);
    CHECK(c.get(El2Reg::Smcr) == (bit(31) | bit(30) | 0xf));  // FA64, EZT0
    CHECK(c.has(El2Reg::Smprimap));
    CHECK(c.get(El2Reg::Smprimap) == 0);
    CHECK(c.get(El2Reg::Mdcr) == ((u64{3} << 24) | (u64{3} << 12) | 20));  // E2TB, E2PB, HPMN
    CHECK(c.get(El2Reg::Pmscr) == (bit(6) | bit(4)));                      // PCT physical, PA
    CHECK(c.get(El2Reg::Brbcr) == (bit(4) | bit(3)));                      // MPRED, CC
    CHECK(c.get(El2Reg::Mpam2) == bit(50));                                // EnMPAMSM, no traps
    CHECK(c.has(El2Reg::Mpamhcr));
    CHECK(c.get(El2Reg::Mpamhcr) == 0);
    CHECK(c.has(El2Reg::GcscrEl1));
    CHECK(c.has(El2Reg::Gcscre0El1));
    CHECK(c.get(El2Reg::Amcntenset0) == 0xf);
    CHECK(c.get(El2Reg::Amcntenset1) == 0x7);
}

TEST_CASE("el2 features: SPE and TRBE kept by EL3 stay with EL3")
{
    CpuIdRegs id = everything();
    id.pmbidr = bit(4);  // P: the profiling buffer is owned by a higher EL
    id.trbidr = bit(4);
    El2Config c = el2_config_for(id);
    CHECK_FALSE(c.has(El2Reg::Pmscr));
    CHECK(((c.get(El2Reg::Mdcr) >> 24) & 3) == 0);  // E2TB: not handed to EL1
    CHECK(((c.get(El2Reg::Mdcr) >> 12) & 3) == 3);  // E2PB as Linux sets it
}

// booting.rst: with FEAT_SPE_FDS (PMSIDR_EL1.FDS, bit 7) entered at EL1,
// HDFGRTR2_EL2/HDFGWTR2_EL2.nPMSDSFR_EL1 (bit 19) = 1, or Linux's SPE
// driver takes an UNDEF on its first PMSDSFR_EL1 write.
TEST_CASE("el2 features: SPE data-source filtering leaves PMSDSFR_EL1 untrapped")
{
    CpuIdRegs id = everything();
    id.pmsidr = bit(7);
    El2Config c = el2_config_for(id);
    CHECK(c.get(El2Reg::Hdfgrtr2) == (bit(19) | bit(4) | bit(3) | bit(2)));
    CHECK(c.get(El2Reg::Hdfgwtr2) == (bit(19) | bit(4) | bit(3) | bit(2)));
    id.pmsidr = 0;
    CHECK(el2_config_for(id).get(El2Reg::Hdfgrtr2) == (bit(4) | bit(3) | bit(2)));
}

// Arm ARM HCR_EL2.EnSCXT: with FEAT_CSV2_2 or FEAT_CSV2_1p2 and EnSCXT = 0,
// EL1 and EL0 accesses to SCXTNUM_EL1/EL0 trap to EL2 (where passage
// could only answer with an UNDEF for a register the ID registers show).
TEST_CASE("el2 features: SCXTNUM_ELx of FEAT_CSV2_2 and FEAT_CSV2_1p2 are not trapped")
{
    CpuIdRegs id = cortex_a72();
    CHECK((el2_config_for(id).get(El2Reg::Hcr) & kHcrEnSCXT) == 0);  // CSV2 0
    id.pfr0 |= u64{2} << 56;
    CHECK((el2_config_for(id).get(El2Reg::Hcr) & kHcrEnSCXT) != 0);
    id = cortex_a72();
    id.pfr0 |= u64{1} << 56;
    CHECK((el2_config_for(id).get(El2Reg::Hcr) & kHcrEnSCXT) == 0);  // CSV2 1 without the fraction
    id.pfr1 |= u64{2} << 32;
    CHECK((el2_config_for(id).get(El2Reg::Hcr) & kHcrEnSCXT) != 0);
}

TEST_CASE("el2 features: an IMPLEMENTATION DEFINED PMU is not PMUv3p9 and has no HPMN")
{
    CpuIdRegs id = everything();
    id.dfr0 = (id.dfr0 & ~(u64{0xf} << 8)) | (u64{0xf} << 8);
    El2Config c = el2_config_for(id);
    CHECK((c.get(El2Reg::Mdcr) & 0x1f) == 0);
    CHECK(c.get(El2Reg::Hdfgrtr2) == 0);
}

TEST_CASE("el2 features: MPAM without MPAMHCR_EL2 and MPAM from the fraction field alone")
{
    CpuIdRegs id = cortex_a72();
    id.pfr1 = u64{1} << 16;  // MPAM_frac = 1, MPAM = 0: MPAM v0.1
    El2Config c = el2_config_for(id);
    CHECK(c.has(El2Reg::Mpam2));
    CHECK(c.get(El2Reg::Mpam2) == 0);
    CHECK_FALSE(c.has(El2Reg::Mpamhcr));
}

TEST_CASE("el2 features: a negative ID_AA64MMFR4_EL1.E2H0 means E2H is RES1")
{
    CHECK(e2h_is_res1(u64{0xe} << 24));  // NI_NV1: VHE only
    CHECK(e2h_is_res1(u64{0xf} << 24));  // NI
    CHECK_FALSE(e2h_is_res1(0));         // E2H0 implemented
    CHECK_FALSE(e2h_is_res1(0x00ff00ff00ffffff & ~(u64{0xf} << 24)));
}

TEST_CASE("el2 features: every register has a name")
{
    for (usize i = 0; i < kEl2RegCount; ++i) CHECK(std::string(el2_reg_name(static_cast<El2Reg>(i))) != "?");
    CHECK(std::string(el2_reg_name(El2Reg::Amcntenset1)) == "AMCNTENSET1_EL0");
}

TEST_CASE("el2 features: MTE and NMI from ID_AA64PFR1_EL1 decide PSTATE on injected entries")
{
    CpuIdRegs id;
    CHECK_FALSE(entry_features_for(id).mte);
    CHECK_FALSE(entry_features_for(id).nmi);
    id.pfr1 = u64{1} << 8;  // MTE = 1: instructions only, TCO still exists
    CHECK(entry_features_for(id).mte);
    CHECK_FALSE(entry_features_for(id).nmi);
    id.pfr1 = u64{1} << 36;  // NMI = 1
    CHECK_FALSE(entry_features_for(id).mte);
    CHECK(entry_features_for(id).nmi);
}

// Reading a feature identification register the CPU does not have is
// UNDEFINED at EL2: the arch layer reads only what id_reg_exists says.
TEST_CASE("el2 features: only the identification registers a CPU has are read")
{
    const CpuIdRegs a72 = cortex_a72();
    for (IdReg r : {IdReg::Smfr0, IdReg::Smidr, IdReg::Pmbidr, IdReg::Pmsidr, IdReg::Trbidr, IdReg::Mpamidr,
                    IdReg::Amcgcr})
        CHECK_FALSE(id_reg_exists(a72, r));
    CHECK(id_reg_exists(a72, IdReg::Pmcr));  // PMUv3

    const CpuIdRegs n1 = neoverse_n1();
    CHECK(id_reg_exists(n1, IdReg::Pmbidr));
    CHECK(id_reg_exists(n1, IdReg::Pmsidr));  // SPE the guest owns
    CpuIdRegs el3_spe = n1;
    el3_spe.pmbidr = u64{1} << 4;  // PMBIDR_EL1.P: EL3 owns the buffer
    CHECK_FALSE(id_reg_exists(el3_spe, IdReg::Pmsidr));

    const CpuIdRegs all = everything();
    for (IdReg r : {IdReg::Smfr0, IdReg::Smidr, IdReg::Pmcr, IdReg::Pmbidr, IdReg::Trbidr, IdReg::Mpamidr,
                    IdReg::Amcgcr})
        CHECK(id_reg_exists(all, r));

    CpuIdRegs imp_def_pmu = a72;
    imp_def_pmu.dfr0 = (imp_def_pmu.dfr0 & ~(u64{0xf} << 8)) | (u64{0xf} << 8);
    CHECK_FALSE(id_reg_exists(imp_def_pmu, IdReg::Pmcr));
}
