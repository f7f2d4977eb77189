// The enumerator behind pci::enumerate(), private to drivers/pci: one
// object per host bridge, its passes in the files named below.
#pragma once

#include "passage/pci/enumerate.h"
#include "passage/pci/regs.h"

namespace passage::pci::enumeration {

constexpr u64 k4GiB = u64{1} << 32;

constexpr u64 lowest_bit(u64 v) { return v & (~v + 1); }
static_assert(lowest_bit(0xfffff000) == 0x1000);

// Where a resource of a function (or a child bridge's window) is drawn from
// on the bus above it; for a bridge these are its three windows.
using Pool = WindowKind;

inline const char* bar_label(const PciBar& bar, char (&buf)[8])
{
    if (bar.is_rom()) return "ROM";
    buf[0] = 'B', buf[1] = 'A', buf[2] = 'R', buf[3] = char('0' + bar.index), buf[4] = '\0';
    return buf;
}

inline const char* window_name(WindowKind k)
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

    // Gives the BAR or window its address on the bus and the CPU's.
    void assign(u64 pci, u64 cpu) const
    {
        if (bar != nullptr) {
            bar->pci_addr = pci;
            bar->cpu_addr = cpu;
            bar->status = BarStatus::Assigned;
        } else {
            window->pci_base = pci;
            window->cpu_base = cpu;
            window->status = BarStatus::Assigned;
        }
    }
};

class Enumerator {
public:
    Enumerator(const PciHostBridge& host, ConfigAccess& cfg, DeviceTable& table)
        : host_(host), cfg_(cfg), table_(table), first_(table.size())
    {
    }

    Result<EnumStats> run();

private:
    // --- pass 1: scan (scan.cpp) ---
    void scan_bus(u8 bus, i32 parent, unsigned depth);
    bool probe_function(Bdf bdf, i32 parent, i32& last_child, bool& multifunction);
    void scan_bridge(PciFunction& bridge, i32 index, unsigned depth);
    // sizing.cpp
    void size_bars(PciFunction& f, u16 count, u16 rom_reg);
    void size_rom(PciFunction& f, u16 reg);
    void probe_bridge_windows(PciFunction& f);
    u64 largest_window(bool io, bool low_only) const;
    void warn_bar(const PciFunction& f, const PciBar& bar, const char* what);
    // capabilities.cpp
    void walk_capabilities(PciFunction& f);
    // enhanced_allocation.cpp
    void read_ea(PciFunction& f);
    bool ea_entry(PciFunction& f, u16 at, u16 end);
    bool ea_fixed_buses(const PciFunction& bridge, u8& secondary, u8& subordinate);
    u64 fixed_end_in(const PciWindow& w) const;

    // --- pass 2 and 3: size and place (placement.cpp) ---
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
    // --- then to the hardware (program.cpp) ---
    void program(PciFunction& f);
    void program_windows(PciFunction& f);

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

}  // namespace passage::pci::enumeration
