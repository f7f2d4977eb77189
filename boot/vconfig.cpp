#include "vconfig.h"

#include <new>

#include "passage/esr.h"
#include "passage/format.h"
#include "passage/log.h"
#include "passage/pci/vconfig.h"
#include "passage/panic.h"
#include "passage/vcpu/mmio_access.h"

namespace passage {
namespace {

using ull = unsigned long long;

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

// The host bridges' config space: the hardware's, shared by every guest's view.
// Built in place at boot: none has a constant initialiser.
alignas(pci::EcamAccess) unsigned char g_ecam_storage[Platform::kMaxBridges][sizeof(pci::EcamAccess)];
pci::ConfigAccess* g_ecams[Platform::kMaxBridges] = {};
constinit DevicePhysIo g_phys_io;

El2Guest& as_guest(void* guest) { return *static_cast<El2Guest*>(guest); }

}  // namespace

bool vconfig_wanted(const Platform& p, bool asked) { return asked && p.bridge_count > 0; }

bool vconfig_prepare(const Platform& p, El2Guest& guest, MemRange hyp, bool asked)
{
    plan::GuestPlan& plan = guest.plan;
    VconfigState& cs = guest.vconfig;
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
    cs.forbidden_count = plan::bar_forbidden_ranges(p, hyp, plan, {cs.forbidden, pci::VirtualConfig::kMaxForbidden});
    usize out = 0;
    for (usize i = 0; i < plan.count; ++i)
        if (plan.regions[i].cls != plan::RegionClass::Ecam && plan.regions[i].cls != plan::RegionClass::PciIo)
            plan.regions[out++] = plan.regions[i];
    plan.count = out;
    cs.enabled = true;
    return true;
}

void vconfig_start(const Platform& p, pci::DeviceTable& table, El2Guest& guest)
{
    if (!guest.vconfig.enabled) return;
    plan::GuestPlan& plan = guest.plan;
    GuestTable& stage2 = guest.table();
    for (usize k = 0; k < p.bridge_count; ++k) {
        const PciHostBridge& hb = p.bridges[k];
        g_ecams[k] =
            new (g_ecam_storage[k]) pci::EcamAccess(VirtAddr(hb.ecam_base), hb.ecam_size, hb.bus_start, hb.bus_end);
    }
    pci::VirtualConfig& view =
        guest.start_vconfig(table, {g_ecams, p.bridge_count}, {p.bridges, p.bridge_count}, g_phys_io);
    if (auto s = view.start(); !s) panic("PCI config space: stage 2 cannot show the guest its BARs");
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
    guest.dispositions.print(table);
    log_info("PCI: the guest programs its own BARs and windows; stage 2 maps what its fabric would route "
             "(the hardware's stay put)");
}

bool vconfig_enabled(const El2Guest& guest) { return guest.vconfig.enabled; }

void vconfig_report(El2Guest& guest)
{
    const VconfigState& cs = guest.vconfig;
    if (cs.view == nullptr) return;
    guest.vconfig_lock.lock();
    log_info("PCI config space: %llu guest accesses emulated, %llu BAR moves followed, %zu conflicts left unmapped, "
             "%llu trapped accesses forwarded, %llu retried after a stage-2 change",
             (ull)cs.accesses, (ull)cs.view->moves, cs.view->conflicts_now(), (ull)cs.view->forwarded, (ull)cs.retries);
    guest.vconfig_lock.unlock();
}

void vconfig_routes(const Platform& p, const El2Guest& guest, vcpu::AbortRoutes& routes, u8 owner)
{
    if (guest.vconfig.view == nullptr) return;
    auto route = [&](u64 base, u64 size) {
        if (size != 0 && !routes.add(base, size, owner))
            panic("PCI config space: no room to route aborts at 0x%llx (%zu routes)", (ull)base, routes.size());
    };
    // The ECAMs first: config accesses are the hot ones.
    for (usize k = 0; k < p.bridge_count; ++k) route(p.bridges[k].ecam_base, p.bridges[k].ecam_size);
    // The windows: trapped BARs and I/O ports, and the pages stage 2
    // changes under the guest.
    for (usize k = 0; k < p.bridge_count; ++k)
        for (usize w = 0; w < p.bridges[k].window_count && w < PciHostBridge::kMaxWindows; ++w)
            route(p.bridges[k].windows[w].cpu_addr, p.bridges[k].windows[w].size);
}

namespace {

// Everything but a plain config read: writes, registers passage answers
// itself, trapped BARs and I/O ports, syndromes it cannot emulate.
[[gnu::noinline]] vcpu::AbortOutcome vconfig_abort(El2Guest& guest, pci::VirtualConfig* view, TrapFrame& f,
                                                   const vcpu::MmioDecode& d)
{
    VconfigState& cs = guest.vconfig;
    if (!d.ok()) {
        u64 ipa = d.access.ipa;
        guest.vconfig_lock.lock();
        bool ours = view->claims(ipa) || view->claims_forwarded(ipa);
        bool retry = !ours && view->in_memory_window(ipa) && esr::is_translation_fault(f.esr) &&
                     guest.table().lookup(IpaAddr(ipa));
        cs.retries += retry;
        guest.vconfig_lock.unlock();
        if (retry) return vcpu::AbortOutcome::Resume;
        if (!ours) return vcpu::AbortOutcome::NotMine;
        if (LogBudget::Slot slot = cs.undecodable_log.take(); slot != LogBudget::Slot::None)
            log_warn("guest access at 0x%llx (PC 0x%llx) cannot be emulated: %s; external abort injected%s",
                     (ull)ipa, (ull)f.elr, vcpu::mmio_decode_error_name(d.error),
                     slot == LogBudget::Slot::Last ? " (further ones are not logged)" : "");
        return vcpu::AbortOutcome::InjectQuietly;
    }
    const vcpu::MmioAccess& a = d.access;
    u64 value = a.write ? vcpu::read_source(f, a) : 0;
    if (pci::VirtualConfig::EcamHit h = view->find_ecam(a.ipa); h.claimed) {
        guest.vconfig_lock.lock();
        if (a.write) view->write_at(h, a.size, value);
        else value = view->read_at(h, a.size);
        __atomic_fetch_add(&cs.accesses, 1, __ATOMIC_RELAXED);
        guest.vconfig_lock.unlock();
        // The trace tests/unit/pci/fixtures replay; printed outside the lock.
        if (a.write && log_level() >= LogLevel::Debug) log_debug("vpci: write 0x%llx/%u = 0x%llx", (ull)a.ipa, a.size, (ull)value);
    } else {
        // Where BARs live, stage 2 changes under the guest: decide under
        // the lock, after any change another CPU is making.
        bool window = view->in_memory_window(a.ipa);
        if (!window && !view->may_forward(a.ipa)) return vcpu::AbortOutcome::NotMine;
        guest.vconfig_lock.lock();
        bool ours = view->claims_forwarded(a.ipa);
        if (ours && a.write) (void)view->forward_write(a.ipa, a.size, value);
        else if (ours) (void)view->forward_read(a.ipa, a.size, value);
        // Only a translation fault can have gone away (a write to a ROM,
        // mapped read-only, would fault again for ever).
        bool retry = !ours && window && esr::is_translation_fault(f.esr) && guest.table().lookup(IpaAddr(a.ipa));
        cs.retries += retry;
        guest.vconfig_lock.unlock();
        if (retry) return vcpu::AbortOutcome::Resume;
        if (!ours) return vcpu::AbortOutcome::NotMine;
    }
    if (!a.write) vcpu::complete_load(f, a, value);
    vcpu::advance(f);
    return vcpu::AbortOutcome::Resume;
}

}  // namespace

vcpu::AbortOutcome vconfig_handle_abort(void* context, TrapFrame& f, const vcpu::MmioDecode& d)
{
    El2Guest& guest = as_guest(context);
    pci::VirtualConfig* view = guest.vconfig.view;
    if (view == nullptr) return vcpu::AbortOutcome::NotMine;
    const vcpu::MmioAccess& a = d.access;
    u64 value = 0;
    // Most config reads: a register passed to the hardware as it is, found
    // without the lock (it changes nothing).
    if (!d.ok() || a.write || !view->read_plain(a.ipa, a.size, value)) return vconfig_abort(guest, view, f, d);
    __atomic_fetch_add(&guest.vconfig.accesses, 1, __ATOMIC_RELAXED);
    vcpu::complete_narrow_load(f, a, u32(value));
    vcpu::advance(f);
    return vcpu::AbortOutcome::Resume;
}

namespace {

// A plain word read outside the page last hit: read_plain finds it.
[[gnu::noinline]] bool read_word_found(El2Guest& guest, const pci::VirtualConfig& view, u64 ipa, u32& value)
{
    u64 v = 0;
    if (!view.read_plain(ipa, 4, v)) return false;
    __atomic_fetch_add(&guest.vconfig.accesses, 1, __ATOMIC_RELAXED);
    value = u32(v);
    return true;
}

}  // namespace

bool vconfig_read_word(void* context, u64 ipa, u32& value)
{
    El2Guest& guest = as_guest(context);
    const pci::VirtualConfig* view = guest.vconfig.view;
    if (view == nullptr) return false;
    if (!view->read_hinted_word(ipa, value)) return read_word_found(guest, *view, ipa, value);
    __atomic_fetch_add(&guest.vconfig.accesses, 1, __ATOMIC_RELAXED);
    return true;
}

bool vconfig_explain_abort(void* context, u64 ipa, char* why, usize size)
{
    El2Guest& guest = as_guest(context);
    if (guest.vconfig.view == nullptr) return false;
    guest.vconfig_lock.lock();
    bool hit = guest.vconfig.view->conflict_at(ipa, why, size);
    guest.vconfig_lock.unlock();
    return hit;
}

}  // namespace passage
