#include "vpci.h"

#include <new>

#include "passage/esr.h"
#include "passage/format.h"
#include "passage/log.h"
#include "passage/pci/vconfig.h"
#include "passage/vcpu/mmio_access.h"
#include "machine.h"
#include "passage/panic.h"
#include "spinlock.h"

namespace passage {
namespace {

using ull = unsigned long long;

// The mover: stage 2 follows the guest's BARs, with break-before-make
// inside the page-table engine.
class TableMover final : public pci::Stage2Mover {
public:
    explicit TableMover(GuestTable& t) : table_(t) {}
    Status unmap(IpaAddr ipa, u64 size) override { return table_.unmap(ipa, size); }
    Status map(IpaAddr ipa, PhysAddr pa, u64 size, stage2::Attrs attrs) override { return table_.map(ipa, pa, size, attrs); }

private:
    GuestTable& table_;
};

// Trapped BARs are reached through passage's own Device mapping of the
// host bridge windows (identity, arch/aarch64/mmu.cpp).
class DevicePhysIo final : public pci::PhysIo {
public:
    u64 read(PhysAddr pa, unsigned size) override
    {
        switch (size) {
        case 1: return *reinterpret_cast<volatile u8*>(pa.value);
        case 2: return *reinterpret_cast<volatile u16*>(pa.value);
        case 4: return *reinterpret_cast<volatile u32*>(pa.value);
        default: return *reinterpret_cast<volatile u64*>(pa.value);
        }
    }
    void write(PhysAddr pa, unsigned size, u64 value) override
    {
        switch (size) {
        case 1: *reinterpret_cast<volatile u8*>(pa.value) = u8(value); break;
        case 2: *reinterpret_cast<volatile u16*>(pa.value) = u16(value); break;
        case 4: *reinterpret_cast<volatile u32*>(pa.value) = u32(value); break;
        default: *reinterpret_cast<volatile u64*>(pa.value) = value; break;
        }
    }
};

bool g_enabled = false;
MemRange g_forbidden[pci::VirtualConfig::kMaxForbidden];
usize g_forbidden_count = 0;
// Built in place at boot: none has a constant initialiser.
alignas(pci::EcamAccess) unsigned char g_ecam_storage[Platform::kMaxBridges][sizeof(pci::EcamAccess)];
pci::ConfigAccess* g_ecams[Platform::kMaxBridges] = {};
alignas(TableMover) unsigned char g_mover_storage[sizeof(TableMover)];
constinit DevicePhysIo g_phys_io;
alignas(pci::VirtualConfig) unsigned char g_vcfg_storage[sizeof(pci::VirtualConfig)];
pci::VirtualConfig* g_vcfg = nullptr;
GuestTable* g_stage2 = nullptr;
arch::Spinlock g_lock;
constinit LogBudget g_undecodable_log{8};
u64 g_accesses = 0;  // under g_lock
u64 g_retries = 0;   // under g_lock: faults that another CPU's stage-2 change had already answered

}  // namespace

bool vpci_wanted(const Platform& p, bool asked) { return asked && p.bridge_count > 0; }

bool vpci_prepare(const Platform& p, plan::GuestPlan& plan, MemRange hyp, bool asked)
{
    if (!asked) {
        log_info("PCI config space: the guest's ECAM is mapped directly (passage.vpci=off)");
        return false;
    }
    if (p.bridge_count == 0) {
        log_info("PCI config space: no PCI host bridge, nothing to virtualise");
        return false;
    }
    // BARs must never be mapped over anything the plan maps, the ECAM and
    // the I/O window included.
    g_forbidden_count = plan::bar_forbidden_ranges(p, hyp, plan, {g_forbidden, pci::VirtualConfig::kMaxForbidden});
    usize out = 0;
    for (usize i = 0; i < plan.count; ++i)
        if (plan.regions[i].cls != plan::RegionClass::Ecam && plan.regions[i].cls != plan::RegionClass::PciIo)
            plan.regions[out++] = plan.regions[i];
    plan.count = out;
    g_enabled = true;
    return true;
}

void vpci_start(const Platform& p, pci::DeviceTable& table, const pci::Dispositions& disp, plan::GuestPlan& plan,
                GuestTable& stage2)
{
    if (!g_enabled) return;
    for (usize k = 0; k < p.bridge_count; ++k) {
        const PciHostBridge& hb = p.bridges[k];
        g_ecams[k] =
            new (g_ecam_storage[k]) pci::EcamAccess(VirtAddr(hb.ecam_base), hb.ecam_size, hb.bus_start, hb.bus_end);
    }
    auto* mover = new (g_mover_storage) TableMover(stage2);
    g_stage2 = &stage2;
    g_vcfg = new (g_vcfg_storage) pci::VirtualConfig(table, disp, {g_ecams, p.bridge_count},
                                                     {p.bridges, p.bridge_count}, *mover, g_phys_io);
    g_vcfg->set_forbidden({g_forbidden, g_forbidden_count});
    if (auto s = g_vcfg->start(); !s) panic("PCI config space: stage 2 cannot show the guest its BARs");
    // The plan lists what stage 2 maps: drop the BARs no longer mapped.
    usize out = 0;
    for (usize i = 0; i < plan.count; ++i) {
        const plan::GuestRegion& r = plan.regions[i];
        if (r.cls == plan::RegionClass::PciBar && !stage2.lookup(IpaAddr(r.ipa))) continue;
        plan.regions[out++] = r;
    }
    plan.count = out;
    for (usize k = 0; k < p.bridge_count; ++k) {
        char segment[24] = "";
        if (p.bridge_count > 1) format(segment, sizeof segment, ", segment %04x", p.bridges[k].segment);
        log_info("PCI config space: virtual (ECAM 0x%llx and the I/O window trap%s)%s", (ull)p.bridges[k].ecam_base,
                 segment, k + 1 == p.bridge_count ? "; what the guest gets:" : "");
    }
    disp.print(table);
    log_info("PCI: the guest programs its own BARs and windows; stage 2 maps what its fabric would route "
             "(the hardware's stay put)");
}

bool vpci_enabled() { return g_enabled; }

void vpci_report()
{
    if (g_vcfg == nullptr) return;
    g_lock.lock();
    log_info("PCI config space: %llu guest accesses emulated, %llu BAR moves followed, %zu conflicts left unmapped, "
             "%llu trapped accesses forwarded, %llu retried after a stage-2 change",
             (ull)g_accesses, (ull)g_vcfg->moves, g_vcfg->conflicts_now(), (ull)g_vcfg->forwarded, (ull)g_retries);
    g_lock.unlock();
}

vcpu::AbortOutcome vpci_handle_abort(TrapFrame& f)
{
    if (g_vcfg == nullptr) return vcpu::AbortOutcome::NotMine;
    auto d = vcpu::decode_mmio(f.esr, f.hpfar, f.far, f.spsr);
    if (!d.ok()) {
        u64 ipa = vcpu::fault_ipa(f.hpfar, f.far);
        g_lock.lock();
        bool ours = g_vcfg->claims(ipa) || g_vcfg->claims_forwarded(ipa);
        bool retry = !ours && g_vcfg->in_memory_window(ipa) && esr::is_translation_fault(f.esr) &&
                     g_stage2->lookup(IpaAddr(ipa));
        g_retries += retry;
        g_lock.unlock();
        if (retry) return vcpu::AbortOutcome::Resume;
        if (!ours) return vcpu::AbortOutcome::NotMine;
        if (LogBudget::Slot slot = g_undecodable_log.take(); slot != LogBudget::Slot::None)
            log_warn("guest access at 0x%llx (PC 0x%llx) cannot be emulated: %s; external abort injected%s",
                     (ull)ipa, (ull)f.elr, vcpu::mmio_decode_error_name(d.error),
                     slot == LogBudget::Slot::Last ? " (further ones are not logged)" : "");
        return vcpu::AbortOutcome::InjectQuietly;
    }
    const vcpu::MmioAccess& a = d.access;
    u64 value = a.write ? vcpu::read_source(f, a) : 0;
    if (pci::VirtualConfig::EcamHit h = g_vcfg->find_ecam(a.ipa); h.claimed) {
        g_lock.lock();
        if (a.write) g_vcfg->write_at(h, a.size, value);
        else value = g_vcfg->read_at(h, a.size);
        ++g_accesses;
        g_lock.unlock();
        // The trace tests/unit/pci/fixtures replay; printed outside the lock.
        if (a.write && log_level() >= LogLevel::Debug) log_debug("vpci: write 0x%llx/%u = 0x%llx", (ull)a.ipa, a.size, (ull)value);
    } else {
        // Where BARs live, stage 2 changes under the guest: decide under
        // the lock, after any change another CPU is making.
        bool window = g_vcfg->in_memory_window(a.ipa);
        if (!window && !g_vcfg->may_forward(a.ipa)) return vcpu::AbortOutcome::NotMine;
        g_lock.lock();
        bool ours = g_vcfg->claims_forwarded(a.ipa);
        if (ours && a.write) (void)g_vcfg->forward_write(a.ipa, a.size, value);
        else if (ours) (void)g_vcfg->forward_read(a.ipa, a.size, value);
        // Only a translation fault can have gone away (a write to a ROM,
        // mapped read-only, would fault again for ever).
        bool retry = !ours && window && esr::is_translation_fault(f.esr) && g_stage2->lookup(IpaAddr(a.ipa));
        g_retries += retry;
        g_lock.unlock();
        if (retry) return vcpu::AbortOutcome::Resume;
        if (!ours) return vcpu::AbortOutcome::NotMine;
    }
    if (!a.write) vcpu::complete_load(f, a, value);
    vcpu::advance(f);
    return vcpu::AbortOutcome::Resume;
}

bool vpci_explain_abort(u64 ipa, char* why, usize size)
{
    if (g_vcfg == nullptr) return false;
    g_lock.lock();
    bool hit = g_vcfg->conflict_at(ipa, why, size);
    g_lock.unlock();
    return hit;
}

}  // namespace passage
