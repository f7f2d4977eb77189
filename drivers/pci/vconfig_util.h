// Small helpers shared by the virtual config space's files (drivers/pci
// only): register masks of a BAR, names for messages, range tests.
#pragma once

#include "passage/format.h"
#include "passage/pci/bdf_str.h"
#include "passage/pci/device_table.h"
#include "passage/pci/enumerate.h"
#include "passage/pci/regs.h"

namespace passage::pci {

constexpr u32 ones(unsigned size) { return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }

// [base, base + size) inside [lo, lo + len).
constexpr bool inside(u64 base, u64 size, u64 lo, u64 len)
{
    return size != 0 && size <= len && base >= lo && base - lo <= len - size;
}

// The writable address bits of a BAR register (upper: the high half of a
// 64-bit BAR).
inline u32 bar_writable(const PciBar& bar, bool upper)
{
    if (bar.fixed) return 0;  // Enhanced Allocation: the register is hardwired to 0
    u64 mask = ~(bar.size - 1);
    if (bar.is_rom()) return u32(mask) & kRomAddrMask;
    if (upper) return u32(mask >> 32);
    return u32(mask) & (bar.kind == BarKind::Io ? kBarIoAddrMask : kBarMemAddrMask);
}

// The read-only type bits of a BAR register.
inline u32 bar_type_bits(const PciBar& bar)
{
    if (bar.fixed) return 0;
    if (bar.kind == BarKind::Io) return 0x1;
    u32 bits = bar.prefetchable ? u32(BarPrefetchable::kMask) : 0;
    if (bar.kind == BarKind::Mem64) bits |= kBarMemType64 << BarMemType::kLow;
    return bits;
}

// The BAR register `slot` (0-5) belongs to: a BAR itself, or the upper half
// of a 64-bit BAR below it; nullptr for an unimplemented slot.
inline const PciBar* bar_at(const PciFunction& f, unsigned slot, bool& upper)
{
    upper = false;
    unsigned count = f.is_bridge ? kType1BarCount : f.header_type == kHeaderEndpoint ? kType0BarCount : 0;
    if (slot >= count) return nullptr;
    const PciBar& b = f.bars[slot];
    if (b.present()) return &b;
    if (slot > 0 && f.bars[slot - 1].kind == BarKind::Mem64 && f.bars[slot - 1].present()) {
        upper = true;
        return &f.bars[slot - 1];
    }
    return nullptr;
}

// "0000:01:00.0 BAR2" / "0000:01:00.0 ROM", for messages.
struct BarLabel {
    char text[32];
    BarLabel(const PciFunction& f, unsigned bar)
    {
        const BdfStr bdf(f);
        if (bar == PciBar::kRomIndex) format(text, sizeof text, "%s ROM", bdf.c_str());
        else format(text, sizeof text, "%s BAR%u", bdf.c_str(), bar);
    }
    const char* c_str() const { return text; }
};

}  // namespace passage::pci
