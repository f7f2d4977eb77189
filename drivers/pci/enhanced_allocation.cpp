// Enhanced Allocation: BARs fixed by the device instead of sized.
#include "enumerator.h"
#include "passage/log.h"

namespace passage::pci::enumeration {

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

}  // namespace passage::pci::enumeration
