// Enumeration in three passes over one host bridge:
//   1. scan: depth-first from the bridge's first bus; every function found is
//      recorded, its decoding turned off, its BARs sized and its capability
//      list walked; bridges get bus numbers;
//   2. size: bottom-up (the table is in bus order, so backwards), each
//      bridge's windows are made just large enough for what sits behind it;
//   3. place: the root bus's resources go into the host bridge's windows,
//      then top-down each bridge's window is split among its children, and
//      everything is written to the hardware with decoding turned on.
// A resource is placed by the same routine when sizing (from 0) and when
// placing (from the window's base, aligned as much as its largest child), so
// the two agree by construction.
#include "passage/pci/enumerate.h"

#include "passage/log.h"
#include "passage/pci/regs.h"
#include "passage/size_str.h"

namespace passage::pci {
namespace {

constexpr u64 k4GiB = u64{1} << 32;

constexpr u64 lowest_bit(u64 v) { return v & (~v + 1); }
constexpr unsigned log2_exact(u64 v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        ++n;
    }
    return n;
}
static_assert(lowest_bit(0xfffff000) == 0x1000);
static_assert(log2_exact(u64{1} << 34) == 34);

// Where a resource of a function (or a child bridge's window) is drawn from
// on the bus above it; for a bridge these are its three windows.
using Pool = WindowKind;

const char* bar_label(const PciBar& bar, char (&buf)[8])
{
    if (bar.is_rom()) return "ROM";
    buf[0] = 'B', buf[1] = 'A', buf[2] = 'R', buf[3] = char('0' + bar.index), buf[4] = '\0';
    return buf;
}

const char* window_name(WindowKind k)
{
    return k == WindowKind::Io ? "io" : k == WindowKind::Mem ? "mem" : "prefetchable";
}

// One thing to place on a bus: a BAR of a function there, or a window of a
// bridge there.
struct Item {
    PciFunction* owner = nullptr;
    PciBar* bar = nullptr;         // either this ...
    BridgeWindow* window = nullptr;  // ... or this
    u64 size = 0;
    u64 align = 0;
    bool pref = false;    // may sit in prefetchable space
    bool wants64 = false; // may sit above 4 GiB
    bool is_64bit_bar = false;

    BarStatus status() const { return bar != nullptr ? bar->status : window->status; }
};

class Enumerator {
public:
    Enumerator(const PciHostBridge& host, ConfigAccess& cfg, DeviceTable& table)
        : host_(host), cfg_(cfg), table_(table), first_(table.size())
    {
    }

    Result<EnumStats> run();

private:
    // --- pass 1: scan ---
    void scan_bus(u8 bus, i32 parent, unsigned depth);
    bool probe_function(Bdf bdf, i32 parent, i32& last_child, bool& multifunction);
    void scan_bridge(PciFunction& bridge, i32 index, unsigned depth);
    void size_bars(PciFunction& f, u16 count, u16 rom_reg);
    void size_rom(PciFunction& f, u16 reg);
    void probe_bridge_windows(PciFunction& f);
    void walk_capabilities(PciFunction& f);
    void read_ea(PciFunction& f);
    bool ea_entry(PciFunction& f, u16 at, u16 end);
    bool ea_fixed_buses(const PciFunction& bridge, u8& secondary, u8& subordinate);
    u64 fixed_end_in(const PciWindow& w) const;

    // --- pass 2 and 3: size and place ---
    template <typename Visit>
    void for_each_item(i32 parent, Visit&& visit);
    Pool pool_of(i32 parent, const Item& item) const;
    bool bridge_has(i32 parent, Pool pool) const;
    void size_windows(PciFunction& bridge, i32 index);
    u64 layout(i32 parent, Pool pool, u64 base, i64 offset, bool commit);
    void place_root();
    int window_rank(const Item& item, Pool pool, const PciWindow& w) const;
    void place_children(PciFunction& bridge, i32 index);
    void fail_item(const Item& item, BarStatus why, const char* detail);
    void program(PciFunction& f);
    void program_windows(PciFunction& f);

    u64 largest_window(bool io, bool low_only) const;
    void warn_bar(const PciFunction& f, const PciBar& bar, const char* what);
    void problem() { ++stats_.problems; }

    const PciHostBridge& host_;
    ConfigAccess& cfg_;
    DeviceTable& table_;
    usize first_;          // our first entry in the table
    u8 bus_end_ = 0;       // last usable bus number
    unsigned next_bus_ = 0;
    i32 root_first_ = -1;  // first function on the root bus
    bool table_full_reported_ = false;
    EnumStats stats_;
};

// ---------------------------------------------------------------------------
// pass 1: scan

Result<EnumStats> Enumerator::run()
{
    if (host_.bus_end < host_.bus_start) return Failure{Error::InvalidArgument, host_.bus_start};
    bus_end_ = host_.bus_end;
    if (host_.ecam_size != 0) {
        u64 buses = host_.ecam_size >> 20;
        if (buses == 0) return Failure{Error::InvalidArgument, host_.ecam_size};
        if (u64(bus_end_) - host_.bus_start + 1 > buses) bus_end_ = u8(host_.bus_start + buses - 1);
    }
    stats_.first_bus = host_.bus_start;
    next_bus_ = unsigned(host_.bus_start) + 1;

    scan_bus(host_.bus_start, kNoParent, 0);
    stats_.last_bus = u8(next_bus_ - 1);

    // Sizing bottom-up: children always sit after their bridge.
    for (usize i = table_.size(); i-- > first_;) {
        PciFunction& f = table_[i];
        if (f.is_bridge) size_windows(f, i32(i));
    }
    place_root();
    for (usize i = first_; i < table_.size(); ++i) {
        PciFunction& f = table_[i];
        if (f.is_bridge) place_children(f, i32(i));
    }
    for (usize i = first_; i < table_.size(); ++i) program(table_[i]);

    stats_.functions = table_.size() - first_;
    for (usize i = first_; i < table_.size(); ++i) {
        const PciFunction& f = table_[i];
        if (f.is_bridge) ++stats_.bridges;
        for (const PciBar& bar : f.bars) {
            if (bar.assigned()) ++stats_.bars_assigned;
            else if (bar.present()) ++stats_.bars_failed;
        }
    }
    return stats_;
}

// Probes every function of one bus, then follows the bridges found on it.
// Probing the whole bus first lets every bridge's stale bus numbers (left by
// earlier firmware) be cleared before any config cycle is forwarded below.
void Enumerator::scan_bus(u8 bus, i32 parent, unsigned depth)
{
    // Below a root or downstream port the link holds device 0 only; other
    // device numbers may alias it (PCIe 7.3.1, Linux pci_only_one_slot).
    bool one_slot = false;
    if (parent != kNoParent) {
        PortType pt = table_[usize(parent)].port_type;
        one_slot = pt == PortType::RootPort || pt == PortType::SwitchDownstream;
    }
    usize begin = table_.size();
    i32 last_child = -1;
    for (u8 dev = 0; dev < (one_slot ? 1 : 32); ++dev) {
        bool multi = false;
        if (!probe_function(Bdf{bus, dev, 0}, parent, last_child, multi)) continue;
        // Without the multi-function bit functions 1-7 are not looked at:
        // some single-function devices answer on every function number.
        if (!multi) continue;
        for (u8 fn = 1; fn < 8; ++fn) {
            bool ignored = false;
            probe_function(Bdf{bus, dev, fn}, parent, last_child, ignored);
        }
    }
    usize end = table_.size();
    for (usize i = begin; i < end; ++i) {
        if (table_[i].is_bridge) scan_bridge(table_[i], i32(i), depth);
    }
}

// Returns whether a function answers at bdf; records it when there is room.
bool Enumerator::probe_function(Bdf bdf, i32 parent, i32& last_child, bool& multifunction)
{
    u32 id = cfg_.read32(bdf, kVendorId);
    u16 vendor = u16(id);
    if (vendor == 0xffff || vendor == 0x0000) return false;

    u8 header = cfg_.read8(bdf, kHeaderType);
    multifunction = HeaderMultiFunction::get(header) != 0;
    u8 layout = u8(HeaderLayout::get(header));

    // Decoding off (and no DMA) until everything is placed.
    u16 cmd = cfg_.read16(bdf, kCommand);
    cfg_.write16(bdf, kCommand,
                 u16(cmd & ~(CmdIo::kMask | CmdMem::kMask | CmdBusMaster::kMask)));

    i32 index = table_.append();
    if (index < 0) {
        table_.note_dropped();
        problem();
        if (!table_full_reported_) {
            log_warn("PCI %s: device table full (%zu functions); it and later functions left "
                     "disabled",
                     BdfStr(host_.segment, bdf).c_str(), table_.capacity());
            table_full_reported_ = true;
        }
        if (layout == kHeaderBridge) cfg_.write32(bdf, kPrimaryBus, cfg_.read32(bdf, kPrimaryBus) & 0xff000000u);
        return true;
    }
    PciFunction& f = table_[usize(index)];
    f.segment = host_.segment;
    f.bdf = bdf;
    f.vendor = vendor;
    f.device = u16(id >> 16);
    u32 rc = cfg_.read32(bdf, kRevisionClass);
    f.revision = u8(rc);
    f.class_code = rc >> 8;
    f.header_type = layout;
    f.multifunction = multifunction;
    f.parent = parent;
    if (last_child >= 0) table_[usize(last_child)].next_sibling = index;
    else if (parent == kNoParent) root_first_ = index;
    else table_[usize(parent)].first_child = index;
    last_child = index;
    for (u8 i = 0; i < PciFunction::kBars; ++i) f.bars[i].index = i;

    if (StatusCapList::get(cfg_.read16(bdf, kStatus)) != 0) walk_capabilities(f);
    if (f.caps.ea != 0) read_ea(f);

    switch (layout) {
    case kHeaderEndpoint:
        size_bars(f, kType0BarCount, kType0Rom);
        break;
    case kHeaderBridge:
        f.is_bridge = true;
        // Bus numbers cleared until this bridge's turn comes.
        cfg_.write32(bdf, kPrimaryBus, (cfg_.read32(bdf, kPrimaryBus) & 0xff000000u) | bdf.bus);
        probe_bridge_windows(f);
        size_bars(f, kType1BarCount, kType1Rom);
        break;
    default:
        problem();
        log_warn("PCI %s %04x:%04x: header type %u not supported; left disabled",
                 BdfStr(host_.segment, bdf).c_str(), f.vendor, f.device, unsigned(layout));
        break;
    }
    return true;
}

void Enumerator::scan_bridge(PciFunction& bridge, i32 index, unsigned depth)
{
    BdfStr name(host_.segment, bridge.bdf);
    if (depth + 1 > kMaxBridgeDepth) {
        problem();
        log_warn("PCI %s: bridges nested deeper than %u; nothing behind it enumerated",
                 name.c_str(), kMaxBridgeDepth);
        return;
    }
    if (next_bus_ > bus_end_) {
        problem();
        log_warn("PCI %s: no bus number left (bus-range %02x-%02x); nothing behind it "
                 "enumerated",
                 name.c_str(), unsigned(host_.bus_start), unsigned(bus_end_));
        return;
    }
    // Enhanced Allocation may fix the bridge's bus numbers: they are used
    // when they lie in what is still free, and the range is kept whole.
    u8 fixed_sec = 0, fixed_sub = 0;
    bool fixed = ea_fixed_buses(bridge, fixed_sec, fixed_sub);
    if (fixed && (fixed_sec < next_bus_ || fixed_sub > bus_end_)) {
        problem();
        log_warn("PCI %s: Enhanced Allocation fixes buses %02x-%02x, outside the free %02x-%02x; numbering it as usual",
                 name.c_str(), unsigned(fixed_sec), unsigned(fixed_sub), next_bus_, unsigned(bus_end_));
        fixed = false;
    }
    if (fixed) next_bus_ = fixed_sec;
    u8 secondary = u8(next_bus_++);
    // Forward everything up to the last bus while the subtree is scanned,
    // then close the range to what was found (PCI-to-PCI bridge 1.2, 3.2.5.3).
    u32 reg = cfg_.read32(bridge.bdf, kPrimaryBus) & 0xff000000u;
    cfg_.write32(bridge.bdf, kPrimaryBus,
                 reg | u32(bus_end_) << 16 | u32(secondary) << 8 | bridge.bdf.bus);
    scan_bus(secondary, index, depth + 1);
    if (fixed && next_bus_ <= fixed_sub) next_bus_ = unsigned(fixed_sub) + 1;
    u8 subordinate = u8(next_bus_ - 1);
    cfg_.write8(bridge.bdf, kSubordinateBus, subordinate);
    bridge.secondary = secondary;
    bridge.subordinate = subordinate;
    bridge.bus_assigned = true;
}

u64 Enumerator::largest_window(bool io, bool low_only) const
{
    u64 best = 0;
    for (usize i = 0; i < host_.window_count && i < PciHostBridge::kMaxWindows; ++i) {
        const PciWindow& w = host_.windows[i];
        if ((w.space == PciSpace::Io) != io) continue;
        if (low_only && w.pci_addr + w.size > k4GiB) continue;
        if (w.size > best) best = w.size;
    }
    return best;
}

void Enumerator::warn_bar(const PciFunction& f, const PciBar& bar, const char* what)
{
    problem();
    char label[8];
    log_warn("PCI %s %s: %s %s%s %s; left disabled", BdfStr(f).c_str(),
             bar_label(bar, label), SizeStr(bar.size, Bytes::Decimal).c_str(), bar_kind_name(bar.kind),
             bar.prefetchable ? " pref" : "", what);
}

// BAR sizing (PCI 3.0, 6.2.5.1): write all-ones, read back the bits that
// stick, restore. Decoding is already off.
void Enumerator::size_bars(PciFunction& f, u16 count, u16 rom_reg)
{
    for (u16 i = 0; i < count; ++i) {
        u16 reg = u16(kBar0 + 4 * i);
        PciBar& bar = f.bars[i];
        if (bar.fixed) continue;  // Enhanced Allocation: its register is hardwired to 0
        u32 orig = cfg_.read32(f.bdf, reg);
        cfg_.write32(f.bdf, reg, 0xffffffff);
        u32 lo = cfg_.read32(f.bdf, reg);
        cfg_.write32(f.bdf, reg, orig);
        if (lo == 0) continue;  // not implemented
        if (lo == 0xffffffff) {
            // No BAR reads all-ones (bit 1 of an I/O BAR is reserved, memory
            // type 0b11 is reserved): the function is broken or gone.
            bar.kind = BarKind::Mem32;
            bar.status = BarStatus::Invalid;
            problem();
            log_warn("PCI %s BAR%u: reads all-ones; left disabled", BdfStr(f).c_str(),
                     unsigned(i));
            continue;
        }

        if (BarIsIo::get(lo) != 0) {
            bar.kind = BarKind::Io;
            // A 16-bit decoder returns zeros above bit 15: the lowest set
            // bit is the size either way.
            bar.size = lowest_bit(lo & kBarIoAddrMask);
        } else {
            u32 type = u32(BarMemType::get(lo));
            bar.prefetchable = BarPrefetchable::get(lo) != 0;
            if (type == kBarMemType64) {
                bar.kind = BarKind::Mem64;
                if (i + 1 >= count) {
                    bar.status = BarStatus::Invalid;
                    bar.size = lowest_bit(lo & kBarMemAddrMask);
                    warn_bar(f, bar, "is 64-bit in the last BAR slot");
                    continue;
                }
                u16 hreg = u16(reg + 4);
                u32 horig = cfg_.read32(f.bdf, hreg);
                cfg_.write32(f.bdf, hreg, 0xffffffff);
                u32 hi = cfg_.read32(f.bdf, hreg);
                cfg_.write32(f.bdf, hreg, horig);
                bar.size = lowest_bit(u64(hi) << 32 | (lo & kBarMemAddrMask));
                ++i;  // the upper half is not a BAR of its own
            } else {
                bar.kind = BarKind::Mem32;
                bar.size = lowest_bit(lo & kBarMemAddrMask);
                if (type != kBarMemType32 && type != kBarMemType1M) {
                    bar.status = BarStatus::Invalid;
                    warn_bar(f, bar, "has a reserved memory type");
                    continue;
                }
            }
        }
        if (bar.size == 0) {
            bar.status = BarStatus::Invalid;
            warn_bar(f, bar, "sizes to nothing");
            continue;
        }
        bool io = bar.kind == BarKind::Io;
        if (bar.size > largest_window(io, bar.kind != BarKind::Mem64 && !io)) {
            bar.status = BarStatus::TooLarge;
            warn_bar(f, bar, "does not fit any window");
        }
    }
    size_rom(f, rom_reg);
}

void Enumerator::size_rom(PciFunction& f, u16 reg)
{
    PciBar& rom = f.bars[PciBar::kRomIndex];
    if (rom.fixed) return;
    u32 orig = cfg_.read32(f.bdf, reg);
    cfg_.write32(f.bdf, reg, kRomAddrMask);
    u32 mask = cfg_.read32(f.bdf, reg) & kRomAddrMask;
    cfg_.write32(f.bdf, reg, orig & ~u32(RomEnable::kMask));
    if (mask == 0) return;
    rom.kind = BarKind::Mem32;
    rom.size = lowest_bit(mask);
    if (rom.size > largest_window(false, true)) {
        rom.status = BarStatus::TooLarge;
        warn_bar(f, rom, "does not fit any window");
    }
}

// Which windows the bridge implements (PCI-to-PCI bridge 1.2, 3.2.5.6 and
// 3.2.5.9: an absent I/O or prefetchable window reads zero), then all closed
// (base above limit) until they are placed.
void Enumerator::probe_bridge_windows(PciFunction& f)
{
    BridgeWindow& io = f.windows[usize(WindowKind::Io)];
    BridgeWindow& mem = f.windows[usize(WindowKind::Mem)];
    BridgeWindow& pref = f.windows[usize(WindowKind::Pref)];

    cfg_.write16(f.bdf, kIoBase, 0xf0f0);
    u16 iob = cfg_.read16(f.bdf, kIoBase);
    io.implemented = iob != 0;

    mem.implemented = true;  // mandatory

    cfg_.write32(f.bdf, kPrefBase, 0xfff0fff0);
    u32 pb = cfg_.read32(f.bdf, kPrefBase);
    pref.implemented = pb != 0;
    pref.decodes64 = pref.implemented && BridgeWindow32Bit::get(pb) == 1;
    pref.is64 = pref.decodes64;

    program_windows(f);
}

// The capability list (PCI 3.0, 6.7), walked with a bound and a visited set
// so that a list that loops or points into the header stops the walk.
void Enumerator::walk_capabilities(PciFunction& f)
{
    Capabilities& caps = f.caps;
    u8 ptr = cfg_.read8(f.bdf, kCapabilityPtr) & 0xfc;
    u64 seen = 0;
    for (unsigned n = 0; ptr != 0; ++n) {
        const char* why = nullptr;
        if (n >= kMaxCapabilities) why = "has more entries than fit";
        else if (ptr < kCapListStart) why = "points into the header";
        else if ((seen >> ((ptr - kCapListStart) / 4) & 1) != 0) why = "loops";
        if (why != nullptr) {
            caps.list_truncated = true;
            problem();
            log_warn("PCI %s %04x:%04x: capability list %s at 0x%02x; walk stopped",
                     BdfStr(f).c_str(), f.vendor, f.device, why, unsigned(ptr));
            return;
        }
        seen |= u64{1} << ((ptr - kCapListStart) / 4);

        u16 header = cfg_.read16(f.bdf, ptr);
        if (header == 0xffff) {
            caps.list_truncated = true;
            problem();
            log_warn("PCI %s: capability at 0x%02x reads all-ones; walk stopped",
                     BdfStr(f).c_str(), unsigned(ptr));
            return;
        }
        u8 id = u8(header);
        u8 next = u8(header >> 8) & 0xfc;
        switch (id) {
        case kCapPm:
            if (caps.pm == 0) caps.pm = ptr;
            break;
        case kCapMsi:
            if (caps.msi == 0) {
                caps.msi = ptr;
                u16 ctl = cfg_.read16(f.bdf, u16(ptr + 2));
                caps.msi_64bit = MsiCtl64Bit::get(ctl) != 0;
                caps.msi_vectors = u8(1u << (MsiCtlMultiCap::get(ctl) > 5 ? 5 : MsiCtlMultiCap::get(ctl)));
            }
            break;
        case kCapEa:
            if (caps.ea == 0) caps.ea = ptr;
            break;
        case kCapMsix:
            if (caps.msix == 0) {
                caps.msix = ptr;
                u16 ctl = cfg_.read16(f.bdf, u16(ptr + 2));
                caps.msix_table_size = u16(MsixCtlTableSize::get(ctl) + 1);
                u32 table = cfg_.read32(f.bdf, u16(ptr + 4));
                u32 pba = cfg_.read32(f.bdf, u16(ptr + 8));
                caps.msix_table_bar = u8(MsixBir::get(table));
                caps.msix_table_offset = table & kMsixOffsetMask;
                caps.msix_pba_bar = u8(MsixBir::get(pba));
                caps.msix_pba_offset = pba & kMsixOffsetMask;
            }
            break;
        case kCapPcie:
            if (caps.pcie == 0) {
                caps.pcie = ptr;
                u16 reg = cfg_.read16(f.bdf, u16(ptr + 2));
                caps.pcie_version = u8(PcieCapVersion::get(reg));
                f.port_type = PortType(PcieCapPortType::get(reg));
            }
            break;
        default:
            break;
        }
        ptr = next;
    }
}

// Enhanced Allocation (PCI EA ECN; PCIe 6.0, 7.8.5): the function's BARs are
// fixed, described by entries instead of sizable registers (LS1028A's
// integrated endpoints are so). Enabled entries for BAR 0-5 and the ROM, of
// memory or I/O space, become fixed resources; entries for VF BARs and for
// resources behind a bridge are not used. An entry that does not parse is
// named and skipped; the walk stays inside the capability space.
void Enumerator::read_ea(PciFunction& f)
{
    u16 cap = f.caps.ea;
    unsigned count = unsigned(EaNumEntries::get(cfg_.read8(f.bdf, u16(cap + kEaNumEntries))));
    u16 at = u16(cap + (f.header_type == kHeaderBridge ? kEaFirstEntryBridge : kEaFirstEntry));
    for (unsigned n = 0; n < count; ++n) {
        u32 header = at + 4 <= 0x100 ? cfg_.read32(f.bdf, at) : 0;
        u16 end = u16(at + 4 * (EaEntrySize::get(header) + 1));
        if (at + 4 > 0x100 || end > 0x100) {
            problem();
            log_warn("PCI %s: Enhanced Allocation entry %u at 0x%x runs past the capability space; the rest ignored",
                     BdfStr(f).c_str(), n, unsigned(at));
            return;
        }
        if (EaEnable::get(header) != 0) (void)ea_entry(f, at, end);
        at = end;
    }
}

bool Enumerator::ea_entry(PciFunction& f, u16 at, u16 end)
{
    BdfStr name(f.segment, f.bdf);
    u32 header = cfg_.read32(f.bdf, at);
    unsigned bei = unsigned(EaBei::get(header));
    unsigned prop = unsigned(EaPrimaryProps::get(header));
    // A reserved primary property (0x08-0xfc) defers to the secondary one;
    // 0xfd-0xff mark the entry unavailable (as Linux reads them).
    if (prop > kEaPropBridgeIo && prop < kEaPropMemUnavailable) prop = unsigned(EaSecondaryProps::get(header));
    if ((bei > kEaBeiBar5 && bei != kEaBeiRom) || prop > kEaPropIo) return false;  // VF BARs, bridge windows
    if (end - at < 12) {
        problem();
        log_warn("PCI %s: Enhanced Allocation entry at 0x%x is %u bytes, too short; ignored", name.c_str(), unsigned(at),
                 unsigned(end - at));
        return false;
    }
    u32 base_lo = cfg_.read32(f.bdf, u16(at + 4));
    u32 max_lo = cfg_.read32(f.bdf, u16(at + 8));
    u16 next = u16(at + 12);
    u64 base = base_lo & kEaFieldMask;
    u64 max_offset = max_lo | 0x3;  // MaxOffset[1:0] read as 0b11
    bool wide = false;
    if (EaField64::get(base_lo) != 0 && next + 4 <= end) {
        base |= u64(cfg_.read32(f.bdf, next)) << 32;
        next = u16(next + 4);
        wide = true;
    }
    if (EaField64::get(max_lo) != 0 && next + 4 <= end) {
        max_offset |= u64(cfg_.read32(f.bdf, next)) << 32;
        next = u16(next + 4);
        wide = true;
    }
    if (next != end || max_offset == ~u64{0} || base + max_offset < base) {
        problem();
        log_warn("PCI %s: Enhanced Allocation entry at 0x%x (base 0x%llx, max offset 0x%llx) is malformed; ignored",
                 name.c_str(), unsigned(at), (unsigned long long)base, (unsigned long long)max_offset);
        return false;
    }
    PciBar& bar = f.bars[bei == kEaBeiRom ? PciBar::kRomIndex : bei];
    bar.fixed = true;
    bar.size = max_offset + 1;
    bar.pci_addr = base;
    bar.prefetchable = prop == kEaPropMemPref;
    bool io = prop == kEaPropIo;
    bar.kind = io ? BarKind::Io : wide || base + bar.size > k4GiB ? BarKind::Mem64 : BarKind::Mem32;
    // Where the CPU reaches it: through the host window that holds it.
    for (usize i = 0; i < host_.window_count && i < PciHostBridge::kMaxWindows; ++i) {
        const PciWindow& w = host_.windows[i];
        if ((w.space == PciSpace::Io) != io || base < w.pci_addr || base - w.pci_addr > w.size ||
            bar.size > w.size - (base - w.pci_addr))
            continue;
        bar.cpu_addr = base + (w.cpu_addr - w.pci_addr);
        bar.status = BarStatus::Assigned;
        return true;
    }
    bar.status = BarStatus::OutsideWindow;
    warn_bar(f, bar, "is fixed by Enhanced Allocation outside every host-bridge window");
    return false;
}

// The fixed bus numbers of a bridge's EA capability (its first dword after
// the header), if it gives any: a secondary bus and a subordinate not below.
bool Enumerator::ea_fixed_buses(const PciFunction& bridge, u8& secondary, u8& subordinate)
{
    if (bridge.caps.ea == 0) return false;
    u32 dw = cfg_.read32(bridge.bdf, u16(bridge.caps.ea + kEaFirstEntry));
    secondary = u8(EaFixedSecondary::get(dw));
    subordinate = u8(EaFixedSubordinate::get(dw));
    return secondary != 0 && subordinate >= secondary;
}

// The end of the highest fixed BAR inside host window w (0 if none).
u64 Enumerator::fixed_end_in(const PciWindow& w) const
{
    u64 end = 0;
    for (usize i = first_; i < table_.size(); ++i)
        for (const PciBar& b : table_[i].bars) {
            if (!b.fixed || !b.assigned() || (b.kind == BarKind::Io) != (w.space == PciSpace::Io)) continue;
            if (b.pci_addr < w.pci_addr || b.pci_addr - w.pci_addr >= w.size) continue;
            if (b.pci_addr + b.size > end) end = b.pci_addr + b.size;
        }
    return end;
}

// ---------------------------------------------------------------------------
// passes 2 and 3: size and place

bool Enumerator::bridge_has(i32 parent, Pool pool) const
{
    return parent == kNoParent || table_[usize(parent)].windows[usize(pool)].implemented;
}

// The pool of `parent` an item is drawn from. On the root bus the pools only
// sort items; the host bridge's windows are chosen in window_rank(). Behind
// a bridge with a 64-bit prefetchable window only 64-bit prefetchable items
// go there, so that one 32-bit BAR does not pull the window below 4 GiB;
// 32-bit prefetchable ones go to the memory window (as Linux does).
Pool Enumerator::pool_of(i32 parent, const Item& item) const
{
    bool io = item.window != nullptr ? item.window == &item.owner->windows[usize(WindowKind::Io)]
                                     : item.bar->kind == BarKind::Io;
    if (io) return Pool::Io;
    if (!item.pref || !bridge_has(parent, Pool::Pref)) return Pool::Mem;
    if (parent == kNoParent) return Pool::Pref;
    bool pref64 = table_[usize(parent)].windows[usize(Pool::Pref)].decodes64;
    return pref64 && !item.wants64 ? Pool::Mem : Pool::Pref;
}

// Visits every placeable item on the bus below `parent` (kNoParent: the
// root bus): BARs that sized, and child bridges' windows that are needed.
template <typename Visit>
void Enumerator::for_each_item(i32 parent, Visit&& visit)
{
    i32 child = parent == kNoParent ? root_first_ : table_[usize(parent)].first_child;
    for (; child >= 0; child = table_[usize(child)].next_sibling) {
        PciFunction& f = table_[usize(child)];
        for (PciBar& bar : f.bars) {
            if (!bar.present() || bar.status == BarStatus::Invalid) continue;
            Item item;
            item.owner = &f;
            item.bar = &bar;
            // A memory BAR gets at least a page of its own: stage 2 maps BARs
            // exactly, page by page, so no two devices may share one.
            u64 room = bar.kind == BarKind::Io || bar.size >= kMinMemBarRoom ? bar.size : kMinMemBarRoom;
            item.size = room;
            item.align = room;
            item.pref = bar.prefetchable && !bar.is_rom();
            item.is_64bit_bar = bar.kind == BarKind::Mem64;
            item.wants64 = item.is_64bit_bar && item.pref;
            visit(item);
        }
        if (!f.is_bridge) continue;
        for (usize k = 0; k < kWindowKinds; ++k) {
            BridgeWindow& w = f.windows[k];
            if (w.size == 0) continue;
            Item item;
            item.owner = &f;
            item.window = &w;
            item.size = w.size;
            item.align = w.align;
            item.pref = k == usize(WindowKind::Pref);
            item.wants64 = item.pref && w.is64;
            visit(item);
        }
    }
}

// Lays out the items of one pool of `parent` from `base`, largest alignment
// first (sizes of BARs are their alignments, so this wastes nothing between
// BARs), and returns the end. With commit, items get their addresses
// (cpu = pci + offset) and are marked assigned.
u64 Enumerator::layout(i32 parent, Pool pool, u64 base, i64 offset, bool commit)
{
    u64 aligns = 0;
    for_each_item(parent, [&](const Item& it) {
        if (it.status() == BarStatus::Unused && pool_of(parent, it) == pool) aligns |= it.align;
    });
    u64 cursor = base;
    for (unsigned bit = 64; bit-- > 0;) {
        u64 align = u64{1} << bit;
        if ((aligns & align) == 0) continue;
        for_each_item(parent, [&](const Item& it) {
            if (it.align != align || it.status() != BarStatus::Unused) return;
            if (pool_of(parent, it) != pool) return;
            cursor = align_up(cursor, align);
            if (commit) {
                u64 cpu = cursor + u64(offset);
                if (it.bar != nullptr) {
                    it.bar->pci_addr = cursor;
                    it.bar->cpu_addr = cpu;
                    it.bar->status = BarStatus::Assigned;
                } else {
                    it.window->pci_base = cursor;
                    it.window->cpu_base = cpu;
                    it.window->status = BarStatus::Assigned;
                }
            }
            cursor += it.size;
        });
    }
    return cursor;
}

// A bridge's windows from its children (PCI-to-PCI bridge 1.2, 3.2.5: I/O in
// 4 KiB and memory in 1 MiB steps). Items that cannot live behind this
// bridge at all are failed here, before they make its window useless.
void Enumerator::size_windows(PciFunction& bridge, i32 index)
{
    u64 low_max = largest_window(false, true);
    bool pref64 = bridge.windows[usize(Pool::Pref)].decodes64;
    for_each_item(index, [&](const Item& it) {
        if (it.status() != BarStatus::Unused) return;
        Pool pool = pool_of(index, it);
        if (!bridge.windows[usize(pool)].implemented) {
            fail_item(it, BarStatus::NoBridgeWindow, "the bridge above has no such window");
            return;
        }
        bool below4g = pool == Pool::Mem || (pool == Pool::Pref && !(pref64 && it.wants64));
        if (below4g && it.size > low_max) {
            fail_item(it, BarStatus::TooLarge, "does not fit any window below 4 GiB");
        }
    });

    for (usize k = 0; k < kWindowKinds; ++k) {
        Pool pool = Pool(k);
        BridgeWindow& w = bridge.windows[k];
        if (!w.implemented) continue;
        u64 granule = pool == Pool::Io ? kBridgeIoGranule : kBridgeMemGranule;
        u64 align = granule;
        bool all64 = true;
        bool any = false;
        for_each_item(index, [&](const Item& it) {
            if (it.status() != BarStatus::Unused || pool_of(index, it) != pool) return;
            any = true;
            if (it.align > align) align = it.align;
            if (!it.wants64) all64 = false;
        });
        if (!any) continue;
        w.align = align;
        w.size = align_up(layout(index, pool, 0, 0, false), granule);
        if (pool == Pool::Pref) w.is64 = w.decodes64 && all64;
    }
}

// How much an item wants a host window: 0 not at all, 1 best ... 4 last.
// 64-bit prefetchable resources go above 4 GiB when the host offers a window
// there; everything else stays below; non-prefetchable never goes into a
// prefetchable window.
int Enumerator::window_rank(const Item& item, Pool pool, const PciWindow& w) const
{
    if (w.size == 0) return 0;
    bool io = w.space == PciSpace::Io;
    if (pool == Pool::Io) return io ? 1 : 0;
    if (io) return 0;
    bool low = w.pci_addr + w.size <= k4GiB;
    if (pool == Pool::Mem) {
        if (w.prefetchable) return 0;
        if (low) return 1;
        return item.is_64bit_bar ? 2 : 0;  // a root-bus 64-bit BAR may go high
    }
    if (item.wants64 && !low) return w.prefetchable ? 1 : 2;
    if (!low) return 0;
    return w.prefetchable ? 3 : 4;
}

// The root bus: every item into a host window, largest alignment first.
void Enumerator::place_root()
{
    constexpr usize kMax = PciHostBridge::kMaxWindows;
    usize count = host_.window_count < kMax ? host_.window_count : kMax;
    u64 cursor[kMax] = {};
    for (usize i = 0; i < count; ++i) {
        const PciWindow& w = host_.windows[i];
        u64 start = w.pci_addr;
        // Never hand out address 0 (nor the legacy I/O ports below 0x1000).
        if (w.space == PciSpace::Io && start < kMinIoAddress) start = kMinIoAddress;
        if (w.space != PciSpace::Io && start == 0) start = kBridgeMemGranule;
        // Nothing goes over a BAR the hardware fixed: begin past the last one.
        u64 fixed_end = fixed_end_in(w);
        if (fixed_end > start) start = fixed_end;
        cursor[i] = start;
    }

    u64 aligns = 0;
    for_each_item(kNoParent, [&](const Item& it) {
        if (it.status() == BarStatus::Unused) aligns |= it.align;
    });
    for (unsigned bit = 64; bit-- > 0;) {
        u64 align = u64{1} << bit;
        if ((aligns & align) == 0) continue;
        for_each_item(kNoParent, [&](const Item& it) {
            if (it.align != align || it.status() != BarStatus::Unused) return;
            Pool pool = pool_of(kNoParent, it);
            bool fits_some = false;
            for (int rank = 1; rank <= 4; ++rank) {
                for (usize i = 0; i < count; ++i) {
                    const PciWindow& w = host_.windows[i];
                    if (window_rank(it, pool, w) != rank) continue;
                    if (it.size <= w.size) fits_some = true;
                    u64 base = align_up(cursor[i], align);
                    u64 end = w.pci_addr + w.size;
                    if (base < cursor[i] || base > end || end - base < it.size) continue;
                    cursor[i] = base + it.size;
                    u64 cpu = base + (w.cpu_addr - w.pci_addr);
                    if (it.bar != nullptr) {
                        it.bar->pci_addr = base;
                        it.bar->cpu_addr = cpu;
                        it.bar->status = BarStatus::Assigned;
                    } else {
                        it.window->pci_base = base;
                        it.window->cpu_base = cpu;
                        it.window->status = BarStatus::Assigned;
                    }
                    return;
                }
            }
            if (fits_some) fail_item(it, BarStatus::NoSpace, "does not fit: windows exhausted");
            else fail_item(it, BarStatus::TooLarge, "does not fit any window");
        });
    }
}

// Splits a placed bridge window among the items behind it; the items of a
// window that was not placed fail with it.
void Enumerator::place_children(PciFunction& bridge, i32 index)
{
    for (usize k = 0; k < kWindowKinds; ++k) {
        Pool pool = Pool(k);
        BridgeWindow& w = bridge.windows[k];
        if (w.size == 0) continue;
        if (w.assigned()) {
            layout(index, pool, w.pci_base, i64(w.cpu_base - w.pci_base), true);
            continue;
        }
        for_each_item(index, [&](const Item& it) {
            if (it.status() == BarStatus::Unused && pool_of(index, it) == pool) {
                fail_item(it, BarStatus::ParentFailed, "not placed: the bridge window above failed");
            }
        });
    }
}

void Enumerator::fail_item(const Item& item, BarStatus why, const char* detail)
{
    if (item.bar != nullptr) {
        item.bar->status = why;
        warn_bar(*item.owner, *item.bar, detail);
        return;
    }
    item.window->status = why;
    problem();
    log_warn("PCI %s: %s window (%s) %s; nothing behind it gets this space",
             BdfStr(item.owner->segment, item.owner->bdf).c_str(),
             window_name(WindowKind(item.window - item.owner->windows)),
             SizeStr(item.window->size, Bytes::Decimal).c_str(), detail);
}

// Bridge windows as placed, closed (base above limit) when unused.
void Enumerator::program_windows(PciFunction& f)
{
    const BridgeWindow& io = f.windows[usize(WindowKind::Io)];
    const BridgeWindow& mem = f.windows[usize(WindowKind::Mem)];
    const BridgeWindow& pref = f.windows[usize(WindowKind::Pref)];
    if (io.implemented) {
        cfg_.write32(f.bdf, kIoBaseUpper, 0);
        if (io.assigned()) {
            u64 lim = io.pci_limit();
            cfg_.write16(f.bdf, kIoBase, u16((io.pci_base >> 8 & 0xf0) | (lim & 0xf000)));
            cfg_.write32(f.bdf, kIoBaseUpper, u32(io.pci_base >> 16 & 0xffff) | u32(lim >> 16) << 16);
        } else {
            cfg_.write16(f.bdf, kIoBase, 0x00f0);
        }
    }
    if (mem.assigned()) {
        u64 lim = mem.pci_limit();
        cfg_.write32(f.bdf, kMemBase, u32(mem.pci_base >> 16 & 0xfff0) | u32(lim & 0xfff00000));
    } else {
        cfg_.write32(f.bdf, kMemBase, 0x0000fff0);
    }
    if (pref.implemented) {
        if (pref.assigned()) {
            u64 lim = pref.pci_limit();
            cfg_.write32(f.bdf, kPrefBase, u32(pref.pci_base >> 16 & 0xfff0) | u32(lim & 0xfff00000));
            if (pref.decodes64) {
                cfg_.write32(f.bdf, kPrefBaseUpper, u32(pref.pci_base >> 32));
                cfg_.write32(f.bdf, kPrefLimitUpper, u32(lim >> 32));
            }
        } else {
            cfg_.write32(f.bdf, kPrefBase, 0x0000fff0);
            if (pref.decodes64) {
                cfg_.write32(f.bdf, kPrefBaseUpper, 0);
                cfg_.write32(f.bdf, kPrefLimitUpper, 0);
            }
        }
    }
}

// BARs, ROM and windows written, then decoding turned on for each space in
// which everything the function has was placed. Bridges also get bus
// mastering so that DMA and MSIs from below are forwarded; endpoints are
// left to their drivers.
void Enumerator::program(PciFunction& f)
{
    bool mem_ok = true, mem_any = false, io_ok = true, io_any = false;
    u16 count = f.header_type == kHeaderEndpoint ? kType0BarCount
                : f.is_bridge                     ? kType1BarCount
                                                  : 0;
    for (u16 i = 0; i < count; ++i) {
        const PciBar& bar = f.bars[i];
        if (bar.kind == BarKind::None) continue;
        if (bar.fixed) {  // decodes where the hardware put it: nothing to write
            (bar.kind == BarKind::Io ? io_any : mem_any) |= bar.assigned();
            if (!bar.assigned()) (bar.kind == BarKind::Io ? io_ok : mem_ok) = false;
            continue;
        }
        u16 reg = u16(kBar0 + 4 * i);
        u64 value = bar.assigned() ? bar.pci_addr : 0;
        cfg_.write32(f.bdf, reg, u32(value));
        if (bar.kind == BarKind::Mem64 && i + 1 < count) cfg_.write32(f.bdf, u16(reg + 4), u32(value >> 32));
        bool& ok = bar.kind == BarKind::Io ? io_ok : mem_ok;
        bool& any = bar.kind == BarKind::Io ? io_any : mem_any;
        if (bar.assigned()) any = true;
        else ok = false;
    }
    const PciBar& rom = f.rom();
    if (rom.present() && rom.fixed) {
        if (rom.assigned()) mem_any = true;
    } else if (rom.present()) {
        u16 reg = f.is_bridge ? kType1Rom : kType0Rom;
        // The ROM's own enable bit stays clear: whoever reads it sets it.
        cfg_.write32(f.bdf, reg, rom.assigned() ? u32(rom.pci_addr) : 0);
        if (rom.assigned()) mem_any = true;
    }
    if (f.header_type != kHeaderEndpoint && !f.is_bridge) return;
    f.mem_enabled = mem_ok && mem_any;
    f.io_enabled = io_ok && io_any;
    if (f.is_bridge) {
        // A bridge forwards its windows under the same enables as its own
        // BARs; a failed BAR of its own must not cut off what is below.
        program_windows(f);
        const BridgeWindow* w = f.windows;
        if (w[usize(WindowKind::Mem)].assigned() || w[usize(WindowKind::Pref)].assigned()) f.mem_enabled = true;
        if (w[usize(WindowKind::Io)].assigned()) f.io_enabled = true;
    }
    u16 cmd = cfg_.read16(f.bdf, kCommand);
    cmd = u16(cmd & ~(CmdIo::kMask | CmdMem::kMask | CmdBusMaster::kMask));
    if (f.mem_enabled) cmd = u16(cmd | CmdMem::kMask);
    if (f.io_enabled) cmd = u16(cmd | CmdIo::kMask);
    if (f.is_bridge) cmd = u16(cmd | CmdBusMaster::kMask);
    cfg_.write16(f.bdf, kCommand, cmd);
}

}  // namespace

Result<EnumStats> enumerate(const PciHostBridge& host, ConfigAccess& cfg, DeviceTable& table)
{
    Enumerator e(host, cfg, table);
    return e.run();
}

}  // namespace passage::pci
