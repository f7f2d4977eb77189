#include "vpci.h"

#include <new>

#include "passage/format.h"
#include "passage/log.h"
#include "passage/pci/vconfig.h"
#include "passage/vcpu/mmio_access.h"
#include "options.h"
#include "runtime.h"
#include "spinlock.h"

namespace passage {
namespace {

using ull = unsigned long long;

// The mover: stage 2 follows the guest's BAR moves, with break-before-make
// inside the page-table engine.
class TableMover final : public pci::Stage2Mover {
public:
    explicit TableMover(GuestTable& t) : table_(t) {}
    Status unmap(IpaAddr ipa, u64 size) override { return table_.unmap(ipa, size); }
    Status map(IpaAddr ipa, PhysAddr pa, u64 size, stage2::Attrs attrs) override { return table_.map(ipa, pa, size, attrs); }

private:
    GuestTable& table_;
};

bool g_enabled = false;
MemRange g_forbidden[pci::VirtualConfig::kMaxForbidden];
usize g_forbidden_count = 0;
// Built in place at boot: neither has a constant initialiser.
alignas(pci::EcamAccess) unsigned char g_ecam_storage[Platform::kMaxBridges][sizeof(pci::EcamAccess)];
pci::ConfigAccess* g_ecams[Platform::kMaxBridges] = {};
alignas(TableMover) unsigned char g_mover_storage[sizeof(TableMover)];
alignas(pci::VirtualConfig) unsigned char g_vcfg_storage[sizeof(pci::VirtualConfig)];
pci::VirtualConfig* g_vcfg = nullptr;
arch::Spinlock g_lock;
constinit LogBudget g_undecodable_log{8};
u64 g_accesses = 0;  // under g_lock

}  // namespace

bool vpci_prepare(const Platform& p, plan::GuestPlan& plan, MemRange hyp, const char* cmdline)
{
    if (!boot_on_off(cmdline, "vpci", true)) {
        log_info("PCI config space: the guest's ECAM is mapped directly (passage.vpci=off)");
        return false;
    }
    if (p.bridge_count == 0) {
        log_info("PCI config space: no PCI host bridge, nothing to virtualise");
        return false;
    }
    // BARs must never move onto anything the plan maps, the ECAM included.
    g_forbidden_count = pci::collect_forbidden(p, hyp, plan, {g_forbidden, pci::VirtualConfig::kMaxForbidden});
    usize out = 0;
    for (usize i = 0; i < plan.count; ++i)
        if (plan.regions[i].cls != plan::RegionClass::Ecam) plan.regions[out++] = plan.regions[i];
    plan.count = out;
    g_enabled = true;
    return true;
}

void vpci_start(const Platform& p, pci::DeviceTable& table, plan::GuestPlan& plan, const plan::Policy& policy,
                GuestTable& stage2, const char* cmdline)
{
    if (!g_enabled) return;
    for (usize k = 0; k < p.bridge_count; ++k) {
        const PciHostBridge& hb = p.bridges[k];
        g_ecams[k] =
            new (g_ecam_storage[k]) pci::EcamAccess(VirtAddr(hb.ecam_base), hb.ecam_size, hb.bus_start, hb.bus_end);
    }
    auto* mover = new (g_mover_storage) TableMover(stage2);
    g_vcfg = new (g_vcfg_storage)
        pci::VirtualConfig(table, {g_ecams, p.bridge_count}, {p.bridges, p.bridge_count}, *mover);

    pci::VconfigOptions options;
    Diagnostic d;
    if (!pci::parse_vconfig_options(cmdline, options, d)) panic("%s", d.text);
    g_vcfg->apply_policy(options, policy);
    g_vcfg->set_forbidden({g_forbidden, g_forbidden_count});
    if (auto s = g_vcfg->hide_in_stage2(); !s)
        panic("PCI config space: cannot unmap a hidden BAR at 0x%llx: %s", (ull)s.error_addr(), error_name(s.error()));
    // The plan lists what stage 2 maps: drop the BARs of hidden functions.
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
        log_info("PCI config space: virtual (ECAM 0x%llx traps%s)%s", (ull)p.bridges[k].ecam_base, segment,
                 k + 1 == p.bridge_count ? "; what the guest gets:" : "");
    }
    g_vcfg->print_status();
}

bool vpci_enabled() { return g_enabled; }

void vpci_report()
{
    if (g_vcfg == nullptr) return;
    g_lock.lock();
    log_info("PCI config space: %llu guest accesses emulated, %llu BAR moves followed, %llu writes refused",
             (ull)g_accesses, (ull)g_vcfg->moves, (ull)g_vcfg->refused);
    g_lock.unlock();
}

VpciAbort vpci_handle_abort(TrapFrame& f)
{
    if (g_vcfg == nullptr) return VpciAbort::NotConfig;
    auto d = vcpu::decode_mmio(f.esr, f.hpfar, f.far);
    if (!d.ok()) {
        u64 ipa = vcpu::fault_ipa(f.hpfar, f.far);
        if (!g_vcfg->claims(ipa)) return VpciAbort::NotConfig;
        if (LogBudget::Slot slot = g_undecodable_log.take(); slot != LogBudget::Slot::None)
            log_warn("guest config access at 0x%llx (PC 0x%llx) cannot be emulated: %s; external abort injected%s",
                     (ull)ipa, (ull)f.elr, vcpu::mmio_decode_error_name(d.error),
                     slot == LogBudget::Slot::Last ? " (further ones are not logged)" : "");
        return VpciAbort::Undecodable;
    }
    if (!g_vcfg->claims(d.access.ipa)) return VpciAbort::NotConfig;
    g_lock.lock();
    if (d.access.write) g_vcfg->mmio_write(d.access.ipa, d.access.size, vcpu::read_source(f, d.access));
    else vcpu::complete_load(f, d.access, g_vcfg->mmio_read(d.access.ipa, d.access.size));
    ++g_accesses;
    g_lock.unlock();
    vcpu::advance(f);
    return VpciAbort::Emulated;
}

}  // namespace passage
