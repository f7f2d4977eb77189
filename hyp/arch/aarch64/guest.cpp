#include "guest.h"

#include "asm_defs.h"
#include "mmu.h"
#include "passage/log.h"
#include "psci.h"
#include "runtime.h"
#include "spinlock.h"
#include "sysreg.h"

extern "C" {
extern unsigned char passage_stacks[MAX_CPUS][STACK_SIZE];
void secondary_entry();
}

namespace passage::arch {
namespace {

using ull = unsigned long long;

// HCR_EL2 bits (Arm ARM D17.2.48).
constexpr u64 kHcrVM = u64{1} << 0;
constexpr u64 kHcrSWIO = u64{1} << 1;
constexpr u64 kHcrTSC = u64{1} << 19;
constexpr u64 kHcrAPK = u64{1} << 40;
constexpr u64 kHcrAPI = u64{1} << 41;
constexpr u64 kHcrFWB = u64{1} << 46;

// CPTR_EL2 (E2H = 0): RES1 bits 13, 9, 7:0; bit 12 is TSM (trap SME) when
// SME exists, else RES1; TZ (8) = 0 and TFP (10) = 0: nothing trapped.
constexpr u64 kCptrBase = 0x22ff & ~(u64{1} << 8);

// CNTHCTL_EL2 (E2H = 0): EL1PCTEN (0), EL1PCEN (1).
constexpr u64 kCnthctlEl1Access = 0b11;

struct BootRecord {
    u64 entry = 0;
    u64 context = 0;
};

// Read by secondaries before their MMU is on: cleaned to memory before CPU_ON.
struct SharedState {
    GuestHw hw;
    BootRecord boot[MAX_CPUS];
    MemRange ram[16];
    usize ram_count = 0;
};

SharedState g_shared;
vcpu::VcpuSet g_cpus;
Spinlock g_cpus_lock;

u64 stack_top(usize cpu) { return reinterpret_cast<u64>(&passage_stacks[cpu][0]) + STACK_SIZE; }

}  // namespace

CpuFeaturesEl2 read_cpu_features()
{
    CpuFeaturesEl2 f;
    f.fwb = ((read_id_aa64mmfr2_el1() >> 40) & 0xf) != 0;
    u64 isar1 = read_id_aa64isar1_el1();
    u64 isar2 = read_id_aa64isar2_el1();
    f.pauth = ((isar1 >> 4) & 0xf) || ((isar1 >> 8) & 0xf) || ((isar1 >> 24) & 0xf) || ((isar1 >> 28) & 0xf) ||
              ((isar2 >> 12) & 0xf) || ((isar2 >> 8) & 0xf);
    f.sve = ((read_id_aa64pfr0_el1() >> 32) & 0xf) != 0;
    f.sme = ((read_id_aa64pfr1_el1() >> 24) & 0xf) != 0;
    return f;
}

GuestHw make_guest_hw(const CpuFeaturesEl2& f, GicVersion gic, u64 vtcr, u64 vttbr, stage2::Encoding enc)
{
    GuestHw hw;
    // VM: stage 2 on. SWIO: set/way invalidates become clean+invalidate.
    // TSC: the guest's SMCs (PSCI) come to passage. RW: EL1 is AArch64.
    // IMO/FMO/AMO clear: the guest owns the physical GIC and takes its own
    // interrupts. API/APK: no traps on pointer authentication.
    hw.hcr = kHcrVM | kHcrSWIO | kHcrTSC | kHcrRW;
    if (f.pauth) hw.hcr |= kHcrAPI | kHcrAPK;
    if (enc.fwb) hw.hcr |= kHcrFWB;
    hw.cptr = kCptrBase | (f.sme ? 0 : u64{1} << 12);
    hw.vtcr = vtcr;
    hw.vttbr = vttbr;
    hw.gicv3 = gic == GicVersion::V3;
    hw.sve = f.sve;
    hw.sme = f.sme;
    hw.encoding = enc;
    return hw;
}

void configure_el2_for_guest(const GuestHw& hw)
{
    write_cptr_el2(hw.cptr);
    isb();
    if (hw.sve) write_zcr_el2(0x1ff);  // the longest vector length the CPU has
    if (hw.sme) write_smcr_el2(0x1ff);
    write_cnthctl_el2(kCnthctlEl1Access);
    write_cntvoff_el2(0);
    write_vpidr_el2(read_midr_el1());
    write_vmpidr_el2(read_mpidr_el1());
    // Every PMU counter to the guest: HPMN = PMCR_EL0.N, no traps, HPMD = 0.
    write_mdcr_el2((read_pmcr_el0() >> 11) & 0x1f);
    if (hw.gicv3) {
        write_icc_sre_el2(read_icc_sre_el2() | 0x9);  // SRE | Enable: EL1 uses the system registers
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

vcpu::VcpuSet& guest_cpus() { return g_cpus; }
usize this_cpu() { return static_cast<usize>(read_tpidr_el2()); }
void set_this_cpu(usize index) { write_tpidr_el2(index); }
Spinlock& guest_cpus_lock() { return g_cpus_lock; }
const MemRange* guest_ram(usize& count)
{
    count = g_shared.ram_count;
    return g_shared.ram;
}

void set_guest(const GuestHw& hw, const MemRange* ram, usize ram_count)
{
    g_shared.hw = hw;
    g_shared.ram_count = ram_count < 16 ? ram_count : 16;
    for (usize i = 0; i < g_shared.ram_count; ++i) g_shared.ram[i] = ram[i];
}

i64 start_cpu(usize cpu, u64 entry, u64 context)
{
    g_shared.boot[cpu] = {entry, context};
    // The new CPU reads these with its MMU off, straight from memory.
    dcache_clean_inval_poc(reinterpret_cast<u64>(&g_shared), sizeof g_shared);
    el2_mmu_publish();
    u64 pa = reinterpret_cast<u64>(&secondary_entry);
    return static_cast<i64>(psci_call(g_runtime.psci, vcpu::psci_fn::kCpuOn64, g_cpus.mpidr[cpu], pa, cpu));
}

void run_guest(usize cpu, u64 entry, u64 x0)
{
    set_this_cpu(cpu);
    configure_el2_for_guest(g_shared.hw);
    g_cpus_lock.lock();
    g_cpus.state[cpu] = vcpu::CpuState::On;
    g_cpus_lock.unlock();
    enter_guest(entry, x0, stack_top(cpu));
}

}  // namespace passage::arch

using namespace passage;

extern "C" [[noreturn]] void secondary_main(u64 cpu)
{
    arch::write_hcr_el2(arch::kHcrRW);
    arch::el2_mmu_on_secondary();
    const arch::BootRecord& b = arch::g_shared.boot[cpu];
    log_info("cpu%llu: online at EL2, entering the guest at 0x%llx", (unsigned long long)cpu, (unsigned long long)b.entry);
    arch::run_guest(cpu, b.entry, b.context);
}
