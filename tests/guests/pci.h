// PCI through ECAM: every config access is one 32-bit ldr/str (see arch.h).
#pragma once

#include "fdt.h"

namespace guest::pci {

struct Bar {
    u64 addr = 0;          // PCI address as programmed (0: unassigned or absent)
    bool present = false;  // a memory BAR with a non-zero address
    bool is64 = false;
    bool prefetchable = false;
};

struct Function {
    u8 bus, dev, fn;
    u16 vendor, device;
    u8 header_type;  // 0 endpoint, 1 PCI-PCI bridge
    Bar bars[6];     // a 64-bit BAR is at its lower index; the next is empty
};

struct Scan {
    static constexpr unsigned kMax = 32;
    Function fns[kMax];
    unsigned count = 0;
    bool truncated = false;
};

class Ecam {
public:
    Ecam(u64 base, u32 bus_first, u32 bus_last) : base_(base), first_(bus_first), last_(bus_last) {}
    u64 address(unsigned bus, unsigned dev, unsigned fn, unsigned reg) const
    {
        return base_ + ((u64(bus - first_) << 20) | (u64(dev) << 15) | (u64(fn) << 12) | (reg & 0xffc));
    }
    u32 read32(unsigned bus, unsigned dev, unsigned fn, unsigned reg) const
    {
        return mmio_read32(address(bus, dev, fn, reg));
    }
    void write32(unsigned bus, unsigned dev, unsigned fn, unsigned reg, u32 v) const
    {
        mmio_write32(address(bus, dev, fn, reg), v);
    }
    u32 first_bus() const { return first_; }
    u32 last_bus() const { return last_; }

private:
    u64 base_;
    u32 first_, last_;
};

// Scans the bus range from its first bus, following PCI-PCI bridges whose
// secondary bus is already programmed.
Scan scan(const Ecam& ecam);

// The CPU physical address of a PCI memory address, through the bridge's
// windows (identity on QEMU virt).
u64 cpu_address(const GuestPlatform& plat, u64 pci_addr);

// The mem32 window that holds a PCI address, or null.
const PciWindow* mem32_window(const GuestPlatform& plat, u64 pci_addr);

// Turns memory decoding (Command.MEM) of a function on or off.
void enable_memory(const Ecam& ecam, const Function& f);
void disable_memory(const Ecam& ecam, const Function& f);

// A memory BAR's address as the function reports it now (both halves of a
// 64-bit one), its size by the sizing protocol (all-ones written, the mask
// read back, the address restored; decoding is off meanwhile), and a new
// address written (low half first for a 64-bit BAR, as Linux does: passage
// judges the move when the high half completes it).
u64 read_bar(const Ecam& ecam, const Function& f, unsigned bar);
u64 bar_size(const Ecam& ecam, const Function& f, unsigned bar);
void write_bar(const Ecam& ecam, const Function& f, unsigned bar, u64 addr);

// Every assigned memory BAR of the scan but one (`skip`'s BAR `skip_bar`),
// with its size: what a BAR being moved must stay clear of.
struct PlacedBar {
    const Function* fn;
    unsigned bar;
    u64 addr, size;
};
struct BarMap {
    static constexpr unsigned kMax = Scan::kMax * 6;
    PlacedBar bars[kMax];
    unsigned count = 0;
};
void size_bars(const Ecam& ecam, const Scan& found, const Function* skip, unsigned skip_bar, BarMap& out);

// A size-aligned place for `size` bytes in [base, base + window_size),
// searched from the top down, clear of every BAR in `taken` and not at
// `avoid`; 0 if there is none.
u64 free_place(u64 base, u64 window_size, u64 size, u64 avoid, const BarMap& taken);

// Where a memory BAR of `f` may move and still be routed to it: the
// memory window of the bridge above it (the innermost, which its
// ancestors' windows hold), or the host bridge's mem32 window holding
// `pci_addr` on the root bus. False when neither exists.
bool routed_window(const Ecam& ecam, const Scan& found, const GuestPlatform& plat, const Function& f, u64 pci_addr,
                   u64& base, u64& size);

// Standalone only (no hypervisor assigned anything): sizes and assigns
// every memory BAR of the scanned functions from the bridge windows and
// turns on memory decoding. Returns the number of BARs assigned.
unsigned assign_bars_standalone(const Ecam& ecam, const GuestPlatform& plat, Scan& found);

}  // namespace guest::pci
