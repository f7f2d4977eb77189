// Virtual configuration space: see include/passage/pci/vconfig.h.
//
// Register layout from the PCI Local Bus Specification 3.0 (6.2.5: BARs and
// the expansion ROM) and the PCI-to-PCI Bridge Architecture Specification
// 1.2 (3.2.5: bus numbers and windows). Every access is handled a dword at a
// time: the bytes it touches are either passed to the hardware with the
// guest's own width and offset, or merged into a virtual 32-bit register.
#include "passage/pci/vconfig.h"

#include <cstdarg>

#include "passage/cmdline.h"
#include "passage/format.h"
#include "passage/log.h"
#include "passage/pci/enumerate.h"
#include "passage/pci/regs.h"

namespace passage::pci {
namespace {

using ull = unsigned long long;
constexpr u64 k4GiB = u64{1} << 32;

struct BdfName {
    char text[16];
    BdfName(u16 segment, Bdf bdf) { format_bdf(text, sizeof text, segment, bdf); }
    const char* c_str() const { return text; }
};

constexpr u32 ones(unsigned size) { return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }

bool valid_access(u16 reg, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && reg % size == 0 && reg + size <= 0x1000;
}

// [base, base + size) inside [lo, lo + len).
bool inside(u64 base, u64 size, u64 lo, u64 len)
{
    return size != 0 && size <= len && base >= lo && base - lo <= len - size;
}

// The pages stage 2 maps for a memory BAR.
u64 page_base(const PciBar& b) { return align_down(b.cpu_addr, kPageSize); }
u64 page_span(const PciBar& b) { return align_up(b.cpu_addr + b.size, kPageSize) - page_base(b); }

bool same_ref(const plan::DeviceRef& r, const PciFunction& f) { return r.segment == f.segment && r.bdf == f.bdf; }

bool listed(const plan::DeviceRef* refs, usize n, const PciFunction& f)
{
    for (usize k = 0; k < n; ++k)
        if (same_ref(refs[k], f)) return true;
    return false;
}

bool parse_hex(const char*& p, unsigned digits_max, unsigned& out)
{
    unsigned v = 0, n = 0;
    for (; n < digits_max; ++n, ++p) {
        char c = *p;
        unsigned d;
        if (c >= '0' && c <= '9') d = unsigned(c - '0');
        else if (c >= 'a' && c <= 'f') d = unsigned(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = unsigned(c - 'A' + 10);
        else break;
        v = v * 16 + d;
    }
    out = v;
    return n > 0;
}

const char* bar_name(const PciBar& bar, char (&buf)[8])
{
    if (bar.is_rom()) return "ROM";
    format(buf, sizeof buf, "BAR%u", unsigned(bar.index));
    return buf;
}

const char* window_label(WindowKind k)
{
    return k == WindowKind::Io ? "I/O window" : k == WindowKind::Mem ? "memory window" : "prefetchable window";
}

}  // namespace

// ---------------------------------------------------------------------------
// options

Status parse_bdf_list(const char* text, plan::DeviceRef* refs, usize max, usize& count, Diagnostic& diag)
{
    const char* p = text;
    while (*p != '\0') {
        const char* start = p;
        unsigned a = 0, b = 0, c = 0, fn = 0;
        bool ok = parse_hex(p, 4, a) && *p == ':';
        if (ok) ++p;
        ok = ok && parse_hex(p, 2, b);
        unsigned seg = 0, bus = a, dev = b;
        if (ok && *p == ':') {  // segment:bus:dev.fn
            ++p;
            ok = parse_hex(p, 2, c);
            seg = a, bus = b, dev = c;
        }
        ok = ok && *p == '.';
        if (ok) ++p;
        ok = ok && *p >= '0' && *p <= '7';
        if (ok) fn = unsigned(*p++ - '0');
        ok = ok && (*p == ',' || *p == '\0') && bus <= 0xff && dev <= 31 && seg <= 0xffff;
        if (!ok) {
            format(diag.text, sizeof diag.text, "device list: cannot read \"%s\" (want 0000:00:03.0)", start);
            return Failure{Error::InvalidArgument, 0};
        }
        if (count == max) {
            format(diag.text, sizeof diag.text, "device list: more than %zu devices", max);
            return Failure{Error::NoMemory, max};
        }
        refs[count++] = {u16(seg), {u8(bus), u8(dev), u8(fn)}};
        if (*p == ',') ++p;
    }
    return {};
}

Status parse_vconfig_options(const char* cmdline, VconfigOptions& out, Diagnostic& diag)
{
    out = VconfigOptions{};
    char buf[256];
    if (cmdline_option(cmdline, "assign", buf, sizeof buf)) {
        out.assign_given = true;
        if (auto s = parse_bdf_list(buf, out.assign, VconfigOptions::kMax, out.assign_count, diag); !s) return s;
    }
    if (cmdline_option(cmdline, "deny", buf, sizeof buf))
        if (auto s = parse_bdf_list(buf, out.deny, VconfigOptions::kMax, out.deny_count, diag); !s) return s;
    return {};
}

usize collect_forbidden(const Platform& p, MemRange hyp, const plan::GuestPlan& plan, std::span<MemRange> out)
{
    usize n = 0;
    auto add = [&](MemRange r) {
        if (r.size != 0 && n < out.size()) out[n++] = r;
    };
    // Passage itself and all of RAM, whatever the guest is given of it: the
    // host bridge windows come from the device tree, and a wrong one must
    // not let a BAR land on memory.
    add(hyp);
    for (usize i = 0; i < p.memory_count; ++i) add(p.memory[i]);
    for (usize i = 0; i < plan.count; ++i) {
        const plan::GuestRegion& r = plan.regions[i];
        if (r.cls != plan::RegionClass::PciBar) add({r.pa, r.size});
    }
    return n;
}

// ---------------------------------------------------------------------------
// setup

namespace {

// What a function whose segment has no host bridge reaches: nothing.
class NoConfigSpace final : public ConfigAccess {
public:
    u8 read8(Bdf, u16) override { return 0xff; }
    u16 read16(Bdf, u16) override { return 0xffff; }
    u32 read32(Bdf, u16) override { return 0xffffffff; }
    void write8(Bdf, u16, u8) override {}
    void write16(Bdf, u16, u16) override {}
    void write32(Bdf, u16, u32) override {}
};
constinit NoConfigSpace g_no_config_space;

}  // namespace

VirtualConfig::VirtualConfig(DeviceTable& table, ConfigAccess& hw, std::span<const PciHostBridge> hosts,
                             Stage2Mover& mover)
    : table_(table), hosts_(hosts.first(hosts.size() < kMaxHosts ? hosts.size() : kMaxHosts)), mover_(mover)
{
    for (usize k = 0; k < hosts_.size(); ++k) hw_[k] = &hw;
    read_hardware();
}

VirtualConfig::VirtualConfig(DeviceTable& table, std::span<ConfigAccess* const> hw, std::span<const PciHostBridge> hosts,
                             Stage2Mover& mover)
    : table_(table), hosts_(hosts.first(hosts.size() < kMaxHosts ? hosts.size() : kMaxHosts)), mover_(mover)
{
    for (usize k = 0; k < hosts_.size(); ++k) hw_[k] = k < hw.size() && hw[k] != nullptr ? hw[k] : &g_no_config_space;
    read_hardware();
}

void VirtualConfig::read_hardware()
{
    usize n = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    for (usize i = 0; i < n; ++i) {
        const PciFunction& f = table_[i];
        FnState& s = state_[i];
        s = FnState{};
        s.mem_on = CmdMem::get(hw(f).read16(f.bdf, kCommand)) != 0;
        for (unsigned j = 0; j < 6; ++j) {
            bool upper = false;
            const PciBar* bar = bar_at(f, j, upper);
            if (bar == nullptr) continue;
            u64 addr = bar->assigned() ? bar->pci_addr : 0;
            s.bar_reg[j] = upper ? u32(addr >> 32) : (u32(addr) & bar_writable(*bar, false)) | bar_type_bits(*bar);
        }
        const PciBar& rom = f.rom();
        if (rom.present() && rom.assigned()) s.rom_reg = u32(rom.pci_addr) & bar_writable(rom, false);
        // The plan maps every assigned memory BAR and ROM.
        for (unsigned b = 0; b < PciFunction::kBars; ++b) {
            const PciBar& bar = f.bars[b];
            s.mapped[b] = bar.present() && bar.assigned() && bar.kind != BarKind::Io;
        }
        if (!f.is_bridge) continue;
        s.io_base_limit = hw(f).read16(f.bdf, kIoBase);
        s.io_upper = hw(f).read32(f.bdf, kIoBaseUpper);
        s.mem = hw(f).read32(f.bdf, kMemBase);
        s.pref = hw(f).read32(f.bdf, kPrefBase);
        s.pref_upper = hw(f).read32(f.bdf, kPrefBaseUpper);
        s.pref_limit_upper = hw(f).read32(f.bdf, kPrefLimitUpper);
        s.io_cap = u8(s.io_base_limit & 0xf);
        s.pref_cap = u8(s.pref & 0xf);
        s.committed = {s.io_base_limit, s.io_upper, s.mem, s.pref, s.pref_upper, s.pref_limit_upper};
    }
    for (usize i = n; i < kMaxFunctions; ++i) state_[i] = FnState{};
}

void VirtualConfig::hide(usize i, const char* fmt, ...)
{
    FnState& s = state_[i];
    if (s.disp == Disposition::Hidden) return;  // the first reason stands
    s.disp = Disposition::Hidden;
    va_list ap;
    va_start(ap, fmt);
    vformat(s.reason, sizeof s.reason, fmt, ap);
    va_end(ap);
}

void VirtualConfig::apply_policy(const VconfigOptions& options, const plan::Policy& policy)
{
    usize n = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    for (usize i = 0; i < n; ++i) {
        const PciFunction& f = table_[i];
        FnState& s = state_[i];
        s.disp = Disposition::Assigned;
        s.reason[0] = '\0';
        for (const PciBar& bar : f.bars) {
            if ((bar.present() && !bar.assigned()) || bar.status == BarStatus::Invalid) {
                char name[8];
                hide(i, "%s did not fit (%s)", bar_name(bar, name), bar_status_name(bar.status));
                break;
            }
        }
        if (f.header_type != kHeaderEndpoint && f.header_type != kHeaderBridge)
            hide(i, "header type %u not supported", f.header_type);  // CardBus: no BARs or windows passage owns
        if (listed(options.deny, options.deny_count, f)) hide(i, "passage.deny");
        for (usize q = 0; q < policy.quirk_count; ++q)
            if (policy.quirks[q].vendor == f.vendor && policy.quirks[q].device == f.device)
                hide(i, "quirk: %s", policy.quirks[q].reason != nullptr ? policy.quirks[q].reason : "listed");
        if (options.assign_given && !f.is_bridge && !listed(options.assign, options.assign_count, f))
            hide(i, "not in passage.assign");
        if (s.disp != Disposition::Hidden) {
            for (usize k = 0; k < policy.device_mmio_count; ++k) {
                if (!same_ref(policy.device_mmio[k], f)) continue;
                s.disp = Disposition::KeptDevice;
                format(s.reason, sizeof s.reason, "passage.device_mmio%s", policy.fwb ? "" : " (a cap without FWB)");
            }
        }
    }
    // Down: parents come before their children in the table.
    for (usize i = 0; i < n; ++i) {
        i32 p = table_[i].parent;
        if (p != kNoParent && usize(p) < n && state_[usize(p)].disp == Disposition::Hidden) {
            const PciFunction& b = table_[usize(p)];
            hide(i, "behind hidden bridge %s", BdfName(b.segment, b.bdf).c_str());
        }
    }
    // A device without function 0 is absent (PCI scans stop there): when
    // function 0 is hidden, so are its siblings.
    for (usize i = 0; i < n; ++i) {
        const PciFunction& f = table_[i];
        if (f.bdf.fn == 0) continue;
        i32 f0 = index_of(f.segment, Bdf{f.bdf.bus, f.bdf.dev, 0});
        if (f0 >= 0 && !visible(usize(f0))) hide(i, "function 0 of its device is hidden");
    }
    // Up: a bridge leading only to hidden functions is hidden too.
    for (usize i = n; i-- > 0;) {
        const PciFunction& f = table_[i];
        if (!f.is_bridge || state_[i].disp == Disposition::Hidden) continue;
        bool any = false, any_visible = false;
        for (i32 c = f.first_child; c >= 0; c = table_[usize(c)].next_sibling) {
            any = true;
            if (visible(usize(c))) any_visible = true;
        }
        if (any && !any_visible) hide(i, "leads only to hidden functions");
        else if (!any && options.assign_given && !listed(options.assign, options.assign_count, f))
            hide(i, "not in passage.assign");
    }
    // A function 0 whose siblings are all hidden reads as single-function.
    for (usize i = 0; i < n; ++i) {
        const PciFunction& f = table_[i];
        state_[i].single_function = false;
        if (f.bdf.fn != 0 || !visible(i)) continue;
        bool sibling = false;
        for (usize j = 0; j < n && !sibling; ++j) {
            const PciFunction& g = table_[j];
            sibling = j != i && g.segment == f.segment && g.bdf.bus == f.bdf.bus && g.bdf.dev == f.bdf.dev && visible(j);
        }
        state_[i].single_function = !sibling;
    }
}

void VirtualConfig::set_forbidden(std::span<const MemRange> ranges)
{
    forbidden_count_ = 0;
    for (const MemRange& r : ranges) {
        if (forbidden_count_ == kMaxForbidden) break;
        forbidden_[forbidden_count_++] = r;
    }
}

Status VirtualConfig::hide_in_stage2()
{
    usize n = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    for (usize i = 0; i < n; ++i) {
        if (visible(i) && state_[i].mem_on) continue;
        for (unsigned b = 0; b < PciFunction::kBars; ++b)
            if (state_[i].mapped[b])
                if (auto s = unmap_bar(i, b); !s) return s;
        if (!visible(i)) {
            // A hidden function stops decoding and mastering: the guest
            // reaches the PCI I/O window and could otherwise poke its I/O
            // BARs, and its addresses become free for the guest's own BARs.
            u16 cmd = hw(table_[i]).read16(table_[i].bdf, kCommand);
            hw(table_[i]).write16(table_[i].bdf, kCommand, u16(cmd & ~(CmdIo::kMask | CmdMem::kMask | CmdBusMaster::kMask)));
            table_[i].mem_enabled = false;
            table_[i].io_enabled = false;
        }
    }
    return {};
}

// ---------------------------------------------------------------------------
// lookup

i32 VirtualConfig::index_of(u16 segment, Bdf bdf) const
{
    usize n = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    for (usize i = 0; i < n; ++i)
        if (table_[i].segment == segment && table_[i].bdf == bdf) return i32(i);
    return -1;
}

const PciHostBridge* VirtualConfig::host_of(const PciFunction& f) const
{
    for (const PciHostBridge& h : hosts_)
        if (h.segment == f.segment) return &h;
    return nullptr;
}

ConfigAccess& VirtualConfig::hw(const PciFunction& f) const
{
    for (usize k = 0; k < hosts_.size(); ++k)
        if (hosts_[k].segment == f.segment) return *hw_[k];
    return g_no_config_space;
}

bool VirtualConfig::is_descendant(usize child, usize ancestor) const
{
    for (i32 p = table_[child].parent; p != kNoParent; p = table_[usize(p)].parent)
        if (usize(p) == ancestor) return true;
    return false;
}

// ---------------------------------------------------------------------------
// register classification

bool VirtualConfig::is_bar_reg(const PciFunction& f, u16 dword) const
{
    u16 count = f.is_bridge ? kType1BarCount : f.header_type == kHeaderEndpoint ? kType0BarCount : 0;
    return dword >= kBar0 && dword < kBar0 + 4 * count;
}

bool VirtualConfig::is_window_reg(const PciFunction& f, u16 dword) const
{
    return f.is_bridge && (dword == kIoBase || (dword >= kMemBase && dword <= kIoBaseUpper));
}

// The BAR register `slot` belongs to: a BAR itself, or the upper half of the
// 64-bit BAR below it; nullptr for an unimplemented slot.
const PciBar* VirtualConfig::bar_at(const PciFunction& f, unsigned slot, bool& upper) const
{
    upper = false;
    if (!is_bar_reg(f, u16(kBar0 + 4 * slot))) return nullptr;
    const PciBar& b = f.bars[slot];
    if (b.present()) return &b;
    if (slot > 0 && f.bars[slot - 1].kind == BarKind::Mem64 && f.bars[slot - 1].present()) {
        upper = true;
        return &f.bars[slot - 1];
    }
    return nullptr;
}

u32 VirtualConfig::bar_writable(const PciBar& bar, bool upper) const
{
    u64 mask = ~(bar.size - 1);
    if (bar.is_rom()) return u32(mask) & kRomAddrMask;
    if (upper) return u32(mask >> 32);
    return u32(mask) & (bar.kind == BarKind::Io ? kBarIoAddrMask : kBarMemAddrMask);
}

u32 VirtualConfig::bar_type_bits(const PciBar& bar) const
{
    if (bar.kind == BarKind::Io) return 0x1;
    u32 bits = bar.prefetchable ? u32(BarPrefetchable::kMask) : 0;
    if (bar.kind == BarKind::Mem64) bits |= kBarMemType64 << BarMemType::kLow;
    return bits;
}

u32 VirtualConfig::virtual_dword(usize i, u16 dword)
{
    const PciFunction& f = table_[i];
    const FnState& s = state_[i];
    if (is_bar_reg(f, dword)) return s.bar_reg[(dword - kBar0) / 4];
    if (dword == rom_reg_offset(f)) return s.rom_reg;
    switch (dword) {
    case kIoBase: return s.io_base_limit | u32(hw(f).read16(f.bdf, 0x1e)) << 16;  // + secondary status
    case kMemBase: return s.mem;
    case kPrefBase: return s.pref;
    case kPrefBaseUpper: return s.pref_upper;
    case kPrefLimitUpper: return s.pref_limit_upper;
    case kIoBaseUpper: return s.io_upper;
    default: return 0;
    }
}

// ---------------------------------------------------------------------------
// accesses

u32 VirtualConfig::read(u16 segment, Bdf bdf, u16 reg, unsigned size)
{
    if (!valid_access(reg, size)) return ones(size);
    i32 idx = index_of(segment, bdf);
    if (idx < 0 || !visible(usize(idx))) return ones(size);
    usize i = usize(idx);
    const PciFunction& f = table_[i];
    u16 dword = u16(reg & ~3u);
    bool virt = is_bar_reg(f, dword) || dword == rom_reg_offset(f) || is_window_reg(f, dword);
    if (virt) return (virtual_dword(i, dword) >> (8 * (reg & 3))) & ones(size);
    if (dword == (kHeaderType & ~3u) && state_[i].single_function) {
        u32 d = hw(f).read32(f.bdf, dword) & ~(u32(HeaderMultiFunction::kMask) << 16);
        return (d >> (8 * (reg & 3))) & ones(size);
    }
    switch (size) {
    case 1: return hw(f).read8(f.bdf, reg);
    case 2: return hw(f).read16(f.bdf, reg);
    default: return hw(f).read32(f.bdf, reg);
    }
}

void VirtualConfig::write(u16 segment, Bdf bdf, u16 reg, unsigned size, u32 value)
{
    if (!valid_access(reg, size)) return;
    i32 idx = index_of(segment, bdf);
    if (idx < 0 || !visible(usize(idx))) return;
    usize i = usize(idx);
    const PciFunction& f = table_[i];
    value &= ones(size);
    u16 dword = u16(reg & ~3u);
    unsigned shift = 8 * (reg & 3);
    u32 mask = ones(size) << shift;
    u32 v = value << shift;

    if (is_bar_reg(f, dword) || dword == rom_reg_offset(f) || (is_window_reg(f, dword) && dword != kIoBase)) {
        write_virtual(i, dword, v, mask);
        return;
    }
    if (f.is_bridge && dword == kPrimaryBus) {
        // Bus numbers are fixed; the secondary latency timer (0x1b) passes.
        if ((mask & 0xff000000u) != 0) hw(f).write8(f.bdf, 0x1b, u8(v >> 24));
        return;
    }
    if (f.is_bridge && dword == kIoBase) {
        if ((mask & 0xffff) != 0) write_virtual(i, dword, v, mask & 0xffff);
        if ((mask & 0xffff0000u) != 0) {  // secondary status (RW1C) passes
            if (size == 4) hw(f).write16(f.bdf, 0x1e, u16(v >> 16));
            else if (size == 2) hw(f).write16(f.bdf, reg, u16(value));
            else hw(f).write8(f.bdf, reg, u8(value));
        }
        return;
    }
    // A 64-bit BAR with one half written is placed (or refused) before
    // decoding changes: the guest is done moving it. Decoding turned on
    // from off: the hardware may have been reset, so it gets passage's
    // state back first.
    if (dword == kCommand && (mask & 0xffff) != 0) {
        settle_pending_bars(i);
        constexpr u32 kDecode = CmdIo::kMask | CmdMem::kMask;
        u16 now = hw(f).read16(f.bdf, kCommand);
        if ((mask & kDecode) != 0 && (v & kDecode) != 0 && (now & kDecode) == 0) reprogram(i);
    }
    switch (size) {
    case 1: hw(f).write8(f.bdf, reg, u8(value)); break;
    case 2: hw(f).write16(f.bdf, reg, u16(value)); break;
    default: hw(f).write32(f.bdf, reg, value); break;
    }
    if (dword == kCommand && (mask & 0xffff) != 0) {
        bool on = CmdMem::get(hw(f).read16(f.bdf, kCommand)) != 0;
        if (on != state_[i].mem_on) decoding_changed(i, on);
    }
}

void VirtualConfig::write_virtual(usize i, u16 dword, u32 v, u32 mask)
{
    const PciFunction& f = table_[i];
    FnState& s = state_[i];
    auto merge = [&](u32 old) { return (old & ~mask) | (v & mask); };
    if (is_bar_reg(f, dword)) {
        unsigned slot = (dword - kBar0) / 4;
        bool upper = false;
        const PciBar* bar = bar_at(f, slot, upper);
        if (bar == nullptr) return;  // unimplemented: reads 0
        s.bar_reg[slot] = (merge(s.bar_reg[slot]) & bar_writable(*bar, upper)) | (upper ? 0 : bar_type_bits(*bar));
        bar_written(i, bar->index, upper);
        return;
    }
    if (dword == rom_reg_offset(f)) {
        const PciBar& rom = f.rom();
        if (!rom.present()) return;
        s.rom_reg = merge(s.rom_reg) & (bar_writable(rom, false) | RomEnable::kMask);
        rom_written(i);
        return;
    }
    const BridgeWindow* w = f.windows;
    bool io = w[usize(WindowKind::Io)].implemented;
    bool pref = w[usize(WindowKind::Pref)].implemented;
    bool pref64 = w[usize(WindowKind::Pref)].decodes64;
    switch (dword) {
    case kIoBase:
        if (!io) return;
        s.io_base_limit = u16((merge(s.io_base_limit) & 0xf0f0) | s.io_cap | s.io_cap << 8);
        window_written(i, WindowKind::Io);
        return;
    case kIoBaseUpper:
        if (!io || s.io_cap != 1) return;
        s.io_upper = merge(s.io_upper);
        window_written(i, WindowKind::Io);
        return;
    case kMemBase:
        s.mem = merge(s.mem) & 0xfff0fff0u;
        window_written(i, WindowKind::Mem);
        return;
    case kPrefBase:
        if (!pref) return;
        s.pref = (merge(s.pref) & 0xfff0fff0u) | s.pref_cap | u32(s.pref_cap) << 16;
        window_written(i, WindowKind::Pref);
        return;
    case kPrefBaseUpper:
    case kPrefLimitUpper: {
        if (!pref64) return;
        u32& r = dword == kPrefBaseUpper ? s.pref_upper : s.pref_limit_upper;
        r = merge(r);
        window_written(i, WindowKind::Pref);
        return;
    }
    default: return;
    }
}

// ---------------------------------------------------------------------------
// BARs and the ROM

void VirtualConfig::bar_written(usize i, unsigned index, bool upper)
{
    PciFunction& f = table_[i];
    PciBar& bar = f.bars[index];
    FnState& s = state_[i];
    u32 wl = bar_writable(bar, false);
    u32 lo = s.bar_reg[index] & wl;
    u64 addr = lo;
    if (bar.kind == BarKind::Mem64) {
        // A move is judged once both halves are written, in either order.
        // All-ones reads back the size mask: in the high half it is never
        // an address; in the low half it is one only with a high half
        // written after it (a BAR at the top of a 4 GiB-aligned stretch).
        u32 hi = s.bar_reg[index + 1];
        addr |= u64(hi) << 32;
        s.halves[index] |= upper ? 2 : 1;
        if (hi == bar_writable(bar, true)) return;
        if (!upper && lo == wl && s.halves[index] != 3) return;
    } else if (lo == wl) {
        return;  // sizing: the hardware is not touched
    }
    if (bar.assigned() && addr == bar.pci_addr) {
        s.halves[index] = 0;
        return;
    }
    if (bar.kind == BarKind::Mem64 && s.halves[index] != 3) return;  // the other half (or a Command write) settles it
    place_bar(i, bar, addr);
}

void VirtualConfig::place_bar(usize i, PciBar& bar, u64 addr)
{
    PciFunction& f = table_[i];
    FnState& s = state_[i];
    if (!bar.is_rom()) s.halves[bar.index] = 0;
    u64 cpu = 0;
    const char* why = nullptr;
    if (bar_place_ok(i, bar, addr, cpu, why) && commit_bar(i, bar, addr, cpu, why)) return;
    char name[8];
    log_refused(i, bar_name(bar, name), addr, why);
    restore_virtual_bar(i, bar);
    // A ROM's enable bit stands: at the committed address.
    if (bar.is_rom()) hw(f).write32(f.bdf, rom_reg_offset(f), u32(bar.pci_addr) | (s.rom_reg & RomEnable::kMask));
}

void VirtualConfig::settle_pending_bars(usize i)
{
    PciFunction& f = table_[i];
    FnState& s = state_[i];
    for (unsigned b = 0; b < 6; ++b) {
        if (s.halves[b] == 0) continue;
        PciBar& bar = f.bars[b];
        u64 addr = (s.bar_reg[b] & bar_writable(bar, false)) | u64(s.bar_reg[b + 1]) << 32;
        bool sizing = (s.bar_reg[b] & bar_writable(bar, false)) == bar_writable(bar, false) ||
                      s.bar_reg[b + 1] == bar_writable(bar, true);
        if (sizing || (bar.assigned() && addr == bar.pci_addr)) {
            s.halves[b] = 0;
            restore_virtual_bar(i, bar);  // a sizing pattern left behind reads the address again
            continue;
        }
        place_bar(i, bar, addr);
    }
}

void VirtualConfig::rom_written(usize i)
{
    PciFunction& f = table_[i];
    PciBar& rom = f.bars[PciBar::kRomIndex];
    FnState& s = state_[i];
    u32 w = bar_writable(rom, false);
    u64 addr = s.rom_reg & w;
    if ((s.rom_reg & w) == w) return;  // sizing
    if (addr == rom.pci_addr) {
        // Only the enable bit may have changed.
        hw(f).write32(f.bdf, rom_reg_offset(f), u32(rom.pci_addr) | (s.rom_reg & RomEnable::kMask));
        return;
    }
    place_bar(i, rom, addr);
}

bool VirtualConfig::bar_place_ok(usize i, const PciBar& bar, u64 pci, u64& cpu, const char*& why)
{
    const PciFunction& f = table_[i];
    const PciHostBridge* host = host_of(f);
    if (host == nullptr) {
        why = "no host bridge for its segment";
        return false;
    }
    bool io = bar.kind == BarKind::Io;
    bool found = false;
    usize nw = host->window_count < PciHostBridge::kMaxWindows ? host->window_count : PciHostBridge::kMaxWindows;
    for (usize k = 0; k < nw && !found; ++k) {
        const PciWindow& w = host->windows[k];
        if ((w.space == PciSpace::Io) != io) continue;
        if (!inside(pci, bar.size, w.pci_addr, w.size)) continue;
        if (bar.kind == BarKind::Mem32 && pci + bar.size > k4GiB) continue;
        cpu = pci + (w.cpu_addr - w.pci_addr);
        found = true;
    }
    if (!found) {
        why = "outside the host bridge's windows";
        return false;
    }
    PciBar moved = bar;
    moved.cpu_addr = cpu;
    u64 base = io ? cpu : page_base(moved);
    u64 span = io ? bar.size : page_span(moved);
    usize n = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    for (usize j = 0; j < n; ++j) {
        const PciFunction& g = table_[j];
        if (g.segment != f.segment) continue;
        if (!visible(j)) continue;  // hidden: no longer decodes (hide_in_stage2)
        for (const PciBar& o : g.bars) {
            if (j == i && o.index == bar.index) continue;
            if (!o.present() || !o.assigned() || (o.kind == BarKind::Io) != io) continue;
            u64 ob = io ? o.cpu_addr : page_base(o);
            u64 os = io ? o.size : page_span(o);
            if (!ranges_overlap(base, span, ob, os)) continue;
            char name[8];
            format(why_, sizeof why_, "overlaps %s %s", BdfName(g.segment, g.bdf).c_str(), bar_name(o, name));
            why = why_;
            return false;
        }
    }
    if (overlaps_foreign_window(i, io, io ? base : pci, io ? span : bar.size, why)) return false;
    if (!io && overlaps_forbidden(base, span)) {
        why = "overlaps RAM or another device's region";
        return false;
    }
    return true;
}

bool VirtualConfig::overlaps_foreign_window(usize i, bool io, u64 base, u64 size, const char*& why)
{
    // The windows of bridges on other branches: a range there is forwarded
    // to that bridge's side and must not be decoded here too. Ancestors'
    // windows hold i's ranges; descendants' sit inside i's own window.
    const PciFunction& f = table_[i];
    usize n = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    for (usize j = 0; j < n; ++j) {
        const PciFunction& g = table_[j];
        if (j == i || !g.is_bridge || g.segment != f.segment || !visible(j)) continue;
        if (is_descendant(i, j) || is_descendant(j, i)) continue;
        for (usize k = 0; k < kWindowKinds; ++k) {
            const BridgeWindow& w = g.windows[k];
            if (!w.assigned() || (WindowKind(k) == WindowKind::Io) != io) continue;
            if (!ranges_overlap(base, size, io ? w.cpu_base : w.pci_base, w.size)) continue;
            format(why_, sizeof why_, "overlaps the %s of %s", window_label(WindowKind(k)),
                   BdfName(g.segment, g.bdf).c_str());
            why = why_;
            return true;
        }
    }
    return false;
}

bool VirtualConfig::overlaps_forbidden(u64 base, u64 size) const
{
    for (usize k = 0; k < forbidden_count_; ++k)
        if (ranges_overlap(base, size, forbidden_[k].base, forbidden_[k].size)) return true;
    return false;
}

// Stage 2 first (the old range unmapped, the new one mapped if decoding is
// on), then the hardware: the device never decodes where stage 2 does not
// follow. False, with stage 2 and the hardware as they were, when stage 2
// cannot follow (out of table pages).
bool VirtualConfig::commit_bar(usize i, PciBar& bar, u64 pci, u64 cpu, const char*& why)
{
    PciFunction& f = table_[i];
    FnState& s = state_[i];
    unsigned b = bar.index;
    bool was_mapped = s.mapped[b];
    if (was_mapped && !unmap_bar(i, b)) {
        why = "stage 2 cannot unmap its old range";
        return false;
    }
    const u64 old_pci = bar.pci_addr, old_cpu = bar.cpu_addr;
    bar.pci_addr = pci;
    bar.cpu_addr = cpu;
    if (s.mem_on && bar.kind != BarKind::Io && !map_bar(i, b)) {
        bar.pci_addr = old_pci;
        bar.cpu_addr = old_cpu;
        if (was_mapped) (void)map_bar(i, b);  // as it was: the pages the unmap gave back serve again
        why = "stage 2 cannot map the new range";
        return false;
    }
    u16 reg = bar.is_rom() ? rom_reg_offset(f) : u16(kBar0 + 4 * b);
    if (bar.is_rom()) {
        hw(f).write32(f.bdf, reg, u32(pci) | (s.rom_reg & RomEnable::kMask));
    } else if (bar.kind == BarKind::Mem64) {
        // Decoding off while the halves are written, so that the device never
        // decodes the half-moved address.
        u16 cmd = hw(f).read16(f.bdf, kCommand);
        bool on = CmdMem::get(cmd) != 0;
        if (on) hw(f).write16(f.bdf, kCommand, u16(cmd & ~CmdMem::kMask));
        hw(f).write32(f.bdf, reg, u32(pci));
        hw(f).write32(f.bdf, u16(reg + 4), u32(pci >> 32));
        if (on) hw(f).write16(f.bdf, kCommand, cmd);
    } else {
        hw(f).write32(f.bdf, reg, u32(pci));
    }
    ++moves;
    char name[8];
    if (log_level() >= LogLevel::Debug)  // the names cost more than the move's checks
        log_debug("PCI %s %s moved by the guest to 0x%llx", BdfName(f.segment, f.bdf).c_str(), bar_name(bar, name),
                  (ull)cpu);
    return true;
}

void VirtualConfig::restore_virtual_bar(usize i, const PciBar& bar)
{
    FnState& s = state_[i];
    if (bar.is_rom()) {
        s.rom_reg = (u32(bar.pci_addr) & bar_writable(bar, false)) | (s.rom_reg & RomEnable::kMask);
        return;
    }
    s.bar_reg[bar.index] = (u32(bar.pci_addr) & bar_writable(bar, false)) | bar_type_bits(bar);
    if (bar.kind == BarKind::Mem64) s.bar_reg[bar.index + 1] = u32(bar.pci_addr >> 32);
}

stage2::Attrs VirtualConfig::attrs_for(usize i, const PciBar& bar) const
{
    stage2::Attrs a;
    a.type = state_[i].disp == Disposition::KeptDevice ? stage2::MemType::DeviceNGnRE : stage2::MemType::NormalNC;
    a.access = bar.is_rom() ? stage2::Access::RO : stage2::Access::RW;
    a.exec = false;
    return a;
}

Status VirtualConfig::map_bar(usize i, unsigned b)
{
    const PciBar& bar = table_[i].bars[b];
    if (!bar.present() || !bar.assigned() || bar.kind == BarKind::Io) return {};
    Status st = mover_.map(IpaAddr(page_base(bar)), PhysAddr(page_base(bar)), page_span(bar), attrs_for(i, bar));
    if (!st) {
        log_error("PCI %s: stage-2 map of 0x%llx failed: %s", BdfName(table_[i].segment, table_[i].bdf).c_str(),
                  (ull)bar.cpu_addr, error_name(st.error()));
        return st;
    }
    state_[i].mapped[b] = true;
    return {};
}

Status VirtualConfig::unmap_bar(usize i, unsigned b)
{
    const PciBar& bar = table_[i].bars[b];
    Status st = mover_.unmap(IpaAddr(page_base(bar)), page_span(bar));
    if (!st) {
        log_error("PCI %s: stage-2 unmap of 0x%llx failed: %s", BdfName(table_[i].segment, table_[i].bdf).c_str(),
                  (ull)bar.cpu_addr, error_name(st.error()));
        return st;
    }
    state_[i].mapped[b] = false;
    return {};
}

void VirtualConfig::decoding_changed(usize i, bool on)
{
    state_[i].mem_on = on;
    for (unsigned b = 0; b < PciFunction::kBars; ++b) {
        if (on && !state_[i].mapped[b]) (void)map_bar(i, b);
        else if (!on && state_[i].mapped[b]) (void)unmap_bar(i, b);
    }
}

// ---------------------------------------------------------------------------
// bridge windows

// The window the virtual registers describe; false when closed (base above limit).
bool VirtualConfig::virtual_window(usize i, WindowKind kind, u64& base, u64& limit) const
{
    const FnState& s = state_[i];
    switch (kind) {
    case WindowKind::Io: {
        u64 up_base = s.io_cap == 1 ? (s.io_upper & 0xffff) : 0;
        u64 up_limit = s.io_cap == 1 ? (s.io_upper >> 16) : 0;
        base = u64(s.io_base_limit & 0xf0) << 8 | up_base << 16;
        limit = u64(s.io_base_limit >> 8 & 0xf0) << 8 | 0xfff | up_limit << 16;
        break;
    }
    case WindowKind::Mem:
        base = u64(s.mem & 0xfff0) << 16;
        limit = u64(s.mem & 0xfff00000u) | 0xfffff;
        break;
    case WindowKind::Pref: {
        bool is64 = table_[i].windows[usize(WindowKind::Pref)].decodes64;
        base = u64(s.pref & 0xfff0) << 16 | (is64 ? u64(s.pref_upper) << 32 : 0);
        limit = u64(s.pref & 0xfff00000u) | 0xfffff | (is64 ? u64(s.pref_limit_upper) << 32 : 0);
        break;
    }
    }
    return base <= limit;
}

void VirtualConfig::window_written(usize i, WindowKind kind)
{
    PciFunction& f = table_[i];
    const BridgeWindow& cur = f.windows[usize(kind)];
    u64 base = 0, limit = 0;
    bool open = virtual_window(i, kind, base, limit);
    if (open && cur.assigned() && base == cur.pci_base && limit == cur.pci_limit()) return;
    if (!open && !cur.assigned()) return;
    const char* why = nullptr;
    if (window_ok(i, kind, base, limit, open, why)) {
        program_window(i, kind);
        return;
    }
    if (!open) {
        // A window closed on the way to being reprogrammed (Linux clears the
        // upper limit first): the hardware keeps forwarding until it is open again.
        if (log_level() >= LogLevel::Debug)
            log_debug("PCI %s: %s closed by the guest; kept (%s)", BdfName(f.segment, f.bdf).c_str(),
                      window_label(kind), why);
        return;
    }
    log_refused(i, window_label(kind), base, why);
}

bool VirtualConfig::window_ok(usize i, WindowKind kind, u64 base, u64 limit, bool open, const char*& why)
{
    const PciFunction& f = table_[i];
    const PciHostBridge* host = host_of(f);
    if (host == nullptr) {
        why = "no host bridge for its segment";
        return false;
    }
    bool io = kind == WindowKind::Io;
    u64 size = open ? limit - base + 1 : 0;
    if (open) {
        bool found = false;
        usize nw = host->window_count < PciHostBridge::kMaxWindows ? host->window_count : PciHostBridge::kMaxWindows;
        for (usize k = 0; k < nw && !found; ++k) {
            const PciWindow& w = host->windows[k];
            if ((w.space == PciSpace::Io) != io) continue;
            if (kind == WindowKind::Mem && limit >= k4GiB) continue;
            found = inside(base, size, w.pci_addr, w.size);
        }
        if (!found) {
            why = "outside the host bridge's windows";
            return false;
        }
    }
    usize n = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    for (usize j = 0; j < n; ++j) {
        const PciFunction& g = table_[j];
        if (g.segment != f.segment || !visible(j)) continue;
        bool below = j != i && is_descendant(j, i);  // a bridge's own BARs sit on its primary side
        for (unsigned b = 0; b < PciFunction::kBars; ++b) {
            const PciBar& o = g.bars[b];
            if (!o.present() || !o.assigned() || (o.kind == BarKind::Io) != io) continue;
            char name[8];
            if (!below) {
                // Forwarding another branch's BAR down here would steal its addresses.
                if (open && ranges_overlap(base, size, o.pci_addr, o.size)) {
                    format(why_, sizeof why_, "overlaps %s %s", BdfName(g.segment, g.bdf).c_str(), bar_name(o, name));
                    why = why_;
                    return false;
                }
                continue;
            }
            // A BAR below that passage maps (or an I/O BAR decoding) must stay reachable.
            bool live = io ? visible(j) && CmdIo::get(hw(g).read16(g.bdf, kCommand)) != 0 : state_[j].mapped[b];
            if (!live) continue;
            bool covered = open && inside(o.pci_addr, o.size, base, size);
            if (!io) {
                WindowKind other = kind == WindowKind::Mem ? WindowKind::Pref : WindowKind::Mem;
                const BridgeWindow& ow = f.windows[usize(other)];
                if (ow.assigned() && inside(o.pci_addr, o.size, ow.pci_base, ow.size)) covered = true;
            }
            if (!covered) {
                format(why_, sizeof why_, "would cut off %s %s", BdfName(g.segment, g.bdf).c_str(), bar_name(o, name));
                why = why_;
                return false;
            }
        }
    }
    return !(open && overlaps_foreign_window(i, io, base, size, why));
}

void VirtualConfig::write_window(const PciFunction& f, const FnState& s, WindowKind kind)
{
    switch (kind) {
    case WindowKind::Io:
        hw(f).write32(f.bdf, kIoBaseUpper, s.committed.io_upper);
        hw(f).write16(f.bdf, kIoBase, s.committed.io_base_limit);
        break;
    case WindowKind::Mem: hw(f).write32(f.bdf, kMemBase, s.committed.mem); break;
    case WindowKind::Pref:
        hw(f).write32(f.bdf, kPrefBase, s.committed.pref);
        if (f.windows[usize(kind)].decodes64) {
            hw(f).write32(f.bdf, kPrefBaseUpper, s.committed.pref_upper);
            hw(f).write32(f.bdf, kPrefLimitUpper, s.committed.pref_limit_upper);
        }
        break;
    }
}

// After a reset (FLR, a secondary bus reset above it, D3hot to D0) a
// function has forgotten what passage programmed, while the guest's view
// and stage 2 still hold it; the guest restores its saved registers only
// where they read differently, and passage's virtual ones never do. So
// whenever decoding is turned on from off, the committed state goes back.
void VirtualConfig::reprogram(usize i)
{
    const PciFunction& f = table_[i];
    const FnState& s = state_[i];
    for (const PciBar& bar : f.bars) {
        if (!bar.present() || !bar.assigned()) continue;
        if (bar.is_rom()) {
            hw(f).write32(f.bdf, rom_reg_offset(f), u32(bar.pci_addr) | (s.rom_reg & RomEnable::kMask));
            continue;
        }
        u16 reg = u16(kBar0 + 4 * bar.index);
        hw(f).write32(f.bdf, reg, u32(bar.pci_addr));
        if (bar.kind == BarKind::Mem64) hw(f).write32(f.bdf, u16(reg + 4), u32(bar.pci_addr >> 32));
    }
    if (!f.is_bridge) return;
    hw(f).write8(f.bdf, kPrimaryBus, f.bdf.bus);
    hw(f).write8(f.bdf, kSecondaryBus, f.secondary);
    hw(f).write8(f.bdf, kSubordinateBus, f.subordinate);
    for (WindowKind k : {WindowKind::Io, WindowKind::Mem, WindowKind::Pref})
        if (f.windows[usize(k)].implemented) write_window(f, s, k);
}

void VirtualConfig::program_window(usize i, WindowKind kind)
{
    PciFunction& f = table_[i];
    FnState& s = state_[i];
    BridgeWindow& w = f.windows[usize(kind)];
    switch (kind) {
    case WindowKind::Io:
        s.committed.io_upper = s.io_upper;
        s.committed.io_base_limit = s.io_base_limit;
        break;
    case WindowKind::Mem: s.committed.mem = s.mem; break;
    case WindowKind::Pref:
        s.committed.pref = s.pref;
        s.committed.pref_upper = s.pref_upper;
        s.committed.pref_limit_upper = s.pref_limit_upper;
        break;
    }
    write_window(f, s, kind);
    u64 base = 0, limit = 0;
    if (virtual_window(i, kind, base, limit)) {
        const PciHostBridge* host = host_of(f);
        u64 offset = 0;
        usize nw = host->window_count < PciHostBridge::kMaxWindows ? host->window_count : PciHostBridge::kMaxWindows;
        for (usize k = 0; k < nw; ++k) {
            const PciWindow& hw = host->windows[k];
            if ((hw.space == PciSpace::Io) == (kind == WindowKind::Io) && inside(base, limit - base + 1, hw.pci_addr, hw.size))
                offset = hw.cpu_addr - hw.pci_addr;
        }
        w.pci_base = base;
        w.cpu_base = base + offset;
        w.size = limit - base + 1;
        w.status = BarStatus::Assigned;
    } else {
        w.size = 0;
        w.status = BarStatus::Unused;
    }
}

void VirtualConfig::log_refused(usize i, const char* what, u64 addr, const char* why)
{
    ++refused;
    const PciFunction& f = table_[i];
    log_warn("PCI %s: guest moved %s to 0x%llx: refused, %s", BdfName(f.segment, f.bdf).c_str(), what, (ull)addr,
             why != nullptr ? why : "invalid");
}

// ---------------------------------------------------------------------------
// ECAM addresses

bool VirtualConfig::claims(u64 ipa) const
{
    for (const PciHostBridge& h : hosts_)
        if (ipa >= h.ecam_base && ipa - h.ecam_base < h.ecam_size) return true;
    return false;
}

namespace {
struct EcamHit {
    bool ok = false;
    u16 segment = 0;
    Bdf bdf;
    u16 reg = 0;
};

EcamHit locate(std::span<const PciHostBridge> hosts, u64 ipa)
{
    EcamHit hit;
    for (const PciHostBridge& h : hosts) {
        if (ipa < h.ecam_base || ipa - h.ecam_base >= h.ecam_size) continue;
        u64 off = ipa - h.ecam_base;
        u64 bus = u64(h.bus_start) + (off >> 20);
        if (bus > h.bus_end) return hit;
        hit.ok = true;
        hit.segment = h.segment;
        hit.bdf = Bdf{u8(bus), u8(off >> 15 & 0x1f), u8(off >> 12 & 7)};
        hit.reg = u16(off & 0xfff);
        return hit;
    }
    return hit;
}
}  // namespace

u64 VirtualConfig::mmio_read(u64 ipa, unsigned size)
{
    EcamHit h = locate(hosts_, ipa);
    if (size == 8) {
        if (!h.ok || (h.reg & 7) != 0) return ~u64{0};
        return u64(read(h.segment, h.bdf, h.reg, 4)) | u64(read(h.segment, h.bdf, u16(h.reg + 4), 4)) << 32;
    }
    if (!h.ok) return ones(size);
    return read(h.segment, h.bdf, h.reg, size);
}

void VirtualConfig::mmio_write(u64 ipa, unsigned size, u64 value)
{
    EcamHit h = locate(hosts_, ipa);
    if (!h.ok) return;
    if (size == 8) {
        if ((h.reg & 7) != 0) return;
        write(h.segment, h.bdf, h.reg, 4, u32(value));
        write(h.segment, h.bdf, u16(h.reg + 4), 4, u32(value >> 32));
        return;
    }
    write(h.segment, h.bdf, h.reg, size, u32(value));
}

// ---------------------------------------------------------------------------
// the boot log

void VirtualConfig::status_text(usize index, char* buf, usize size) const
{
    const FnState& s = state_[index];
    switch (s.disp) {
    case Disposition::Assigned: format(buf, size, "assigned"); return;
    case Disposition::KeptDevice: format(buf, size, "kept Device-nGnRE: %s", s.reason); return;
    case Disposition::Hidden: format(buf, size, "hidden: %s", s.reason); return;
    }
}

void VirtualConfig::print_status() const
{
    usize n = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    for (usize i = 0; i < n; ++i) {
        const PciFunction& f = table_[i];
        char text[80];
        status_text(i, text, sizeof text);
        log_info("  PCI %s %04x:%04x  %s", BdfName(f.segment, f.bdf).c_str(), f.vendor, f.device, text);
    }
    for (usize i = n; i < table_.size(); ++i) {
        const PciFunction& f = table_[i];
        log_info("  PCI %s %04x:%04x  hidden: beyond the virtual config space's %zu functions",
                 BdfName(f.segment, f.bdf).c_str(), f.vendor, f.device, kMaxFunctions);
    }
}

}  // namespace passage::pci
