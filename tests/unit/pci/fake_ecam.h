// A fake ECAM for host tests: a heap-backed configuration space in which
// every vendor ID reads 0xFFFF until a test adds a function with chained
// setters. Functions behave like hardware where the enumerator cares: BARs
// keep only their writable bits (so sizing works), bridge registers have the
// PCI-to-PCI bridge masks, and config cycles reach a bus below a bridge only
// through the secondary/subordinate numbers the enumerator programmed.
//
//   FakeEcam ecam;
//   ecam.add(1, 0).ids(0x1af4, 0x1000).bar_io(0, 0x20).bar32(1, 0x1000);
//   auto& rp = ecam.add(2, 0).pcie_bridge(PortType::RootPort);
//   rp.child(0, 0).bar64(0, 16 * GiB);
#pragma once

#include <array>
#include <initializer_list>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "passage/pci/config.h"
#include "passage/pci/device_table.h"
#include "passage/platform.h"

namespace passage::pci::test {

// QEMU virt's host bridge (highmem on): I/O at 0x3eff0000, 32-bit MMIO
// 0x10000000-0x3efeffff, 64-bit MMIO 512 GiB at 0x8000000000; without
// highmem, no 64-bit window and a 16 MiB ECAM below 4 GiB.
PciHostBridge qemu_virt_host(bool highmem = true);

class FakeEcam;
struct FakeBus;

// One Enhanced Allocation entry (PCI EA ECN): a BAR equivalent, properties,
// base and MaxOffset (size - 1). Base and MaxOffset get their upper dwords
// when they need them or when asked.
struct EaEntry {
    u8 bei = 0;
    u8 primary = 0x00;    // 0x00 memory, 0x01 prefetchable, 0x02 I/O ...
    u8 secondary = 0xff;
    u64 base = 0;
    u64 size = 0;
    bool enabled = true;
    bool wide = false;    // both upper dwords even when zero
    int size_error = 0;   // added to the Entry Size field (a malformed entry)
};

class FakeFunction {
public:
    explicit FakeFunction(FakeEcam& ecam);

    // Identity and header
    FakeFunction& ids(u16 vendor, u16 device);
    FakeFunction& class_code(u32 code);  // 24 bits: class, subclass, prog-if
    FakeFunction& multifunction(bool on = true);
    // Answers for functions 1-7 of its device as well (a single-function
    // device that ignores the function number).
    FakeFunction& alias_functions();
    // Answers for every device number on its bus (a device behind a port
    // that ignores the device number).
    FakeFunction& alias_devices();
    FakeFunction& header_type(u8 layout);

    // BARs (size a power of two) and the expansion ROM
    FakeFunction& bar32(unsigned index, u64 size, bool prefetchable = false);
    FakeFunction& bar64(unsigned index, u64 size, bool prefetchable = true);
    FakeFunction& bar_io(unsigned index, u64 size, bool decode16 = false);
    // A BAR register with explicit read-only value and writable mask.
    FakeFunction& bar_raw(unsigned index, u32 value, u32 writable);
    FakeFunction& rom(u64 size);

    // Capabilities, appended to the list from 0x40
    FakeFunction& pm();
    FakeFunction& msi(bool is64, unsigned multi_log2);
    FakeFunction& msix(u16 vectors, u8 table_bar, u32 table_offset, u8 pba_bar, u32 pba_offset);
    FakeFunction& pcie(PortType type);
    // A raw capability header at `offset` pointing at `next` (for broken lists).
    FakeFunction& cap_raw(u8 offset, u8 id, u8 next);
    FakeFunction& cap_pointer(u8 offset);
    // An Enhanced Allocation capability with these entries; for a bridge the
    // fixed secondary and subordinate bus numbers come first. Its BAR
    // registers stay hardwired to 0, as the ECN requires.
    FakeFunction& ea(std::initializer_list<EaEntry> entries, u8 fixed_secondary = 0, u8 fixed_subordinate = 0);

    // Bridges
    FakeFunction& bridge(bool io_window = true, bool pref_window = true, bool pref64 = true);
    FakeFunction& pcie_bridge(PortType type);  // bridge() + pcie(type) + ids and class
    // A function on this bridge's secondary bus; returns the child.
    FakeFunction& child(u8 dev, u8 fn = 0);

    // A PCI Express extended capability header at `offset` (0x100 and up).
    FakeFunction& ext_cap(u16 offset, u16 id, u16 next);
    // Which bits of the dword at `reg` the guest may write.
    FakeFunction& writable(u16 reg, u32 mask);

    // Raw state, bypassing masks (for presetting stale firmware values)
    FakeFunction& poke32(u16 reg, u32 value);

    // Inspection (does not count as an access)
    u32 peek32(u16 reg) const;
    u16 peek16(u16 reg) const;
    u8 peek8(u16 reg) const { return cfg_[reg]; }
    bool is_bridge() const { return bridge_; }
    // Config writes to the header dword holding `reg` (below 0x40).
    unsigned writes_to(u16 reg) const { return header_writes_[reg / 4]; }

    // Config-cycle behaviour
    u32 read(u16 reg, unsigned width) const;
    void write(u16 reg, unsigned width, u32 value);

private:
    friend class FakeEcam;
    friend struct FakeBus;
    void set32(u16 reg, u32 value, u32 writable);
    u8 add_cap(u8 id, u8 length);

    FakeEcam& ecam_;
    std::array<u8, 4096> cfg_{};
    std::array<u8, 4096> wmask_{};
    bool bridge_ = false;
    bool alias_fn_ = false;
    bool alias_dev_ = false;
    std::array<unsigned, 16> header_writes_{};
    u8 next_cap_ = 0x40;
    u8 last_cap_ = 0;
    std::unique_ptr<FakeBus> below_;
};

struct FakeBus {
    std::map<u8, std::unique_ptr<FakeFunction>> fns;  // by dev << 3 | fn
    FakeFunction* find(u8 dev, u8 fn) const;
};

class FakeEcam final : public ConfigAccess {
public:
    explicit FakeEcam(u8 root_bus = 0) : root_bus_(root_bus) {}

    FakeFunction& add(u8 dev, u8 fn = 0);  // on the root bus
    // The function a config cycle to bdf reaches now, or nullptr.
    FakeFunction* route(Bdf bdf);

    u8 read8(Bdf f, u16 reg) override { return u8(access(f, reg, 1, false, 0)); }
    u16 read16(Bdf f, u16 reg) override { return u16(access(f, reg, 2, false, 0)); }
    u32 read32(Bdf f, u16 reg) override { return access(f, reg, 4, false, 0); }
    void write8(Bdf f, u16 reg, u8 v) override { access(f, reg, 1, true, v); }
    void write16(Bdf f, u16 reg, u16 v) override { access(f, reg, 2, true, v); }
    void write32(Bdf f, u16 reg, u32 v) override { access(f, reg, 4, true, v); }

    // Every function's config space, in a fixed order, and back: a fuzzer
    // sets the topology up once and restores it for each input.
    // Loads straight from a function's bytes, as a mapped ECAM gives them
    // (VirtualConfig's lock-free word reads use them): off unless a test
    // turns it on before the view is built, so the methods' path is tested too.
    bool direct = false;
    std::uintptr_t function_base(Bdf f) override
    {
        FakeFunction* fn = direct ? route(f) : nullptr;
        return fn != nullptr ? reinterpret_cast<std::uintptr_t>(fn->cfg_.data()) : 0;
    }

    std::vector<std::array<u8, 4096>> save() const;
    void restore(const std::vector<std::array<u8, 4096>>& state);

    u64 accesses = 0;
    u64 misaligned = 0;
    u64 routing_conflicts = 0;   // a bus claimed by two sibling bridges
    u64 sized_while_decoding = 0;  // all-ones written to a BAR with its decoding on

private:
    friend class FakeFunction;
    u32 access(Bdf f, u16 reg, unsigned width, bool write, u32 value);
    void rebuild_routes();
    static void walk(const FakeBus& bus, const std::function<void(FakeFunction&)>& visit);
    void claim(FakeBus& bus, unsigned lo, unsigned hi);

    u8 root_bus_;
    FakeBus root_;
    bool routes_dirty_ = true;
    std::array<FakeBus*, 256> routes_{};
    std::array<bool, 256> ambiguous_{};
};

}  // namespace passage::pci::test
