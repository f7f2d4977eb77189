// What each function decodes, found in pass 1 with decoding off: its BARs
// and ROM by sizing, a bridge's windows by probing.
#include "enumerator.h"
#include "passage/log.h"
#include "passage/size_str.h"

namespace passage::pci::enumeration {

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

}  // namespace passage::pci::enumeration
