// Virtual configuration space, setup and dispatch: see
// include/passage/pci/vconfig.h. The registers' semantics are in
// vconfig_regs.cpp, what stage 2 shows the guest in vconfig_route.cpp.
//
// Every access is handled a dword at a time: the bytes it touches are either
// passed to the hardware with the guest's own width and offset, or merged
// into a virtual 32-bit register.
#include "passage/pci/vconfig.h"

#include "passage/pci/regs.h"
#include "vconfig_util.h"

namespace passage::pci {
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

bool valid_access(u16 reg, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && (reg & (size - 1)) == 0 && reg + size <= 0x1000;
}

}  // namespace

VirtualConfig::VirtualConfig(DeviceTable& table, const Dispositions& disp, ConfigAccess& hw,
                             std::span<const PciHostBridge> hosts, Stage2Mover& mover, PhysIo& io)
    : table_(table), disp_(disp), hosts_(hosts.first(hosts.size() < kMaxHosts ? hosts.size() : kMaxHosts)),
      mover_(mover), io_(io)
{
    for (usize k = 0; k < hosts_.size(); ++k) hw_[k] = &hw;
    read_hardware();
}

VirtualConfig::VirtualConfig(DeviceTable& table, const Dispositions& disp, std::span<ConfigAccess* const> hw,
                             std::span<const PciHostBridge> hosts, Stage2Mover& mover, PhysIo& io)
    : table_(table), disp_(disp), hosts_(hosts.first(hosts.size() < kMaxHosts ? hosts.size() : kMaxHosts)),
      mover_(mover), io_(io)
{
    for (usize k = 0; k < hosts_.size(); ++k) hw_[k] = k < hw.size() && hw[k] != nullptr ? hw[k] : &g_no_config_space;
    read_hardware();
}

void VirtualConfig::read_hardware()
{
    count_ = table_.size() < kMaxFunctions ? table_.size() : kMaxFunctions;
    if (count_ > disp_.size()) count_ = disp_.size();
    live_count_ = 0;
    io_window_count_ = mem_window_count_ = 0;
    for (const PciHostBridge& h : hosts_)
        for (usize k = 0; k < h.window_count && k < PciHostBridge::kMaxWindows; ++k) {
            const PciWindow& w = h.windows[k];
            if (w.size == 0) continue;
            if (w.space == PciSpace::Io) io_windows_[io_window_count_++] = {w.cpu_addr, w.size};
            else mem_windows_[mem_window_count_++] = {w.cpu_addr, w.size};
        }
    for (usize i = 0; i < count_; ++i) {
        const PciFunction& f = table_[i];
        FnState& s = state_.construct(i);
        s.acc = &hw(f);
        s.direct = s.acc->function_base(f.bdf);
        u16 cmd = s.acc->read16(f.bdf, kCommand);
        s.mem_on = CmdMem::get(cmd) != 0;
        s.io_on = CmdIo::get(cmd) != 0;
        for (unsigned j = 0; j < 6; ++j) {
            bool upper = false;
            const PciBar* bar = bar_at(f, j, upper);
            if (bar == nullptr) continue;
            u64 addr = bar->assigned() && !bar->fixed ? bar->pci_addr : 0;
            s.bar_reg[j] = upper ? u32(addr >> 32) : (u32(addr) & bar_writable(*bar, false)) | bar_type_bits(*bar);
        }
        const PciBar& rom = f.rom();
        if (rom.present() && rom.assigned() && !rom.fixed)
            s.rom_reg = (u32(rom.pci_addr) & bar_writable(rom, false)) |
                        (hw(f).read32(f.bdf, rom_reg_offset(f)) & RomEnable::kMask);
        // The plan mapped every memory BAR and ROM of a visible function
        // where enumeration put it; start() corrects what must not stay.
        for (unsigned b = 0; b < PciFunction::kBars; ++b) {
            const PciBar& bar = f.bars[b];
            Slot& sl = slots_.construct(i * PciFunction::kBars + b);
            if (!visible(i) || !bar.present() || !bar.assigned()) continue;
            sl.size = bar.size;
            sl.phys = bar.cpu_addr;
            sl.io = bar.kind == BarKind::Io;
            live_[live_count_++] = u16(i * PciFunction::kBars + b);
            if (!sl.io) {
                sl.route = BarRoute::Direct;
                sl.cpu = sl.active_cpu = bar.cpu_addr;
                sl.decoded = true;
            }
        }
        if (f.is_bridge) {
            WindowRegs& w = s.phys_win;
            w.io_base_limit = hw(f).read16(f.bdf, kIoBase);
            w.io_upper = hw(f).read32(f.bdf, kIoBaseUpper);
            w.mem = hw(f).read32(f.bdf, kMemBase);
            w.pref = hw(f).read32(f.bdf, kPrefBase);
            w.pref_upper = hw(f).read32(f.bdf, kPrefBaseUpper);
            w.pref_limit_upper = hw(f).read32(f.bdf, kPrefLimitUpper);
            s.io_cap = u8(w.io_base_limit & 0xf);
            s.pref_cap = u8(w.pref & 0xf);
            s.win = w;
            decode_windows(i);
        }
        if (visible(i) && f.caps.pcie != 0) read_ext_caps(i);
    }
    // Ports above a hidden function must not let the guest reset, unlink or
    // power it off.
    for (usize i = 0; i < count_; ++i) {
        if (visible(i)) continue;
        for (i32 p = table_[i].parent; p != kNoParent && usize(p) < count_; p = table_[usize(p)].parent)
            state_[usize(p)].hidden_below = true;
    }
    for (usize i = 0; i < count_; ++i) mark_special(i);
    index_functions();
    trapped_count_ = mem_trapped_count_ = conflict_count_ = 0;
}

// Sorted and merged, for a binary search on every placement.
// The header dwords passage answers or filters itself (bit n: offset 4n).
void VirtualConfig::mark_special(usize i)
{
    const PciFunction& f = table_[i];
    FnState& s = state_[i];
    auto mark = [&](u16 reg) { s.special |= u64{1} << (reg >> 2); };
    mark(kCommand);  // stage 2 follows decoding
    if (disp_.single_function(i)) mark(kHeaderType);
    for (u16 reg = 0; reg < 0x100; reg += 4)
        if (is_bar_reg(f, reg) || reg == rom_reg_offset(f) || is_window_reg(f, reg)) mark(reg);
    if (f.is_bridge) {
        mark(kPrimaryBus);
        mark(kInterruptLine);  // bridge control: secondary bus reset
    }
    if (f.caps.pm != 0 && f.caps.pm <= 0xf8) mark(u16(f.caps.pm + kPmControl));  // no D3 above a hidden function
    if (u16 pcie = f.caps.pcie; pcie != 0 && pcie <= 0xe0) {
        mark(u16(pcie + kPcieLinkControl));
        mark(u16(pcie + kPcieSlotCaps));
        mark(u16(pcie + kPcieSlotControl));
    }
}

void VirtualConfig::set_forbidden(std::span<const MemRange> ranges)
{
    forbidden_count_ = 0;
    for (const MemRange& r : ranges) {
        if (forbidden_count_ == kMaxForbidden) break;
        if (r.size == 0) continue;
        usize k = forbidden_count_++;
        for (; k > 0 && forbidden_[k - 1].base > r.base; --k) forbidden_[k] = forbidden_[k - 1];
        forbidden_[k] = r;
    }
    usize out = 0;
    for (usize k = 0; k < forbidden_count_; ++k) {
        MemRange r = forbidden_[k];
        if (out > 0 && r.base <= forbidden_[out - 1].end()) {
            MemRange& prev = forbidden_[out - 1];
            if (r.end() > prev.end()) prev.size = r.end() - prev.base;
            continue;
        }
        forbidden_[out++] = r;
    }
    forbidden_count_ = out;
}

Status VirtualConfig::start()
{
    for (usize i = 0; i < count_; ++i) {
        if (visible(i)) continue;
        // A hidden function stops decoding and mastering: its addresses are
        // free for the guest's own BARs, and it must not DMA.
        const PciFunction& f = table_[i];
        u16 cmd = hw(f).read16(f.bdf, kCommand);
        hw(f).write16(f.bdf, kCommand, u16(cmd & ~(CmdIo::kMask | CmdMem::kMask | CmdBusMaster::kMask)));
        table_[i].mem_enabled = false;
        table_[i].io_enabled = false;
    }
    u64 failures = map_failures;
    work_count_ = 0;
    for (usize k = 0; k < live_count_; ++k) {
        slots_[live_[k]].phase = 1;
        work_[work_count_++] = live_[k];
    }
    update();
    moves = 0;  // what the guest moves counts from here
    if (map_failures != failures) return Failure{Error::NoMemory, 0};
    return {};
}

// ---------------------------------------------------------------------------
// lookup

// Every function by segment and BDF, so a config access finds its function
// in one or two probes whatever the size of the table.
void VirtualConfig::index_functions()
{
    for (BdfSlot& e : by_bdf_) e = {};
    for (usize i = 0; i < count_; ++i) {
        u32 key = bdf_key(table_[i].segment, table_[i].bdf);
        usize h = bdf_hash(key);
        while (by_bdf_[h].index != 0) h = (h + 1) & (kBdfSlots - 1);  // count_ <= kBdfSlots / 2: a free one exists
        by_bdf_[h] = {key, u16(i + 1)};
    }
    __atomic_store_n(&page_hint_, u64{0}, __ATOMIC_RELAXED);
}

// The first function of the table with this segment and BDF (enumeration
// gives each one index), or -1.
i32 VirtualConfig::index_of(u16 segment, Bdf bdf) const
{
    if (bdf.dev > 31 || bdf.fn > 7) return -1;  // no such function (the key keeps 5 and 3 bits)
    const u32 key = bdf_key(segment, bdf);
    for (usize h = bdf_hash(key);; h = (h + 1) & (kBdfSlots - 1)) {
        const BdfSlot& e = by_bdf_[h];
        if (e.index == 0) return -1;
        if (e.key == key) return i32(e.index - 1);
    }
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
// accesses

// Whether a register passes straight to the hardware.
bool VirtualConfig::plain(const FnState& s, u16 reg) { return reg < 0x100 ? (s.special >> (reg >> 2) & 1) == 0 : s.ext_count == 0; }

u32 VirtualConfig::read(u16 segment, Bdf bdf, u16 reg, unsigned size)
{
    if (!valid_access(reg, size)) return ones(size);
    i32 idx = index_of(segment, bdf);
    if (idx < 0 || !visible(usize(idx))) return ones(size);
    usize i = usize(idx);
    const PciFunction& f = table_[i];
    if (const FnState& s = state_[i]; plain(s, reg)) {
        switch (size) {
        case 1: return s.acc->read8(f.bdf, reg);
        case 2: return s.acc->read16(f.bdf, reg);
        default: return s.acc->read32(f.bdf, reg);
        }
    }
    u16 dword = u16(reg & ~3u);
    unsigned shift = 8 * (reg & 3);
    if (is_bar_reg(f, dword) || dword == rom_reg_offset(f) || is_window_reg(f, dword))
        return (virtual_dword(i, dword) >> shift) & ones(size);
    if (dword == (kHeaderType & ~3u) && disp_.single_function(i)) {
        u32 d = hw(f).read32(f.bdf, dword) & ~(u32(HeaderMultiFunction::kMask) << 16);
        return (d >> shift) & ones(size);
    }
    if (is_virtual_cap(i, dword)) return (capability_read(i, dword, hw(f).read32(f.bdf, dword)) >> shift) & ones(size);
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
    if (const FnState& s = state_[i]; plain(s, reg)) {
        switch (size) {
        case 1: s.acc->write8(f.bdf, reg, u8(value)); return;
        case 2: s.acc->write16(f.bdf, reg, u16(value)); return;
        default: s.acc->write32(f.bdf, reg, value); return;
        }
    }
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
        // A guest restoring them after a reset above this bridge gets the
        // physical ones back into the hardware.
        if ((mask & 0xff000000u) != 0) hw(f).write8(f.bdf, 0x1b, u8(v >> 24));
        u32 want = u32(f.bdf.bus) | u32(f.secondary) << 8 | u32(f.subordinate) << 16;
        if ((hw(f).read32(f.bdf, kPrimaryBus) & 0xffffff) != want) {
            hw(f).write8(f.bdf, kPrimaryBus, f.bdf.bus);
            hw(f).write8(f.bdf, kSecondaryBus, f.secondary);
            hw(f).write8(f.bdf, kSubordinateBus, f.subordinate);
        }
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
    bool command = dword == kCommand && (mask & 0xffff) != 0;
    u16 new_command = 0;
    if (command) {
        u16 now = hw(f).read16(f.bdf, kCommand);
        new_command = u16((now & ~mask) | (v & mask));
        // Decoding turned on from off: the function may have been reset
        // (FLR, secondary bus reset, D3hot to D0) and lost passage's
        // physical BARs, which the guest's restore never rewrites.
        constexpr u32 kDecode = CmdIo::kMask | CmdMem::kMask;
        if ((now & kDecode) == 0 && (new_command & kDecode) != 0) reprogram(i);
    }
    if (u32 keep = capability_write_mask(i, dword) & mask; keep != 0) {
        if (keep == mask) return;  // nothing the guest may change
        u32 now = 0;
        switch (size) {
        case 1: now = u32(hw(f).read8(f.bdf, reg)) << shift; break;
        case 2: now = u32(hw(f).read16(f.bdf, reg)) << shift; break;
        default: now = hw(f).read32(f.bdf, reg); break;
        }
        value = ((v & ~keep) | (now & keep)) >> shift;
    }
    switch (size) {
    case 1: hw(f).write8(f.bdf, reg, u8(value)); break;
    case 2: hw(f).write16(f.bdf, reg, u16(value)); break;
    default: hw(f).write32(f.bdf, reg, value); break;
    }
    if (command) command_written(i, new_command);
}

// ---------------------------------------------------------------------------
// ECAM addresses

// The function and register an ECAM address names; claimed but not ok
// past the host bridge's last bus.
VirtualConfig::EcamHit VirtualConfig::locate(std::span<const PciHostBridge> hosts, u64 ipa)
{
    EcamHit hit;
    for (const PciHostBridge& h : hosts) {
        if (ipa < h.ecam_base || ipa - h.ecam_base >= h.ecam_size) continue;
        hit.claimed = true;
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

bool VirtualConfig::ecam_access(u64 ipa, unsigned size, bool write, u64& value)
{
    EcamHit h = locate(hosts_, ipa);
    if (!h.claimed) return false;
    if (write) write_at(h, size, value);
    else value = read_at(h, size);
    return true;
}

bool VirtualConfig::claims(u64 ipa) const
{
    for (const PciHostBridge& h : hosts_)
        if (ipa >= h.ecam_base && ipa - h.ecam_base < h.ecam_size) return true;
    return false;
}

bool VirtualConfig::read_plain(u64 ipa, unsigned size, u64& value) const
{
    const u16 reg = u16(ipa & 0xfff);
    if (!valid_access(reg, size)) return false;
    usize i = 0;
    u64 hint = __atomic_load_n(&page_hint_, __ATOMIC_RELAXED);
    if (hint != 0 && (hint ^ ipa) >> 12 == 0) {
        i = usize(hint & 0xfff) - 1;
    } else {
        EcamHit h = locate(hosts_, ipa);
        if (!h.ok) return false;
        i32 idx = index_of(h.segment, h.bdf);
        if (idx < 0 || !visible(usize(idx))) return false;
        i = usize(idx);
        __atomic_store_n(&page_hint_, (ipa & ~u64{0xfff}) | u64(i + 1), __ATOMIC_RELAXED);
    }
    const FnState& s = state_[i];
    if (!plain(s, reg)) return false;
    if (const std::uintptr_t a = s.direct + reg; s.direct != 0) {  // the ECAM itself: what acc would do, inline
        switch (size) {
        case 1: value = *reinterpret_cast<volatile const u8*>(a); break;
        case 2: value = *reinterpret_cast<volatile const u16*>(a); break;
        default: value = *reinterpret_cast<volatile const u32*>(a); break;
        }
        return true;
    }
    const Bdf bdf = table_[i].bdf;
    switch (size) {
    case 1: value = s.acc->read8(bdf, reg); break;
    case 2: value = s.acc->read16(bdf, reg); break;
    default: value = s.acc->read32(bdf, reg); break;
    }
    return true;
}

u64 VirtualConfig::read_at(const EcamHit& h, unsigned size)
{
    if (!h.ok) return size >= 8 ? ~u64{0} : ones(size);
    if (size == 8) {
        if ((h.reg & 7) != 0) return ~u64{0};
        return u64(read(h.segment, h.bdf, h.reg, 4)) | u64(read(h.segment, h.bdf, u16(h.reg + 4), 4)) << 32;
    }
    return read(h.segment, h.bdf, h.reg, size);
}

void VirtualConfig::write_at(const EcamHit& h, unsigned size, u64 value)
{
    if (!h.ok) return;
    if (size == 8) {
        if ((h.reg & 7) != 0) return;
        write(h.segment, h.bdf, h.reg, 4, u32(value));
        write(h.segment, h.bdf, u16(h.reg + 4), 4, u32(value >> 32));
        return;
    }
    write(h.segment, h.bdf, h.reg, size, u32(value));
}

u64 VirtualConfig::mmio_read(u64 ipa, unsigned size)
{
    u64 v = 0;
    if (!ecam_access(ipa, size, false, v)) return size >= 8 ? ~u64{0} : ones(size);
    return v;
}

void VirtualConfig::mmio_write(u64 ipa, unsigned size, u64 value) { (void)ecam_access(ipa, size, true, value); }

}  // namespace passage::pci
