// Virtual config space, the registers: BARs, the expansion ROM, bridge
// windows, Command and the capabilities the guest sees differently.
//
// Register layout from the PCI Local Bus Specification 3.0 (6.2.5: BARs and
// the expansion ROM), the PCI-to-PCI Bridge Architecture Specification 1.2
// (3.2.5: bus numbers and windows) and the PCI Express Base Specification
// (7.5.3: the PCI Express capability; 7.6: extended capabilities).
#include "passage/log.h"
#include "passage/pci/vconfig.h"
#include "vconfig_util.h"

namespace passage::pci {
namespace {

// Capabilities this model cannot follow, and how far each reaches.
struct HiddenCap {
    u16 id;
    u16 size;
};
constexpr HiddenCap kHiddenCaps[] = {
    {0x0f, 0x08},  // ATS: the device would translate addresses itself
    {0x10, 0x40},  // SR-IOV: virtual functions with BARs passage never placed
    {0x13, 0x10},  // Page Request
    {0x15, 0x34},  // Resizable BAR: a BAR passage sized would change size
    {0x1b, 0x08},  // PASID
    {0x24, 0x34},  // VF Resizable BAR
};

u16 hidden_cap_size(u16 id)
{
    for (const HiddenCap& c : kHiddenCaps)
        if (c.id == id) return c.size;
    return 0;
}

}  // namespace

bool VirtualConfig::is_bar_reg(const PciFunction& f, u16 dword) const
{
    u16 count = f.is_bridge ? kType1BarCount : f.header_type == kHeaderEndpoint ? kType0BarCount : 0;
    return dword >= kBar0 && dword < kBar0 + 4 * count;
}

bool VirtualConfig::is_window_reg(const PciFunction& f, u16 dword) const
{
    return f.is_bridge && (dword == kIoBase || (dword >= kMemBase && dword <= kIoBaseUpper));
}

u32 VirtualConfig::virtual_dword(usize i, u16 dword)
{
    const PciFunction& f = table_[i];
    const FnState& s = state_[i];
    if (is_bar_reg(f, dword)) return s.bar_reg[(dword - kBar0) / 4];
    if (dword == rom_reg_offset(f)) return s.rom_reg;
    switch (dword) {
    case kIoBase: return s.win.io_base_limit | u32(hw(f).read16(f.bdf, 0x1e)) << 16;  // + secondary status
    case kMemBase: return s.win.mem;
    case kPrefBase: return s.win.pref;
    case kPrefBaseUpper: return s.win.pref_upper;
    case kPrefLimitUpper: return s.win.pref_limit_upper;
    case kIoBaseUpper: return s.win.io_upper;
    default: return 0;
    }
}

// Merges the guest's bytes into a virtual register, keeps what the hardware
// would keep read-only, and lets stage 2 follow.
void VirtualConfig::write_virtual(usize i, u16 dword, u32 v, u32 mask)
{
    const PciFunction& f = table_[i];
    FnState& s = state_[i];
    auto merge = [&](u32 old) { return (old & ~mask) | (v & mask); };
    if (is_bar_reg(f, dword)) {
        unsigned reg = (dword - kBar0) / 4;
        bool upper = false;
        const PciBar* bar = bar_at(f, reg, upper);
        if (bar == nullptr) return;  // unimplemented: reads 0
        u32 now = (merge(s.bar_reg[reg]) & bar_writable(*bar, upper)) | (upper ? 0 : bar_type_bits(*bar));
        if (now == s.bar_reg[reg]) return;
        s.bar_reg[reg] = now;
        work_count_ = 0;
        Slot& sl = slot(i, bar->index);
        sl.phase = 1;
        work_[work_count_++] = u16(i * PciFunction::kBars + bar->index);
        update();
        return;
    }
    if (dword == rom_reg_offset(f)) {
        const PciBar& rom = f.rom();
        if (!rom.present()) return;
        u32 now = merge(s.rom_reg) & (bar_writable(rom, false) | RomEnable::kMask);
        if (now == s.rom_reg) return;
        s.rom_reg = now;
        work_count_ = 0;
        slot(i, PciBar::kRomIndex).phase = 1;
        work_[work_count_++] = u16(i * PciFunction::kBars + PciBar::kRomIndex);
        update();
        return;
    }
    const BridgeWindow* w = f.windows;
    bool io = w[usize(WindowKind::Io)].implemented;
    bool pref = w[usize(WindowKind::Pref)].implemented;
    bool pref64 = w[usize(WindowKind::Pref)].decodes64;
    switch (dword) {
    case kIoBase:
        if (io) s.win.io_base_limit = u16((merge(s.win.io_base_limit) & 0xf0f0) | s.io_cap | s.io_cap << 8);
        break;
    case kIoBaseUpper:
        if (io && s.io_cap == 1) s.win.io_upper = merge(s.win.io_upper);
        break;
    case kMemBase: s.win.mem = merge(s.win.mem) & 0xfff0fff0u; break;
    case kPrefBase:
        if (pref) s.win.pref = (merge(s.win.pref) & 0xfff0fff0u) | s.pref_cap | u32(s.pref_cap) << 16;
        break;
    case kPrefBaseUpper:
        if (pref64) s.win.pref_upper = merge(s.win.pref_upper);
        break;
    case kPrefLimitUpper:
        if (pref64) s.win.pref_limit_upper = merge(s.win.pref_limit_upper);
        break;
    default: return;
    }
    u64 base[kWindowKinds], limit[kWindowKinds];
    for (usize k = 0; k < kWindowKinds; ++k) base[k] = s.win_base[k], limit[k] = s.win_limit[k];
    decode_windows(i);
    for (usize k = 0; k < kWindowKinds; ++k)
        if (base[k] != s.win_base[k] || limit[k] != s.win_limit[k]) {
            update_subtree(i);
            return;
        }
}

// The windows the virtual registers describe (PCI-to-PCI bridge 1.2,
// 3.2.5.6 to 3.2.5.10); an unimplemented one is closed (base above limit).
void VirtualConfig::decode_windows(usize i)
{
    const PciFunction& f = table_[i];
    FnState& s = state_[i];
    const WindowRegs& r = s.win;
    for (usize k = 0; k < kWindowKinds; ++k) s.win_base[k] = 1, s.win_limit[k] = 0;
    if (f.windows[usize(WindowKind::Io)].implemented) {
        u64 up_base = s.io_cap == 1 ? (r.io_upper & 0xffff) : 0;
        u64 up_limit = s.io_cap == 1 ? (r.io_upper >> 16) : 0;
        s.win_base[usize(WindowKind::Io)] = u64(r.io_base_limit & 0xf0) << 8 | up_base << 16;
        s.win_limit[usize(WindowKind::Io)] = u64(r.io_base_limit >> 8 & 0xf0) << 8 | 0xfff | up_limit << 16;
    }
    s.win_base[usize(WindowKind::Mem)] = u64(r.mem & 0xfff0) << 16;
    s.win_limit[usize(WindowKind::Mem)] = u64(r.mem & 0xfff00000u) | 0xfffff;
    if (f.windows[usize(WindowKind::Pref)].implemented) {
        bool is64 = f.windows[usize(WindowKind::Pref)].decodes64;
        s.win_base[usize(WindowKind::Pref)] = u64(r.pref & 0xfff0) << 16 | (is64 ? u64(r.pref_upper) << 32 : 0);
        s.win_limit[usize(WindowKind::Pref)] =
            u64(r.pref & 0xfff00000u) | 0xfffff | (is64 ? u64(r.pref_limit_upper) << 32 : 0);
    }
}

void VirtualConfig::command_written(usize i, u16 command)
{
    FnState& s = state_[i];
    bool mem = CmdMem::get(command) != 0, io = CmdIo::get(command) != 0;
    if (mem == s.mem_on && io == s.io_on) return;
    s.mem_on = mem;
    s.io_on = io;
    if (table_[i].is_bridge) update_subtree(i);
    else update_function(i);
}

// After a reset a function has forgotten what passage programmed: the
// physical BARs, ROM, bus numbers and windows go back (the ROM enabled only
// while the guest's ROM is mapped).
void VirtualConfig::reprogram(usize i)
{
    const PciFunction& f = table_[i];
    const FnState& s = state_[i];
    for (const PciBar& bar : f.bars) {
        if (!bar.present() || !bar.assigned() || bar.fixed) continue;  // a fixed BAR has nothing to restore
        if (bar.is_rom()) {
            BarRoute r = slot(i, PciBar::kRomIndex).route;
            bool on = r == BarRoute::Direct || r == BarRoute::Trapped;
            hw(f).write32(f.bdf, rom_reg_offset(f), u32(bar.pci_addr) | (on ? RomEnable::kMask : 0));
            continue;
        }
        u16 reg = u16(kBar0 + 4 * bar.index);
        hw(f).write32(f.bdf, reg, u32(bar.pci_addr));
        if (bar.kind == BarKind::Mem64) hw(f).write32(f.bdf, u16(reg + 4), u32(bar.pci_addr >> 32));
    }
    if (s.acs != 0) hw(f).write16(f.bdf, u16(s.acs + kAcsControl + 2), s.acs_ctrl);
    if (!f.is_bridge) return;
    hw(f).write8(f.bdf, kPrimaryBus, f.bdf.bus);
    hw(f).write8(f.bdf, kSecondaryBus, f.secondary);
    hw(f).write8(f.bdf, kSubordinateBus, f.subordinate);
    const WindowRegs& w = s.phys_win;
    if (f.windows[usize(WindowKind::Io)].implemented) {
        hw(f).write32(f.bdf, kIoBaseUpper, w.io_upper);
        hw(f).write16(f.bdf, kIoBase, w.io_base_limit);
    }
    hw(f).write32(f.bdf, kMemBase, w.mem);
    if (f.windows[usize(WindowKind::Pref)].implemented) {
        hw(f).write32(f.bdf, kPrefBase, w.pref);
        if (f.windows[usize(WindowKind::Pref)].decodes64) {
            hw(f).write32(f.bdf, kPrefBaseUpper, w.pref_upper);
            hw(f).write32(f.bdf, kPrefLimitUpper, w.pref_limit_upper);
        }
    }
}

// ---------------------------------------------------------------------------
// capabilities

// The extended capability chain as the guest walks it: the ones the model
// cannot follow are unlinked (a hidden first one keeps its place at 0x100
// with ID 0, as VFIO does, since the chain must start there).
void VirtualConfig::read_ext_caps(usize i)
{
    const PciFunction& f = table_[i];
    FnState& s = state_[i];
    u16 off = kExtCapStart;
    for (unsigned guard = 0; guard < 256 && off >= kExtCapStart && off <= 0xffc; ++guard) {
        u32 header = hw(f).read32(f.bdf, off);
        if (header == 0 || header == 0xffffffff) break;
        if (s.ext_count == kMaxExtCaps) {
            // More than passage keeps: the guest sees the first ones and may
            // write none of the extended space (a capability passage must
            // hide could be past them).
            s.ext_overflow = true;
            log_warn("PCI %s: more than %zu extended capabilities: the guest sees the first %zu and cannot write "
                     "extended config space", BdfStr(f).c_str(), kMaxExtCaps, kMaxExtCaps);
            break;
        }
        u16 id = u16(header & 0xffff);
        ExtCapView& c = s.ext[s.ext_count++];
        c.offset = off;
        c.header = header;
        if (u16 size = hidden_cap_size(id); size != 0) {
            if (id == kExtCapRebar || id == kExtCapVfRebar) {
                // 4 + 8 bytes per resizable BAR; the count is in the first
                // control register, bits 7:5 (PCIe 7.8.6).
                u32 n = hw(f).read32(f.bdf, u16(off + 8)) >> 5 & 7;
                size = u16(4 + 8 * (n == 0 ? 1 : n));
            }
            c.hide_end = u16(off + size);
        }
        if (id == kExtCapDpc) s.dpc = off;
        if (id == kExtCapAcs) {
            // DMA isolation (issue 13): every ACS control the function
            // has among Source Validation, Request Redirect, Completion
            // Redirect and Upstream Forwarding is turned on, so a device
            // below a port reaches a peer only through the SMMU. The
            // guest cannot change it (capability_write_mask).
            constexpr u16 kAcsIsolation = 0x1d;  // SV (0), RR (2), CR (3), UF (4)
            const u32 dword = hw(f).read32(f.bdf, u16(off + kAcsControl));
            s.acs = off;
            s.acs_ctrl = u16(u16(dword >> 16) | (u16(dword) & kAcsIsolation));
            if (s.acs_ctrl != u16(dword >> 16)) hw(f).write16(f.bdf, u16(off + kAcsControl + 2), s.acs_ctrl);
        }
        off = u16(header >> 20 & 0xffc);
    }
    // A hidden capability never reaches over the next one in memory.
    for (usize k = 0; k < s.ext_count; ++k) {
        ExtCapView& c = s.ext[k];
        for (usize j = 0; j < s.ext_count && c.hide_end != 0; ++j)
            if (s.ext[j].offset > c.offset && s.ext[j].offset < c.hide_end) c.hide_end = s.ext[j].offset;
    }
    // Relink: each shown capability points at the next shown one.
    i32 prev = -1;
    for (usize k = 0; k < s.ext_count; ++k) {
        ExtCapView& c = s.ext[k];
        if (c.hide_end != 0 && c.offset != kExtCapStart) {
            c.header = 0;  // reads as nothing, like the rest of it
            continue;
        }
        if (prev >= 0) s.ext[usize(prev)].header = (s.ext[usize(prev)].header & 0xfffff) | u32(c.offset) << 20;
        prev = i32(k);
    }
    if (prev >= 0) s.ext[usize(prev)].header &= 0xfffff;
    if (s.ext_count > 0 && s.ext[0].hide_end != 0) {
        ExtCapView& first = s.ext[0];
        u32 next = first.header >> 20;
        first.header = next == 0 ? 0 : next << 20;  // ID 0, version 0: skipped; nothing left: no chain
    }
}

bool VirtualConfig::is_virtual_cap(usize i, u16 dword) const
{
    const FnState& s = state_[i];
    u16 pcie = table_[i].caps.pcie;
    if (pcie != 0 && dword == pcie + kPcieSlotCaps) return true;
    if (dword < kExtCapStart) return false;
    for (usize k = 0; k < s.ext_count; ++k) {
        const ExtCapView& c = s.ext[k];
        if (dword == c.offset || (c.hide_end != 0 && dword >= c.offset && dword < c.hide_end)) return true;
    }
    return false;
}

u32 VirtualConfig::capability_read(usize i, u16 dword, u32 value) const
{
    const FnState& s = state_[i];
    u16 pcie = table_[i].caps.pcie;
    if (pcie != 0 && dword == pcie + kPcieSlotCaps)
        return value & ~u32(SlotCapsHotPlugCapable::kMask | SlotCapsHotPlugSurprise::kMask);  // no hot-plug offered
    for (usize k = 0; k < s.ext_count; ++k) {
        const ExtCapView& c = s.ext[k];
        if (dword == c.offset) return c.header;
        if (c.hide_end != 0 && dword >= c.offset && dword < c.hide_end) return 0;
    }
    return value;
}

// The bits of a dword the guest may not change (the hardware keeps them).
u32 VirtualConfig::capability_write_mask(usize i, u16 dword) const
{
    const PciFunction& f = table_[i];
    const FnState& s = state_[i];
    if (dword >= kExtCapStart) {
        if (s.ext_overflow) return 0xffffffffu;
        if (s.acs != 0 && dword == s.acs + kAcsControl) return 0xffff0000u;  // ACS control: passage's
        // Containment would cut off a hidden function below too.
        if (s.dpc != 0 && s.hidden_below && dword == s.dpc + kDpcControl) return kDpcTriggerBits;
        for (usize k = 0; k < s.ext_count; ++k) {
            const ExtCapView& c = s.ext[k];
            if (c.hide_end != 0 && dword >= c.offset && dword < c.hide_end) return 0xffffffffu;
        }
        return 0;
    }
    if (!s.hidden_below) return 0;
    // A port above a hidden function: no reset, link disable or power-off
    // that would reach it.
    if (f.is_bridge && dword == kInterruptLine) return BridgeControlSecondaryReset::kMask;
    if (f.caps.pm != 0 && dword == f.caps.pm + kPmControl) return PmControlPowerState::kMask;  // D3 resets what is below
    u16 pcie = f.caps.pcie;
    if (pcie != 0 && dword == pcie + kPcieLinkControl) return LinkControlDisable::kMask;
    if (pcie != 0 && dword == pcie + kPcieSlotControl) return SlotControlPowerOff::kMask;
    return 0;
}

}  // namespace passage::pci
