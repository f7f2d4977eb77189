#include "guest.h"

#include "asm_defs.h"
#include "machine.h"
#include "mmu.h"
#include "passage/format.h"
#include "passage/log.h"
#include "passage/panic.h"
#include "psci.h"
#include "spinlock.h"
#include "sysreg.h"
#include "sysreg_fields.h"

extern "C" {
extern unsigned char passage_stacks[MAX_CPUS][STACK_SIZE];
void secondary_entry();
}

namespace passage::arch {

constinit GuestContext* g_cpu_guest[MAX_CPUS] = {};

namespace {

using ull = unsigned long long;

struct BootRecord {
    u64 entry = 0;
    u64 context = 0;
};

// Per physical CPU: what it enters. Cleaned to memory before CPU_ON (the
// new CPU starts with its MMU off).
struct SharedState {
    BootRecord boot[MAX_CPUS];
};

SharedState g_shared;

u64 stack_top(usize cpu) { return reinterpret_cast<u64>(&passage_stacks[cpu][0]) + STACK_SIZE; }

}  // namespace

CpuFeaturesEl2 read_cpu_features()
{
    CpuFeaturesEl2 f;
    vcpu::CpuIdRegs& id = f.id;
    id.pfr0 = read_id_aa64pfr0_el1();
    id.pfr1 = read_id_aa64pfr1_el1();
    id.pfr2 = read_id_aa64pfr2_el1();
    id.mmfr0 = read_id_aa64mmfr0_el1();
    id.mmfr1 = read_id_aa64mmfr1_el1();
    id.mmfr2 = read_id_aa64mmfr2_el1();
    id.mmfr3 = read_id_aa64mmfr3_el1();
    id.mmfr4 = read_id_aa64mmfr4_el1();
    id.isar1 = read_id_aa64isar1_el1();
    id.isar2 = read_id_aa64isar2_el1();
    id.dfr0 = read_id_aa64dfr0_el1();
    // The rest exists only where these say so (el2_features: UNDEFINED otherwise).
    using vcpu::IdReg;
    const auto exists = [&id](IdReg r) { return vcpu::id_reg_exists(id, r); };
    if (exists(IdReg::Smfr0)) id.smfr0 = read_id_aa64smfr0_el1();
    if (exists(IdReg::Smidr)) id.smidr = read_smidr_el1();
    if (exists(IdReg::Pmcr)) id.pmcr = read_pmcr_el0();
    if (exists(IdReg::Pmbidr)) id.pmbidr = read_pmbidr_el1();
    if (exists(IdReg::Pmsidr)) id.pmsidr = read_pmsidr_el1();  // after PMBIDR: P = 1, EL3 owns SPE
    if (exists(IdReg::Trbidr)) id.trbidr = read_trbidr_el1();
    if (exists(IdReg::Mpamidr)) id.mpamidr = read_mpamidr_el1();
    if (exists(IdReg::Amcgcr)) id.amcgcr = read_amcgcr_el0();
    f.fwb = id::MMFR2_FWB::get(id.mmfr2) != 0;
    return f;
}

namespace {

// The ID registers and what passage makes of them: the facts to check a
// board's boot log against (and the values of tests/unit/vcpu/el2_features_test.cpp).
void log_el2_config(const vcpu::CpuIdRegs& id, const vcpu::El2Config& c)
{
    log_info("CPU ID: PFR0 %016llx PFR1 %016llx PFR2 %016llx DFR0 %016llx", (ull)id.pfr0, (ull)id.pfr1, (ull)id.pfr2,
             (ull)id.dfr0);
    log_info("CPU ID: MMFR0 %016llx MMFR1 %016llx MMFR2 %016llx MMFR3 %016llx MMFR4 %016llx", (ull)id.mmfr0,
             (ull)id.mmfr1, (ull)id.mmfr2, (ull)id.mmfr3, (ull)id.mmfr4);
    log_info("CPU ID: ISAR1 %016llx ISAR2 %016llx SMFR0 %016llx PMCR %llx", (ull)id.isar1, (ull)id.isar2,
             (ull)id.smfr0, (ull)id.pmcr);
    char line[160];
    usize len = 0;
    for (usize i = 0; i < vcpu::kEl2RegCount; ++i) {
        if (!c.present[i]) continue;
        len += format(line + len, sizeof line - len, " %s=%llx", vcpu::el2_reg_name(static_cast<vcpu::El2Reg>(i)),
                      (ull)c.value[i]);
        if (len > 100) {
            log_info("EL2 for the guest:%s", line);
            len = 0;
        }
    }
    if (len) log_info("EL2 for the guest:%s", line);
}

}  // namespace

GuestHw make_guest_hw(const CpuFeaturesEl2& f, GicVersion gic, u64 vtcr, u64 vttbr, stage2::Encoding enc)
{
    GuestHw hw;
    hw.el2 = vcpu::el2_config_for(f.id);
    hw.entry = vcpu::entry_features_for(f.id);
    hw.entry_rules = vcpu::EntryRules(hw.entry.mte, hw.entry.nmi);
    // VM: stage 2 on. SWIO: set/way invalidates become clean+invalidate.
    // TSC: the guest's SMCs (PSCI) come to passage. RW: EL1 is AArch64.
    // IMO/FMO/AMO clear: the guest owns the physical GIC and takes its own
    // interrupts. The features' bits (API/APK, ATA): el2_features.cpp.
    hw.hcr = hcr::VM::kMask | hcr::SWIO::kMask | hcr::TSC::kMask | hcr::RW::kMask | hw.el2.get(vcpu::El2Reg::Hcr);
    if (enc.fwb) hw.hcr |= hcr::FWB::kMask;
    hw.vtcr = vtcr;
    hw.vttbr = vttbr;
    hw.gicv3 = gic == GicVersion::V3;
    hw.encoding = enc;
    log_el2_config(f.id, hw.el2);
    return hw;
}

namespace {

// One register of the feature table; HCR_EL2 is written last, with the rest.
void write_el2_reg(vcpu::El2Reg r, u64 v)
{
    using R = vcpu::El2Reg;
    switch (r) {
    case R::Hcr: return;
    case R::Hcrx: write_hcrx_el2(v); return;
    case R::Cptr:
        write_cptr_el2(v);
        isb();  // ZCR_EL2 and SMCR_EL2 come next: not trapped any more
        return;
    case R::Zcr: write_zcr_el2(v); return;
    case R::Smcr: write_smcr_el2(v); return;
    case R::Smprimap: write_smprimap_el2(v); return;
    case R::Cnthctl: write_cnthctl_el2(v); return;
    case R::Hstr: write_hstr_el2(v); return;
    case R::Mdcr: write_mdcr_el2(v); return;
    case R::Pmscr: write_pmscr_el2(v); return;
    case R::Brbcr: write_brbcr_el2(v); return;
    case R::Hfgrtr: write_hfgrtr_el2(v); return;
    case R::Hfgwtr: write_hfgwtr_el2(v); return;
    case R::Hfgitr: write_hfgitr_el2(v); return;
    case R::Hdfgrtr: write_hdfgrtr_el2(v); return;
    case R::Hdfgwtr: write_hdfgwtr_el2(v); return;
    case R::Hafgrtr: write_hafgrtr_el2(v); return;
    case R::Hfgrtr2: write_hfgrtr2_el2(v); return;
    case R::Hfgwtr2: write_hfgwtr2_el2(v); return;
    case R::Hfgitr2: write_hfgitr2_el2(v); return;
    case R::Hdfgrtr2: write_hdfgrtr2_el2(v); return;
    case R::Hdfgwtr2: write_hdfgwtr2_el2(v); return;
    case R::Mpam2: write_mpam2_el2(v); return;
    case R::Mpamhcr: write_mpamhcr_el2(v); return;
    case R::GcscrEl1: write_gcscr_el1(v); return;
    case R::Gcscre0El1: write_gcscre0_el1(v); return;
    case R::LorcEl1: write_lorc_el1(v); return;
    case R::Amcntenset0: write_amcntenset0_el0(v); return;
    case R::Amcntenset1: write_amcntenset1_el0(v); return;
    case R::Count: return;
    }
}

}  // namespace

void configure_el2_for_guest(const GuestHw& hw)
{
    for (usize i = 0; i < vcpu::kEl2RegCount; ++i)
        if (hw.el2.present[i]) write_el2_reg(static_cast<vcpu::El2Reg>(i), hw.el2.value[i]);
    isb();
    write_cntvoff_el2(0);
    write_vpidr_el2(read_midr_el1());
    write_vmpidr_el2(read_mpidr_el1());
    if (hw.gicv3) {
        write_icc_sre_el2(read_icc_sre_el2() | icc_sre::SRE::kMask | icc_sre::Enable::kMask);  // EL1 may use them too
        isb();
        write_ich_hcr_el2(0);
    }
    write_sctlr_el1(kSctlrEl1MmuOff);
    write_vtcr_el2(hw.vtcr);
    write_vttbr_el2(hw.vttbr);
    write_hcr_el2(hw.hcr);
    isb();
    asm volatile("tlbi vmalls12e1is" ::: "memory");
    dsb_ish();
    isb();
}


i64 start_cpu(GuestContext& guest, usize cpu, u64 entry, u64 context)
{
    PASSAGE_CHECK(cpu < MAX_CPUS && cpu < guest.cpus->count);  // PSCI checked it against the guest's CPUs
    g_shared.boot[cpu] = {entry, context};
    g_cpu_guest[cpu] = &guest;
    // The new CPU reads these with its MMU off, straight from memory.
    dcache_clean_inval_poc(reinterpret_cast<u64>(&g_shared), sizeof g_shared);
    dcache_clean_inval_poc(reinterpret_cast<u64>(&g_cpu_guest), sizeof g_cpu_guest);
    el2_mmu_publish();
    u64 pa = reinterpret_cast<u64>(&secondary_entry);
    return static_cast<i64>(psci_call(g_machine.psci, vcpu::psci_fn::kCpuOn64, guest.cpus->mpidr[cpu], pa, cpu));
}

void run_guest(GuestContext& guest, usize cpu, u64 entry, u64 x0)
{
    PASSAGE_CHECK(cpu < MAX_CPUS && guest.cpus != nullptr && guest.cpus_lock != nullptr);
    set_this_cpu(cpu);
    g_cpu_guest[cpu] = &guest;
    configure_el2_for_guest(guest.hw);
    guest.cpus_lock->lock();
    guest.cpus->state[cpu] = vcpu::CpuState::On;
    guest.cpus_lock->unlock();
    enter_guest(entry, x0, stack_top(cpu));
}

}  // namespace passage::arch

using namespace passage;

extern "C" [[noreturn]] void secondary_main(u64 cpu)
{
    // secondary_entry turned the MMU on before the first store.
    const arch::BootRecord& b = arch::g_shared.boot[cpu];
    log_info("cpu%llu: online at EL2, entering the guest at 0x%llx", (unsigned long long)cpu, (unsigned long long)b.entry);
    arch::run_guest(*arch::g_cpu_guest[cpu], cpu, b.entry, b.context);
}
