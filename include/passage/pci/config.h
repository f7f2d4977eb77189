// Configuration-space access, injected into the enumerator.
//
// On the target the accessor is EcamAccess over the host bridge's ECAM
// (mapped Device-nGnRnE at EL2); in host tests it is a fake ECAM. The
// enumerator sees only this interface.
#pragma once

#include <compare>  // passage/types.h defaults operator<=> without including it
#include <cstdint>

#include "passage/types.h"

namespace passage::pci {

// A function address inside one segment (PCI domain).
struct Bdf {
    u8 bus = 0;
    u8 dev = 0;  // 0-31
    u8 fn = 0;   // 0-7
    constexpr bool operator==(const Bdf&) const = default;
};

// Reads of a function that does not exist return all-ones; writes to it are
// dropped. `reg` must be naturally aligned for the access size and below 4096.
class ConfigAccess {
public:
    virtual u8 read8(Bdf f, u16 reg) = 0;
    virtual u16 read16(Bdf f, u16 reg) = 0;
    virtual u32 read32(Bdf f, u16 reg) = 0;
    virtual void write8(Bdf f, u16 reg, u8 value) = 0;
    virtual void write16(Bdf f, u16 reg, u16 value) = 0;
    virtual void write32(Bdf f, u16 reg, u32 value) = 0;
    // Where function f's 4 KiB of config space can be read directly, with
    // loads of the access's own width; 0 when only the methods reach it.
    virtual std::uintptr_t function_base(Bdf) { return 0; }

protected:
    ConfigAccess() = default;
    ~ConfigAccess() = default;  // never deleted through the interface: no heap
    ConfigAccess(const ConfigAccess&) = default;
    ConfigAccess& operator=(const ConfigAccess&) = default;
};

// Offset of (bus, dev, fn, reg) inside an ECAM region whose first bus is
// `bus_start` (the device tree's `reg` covers exactly `bus-range`).
constexpr u64 ecam_offset(u8 bus_start, Bdf f, u16 reg)
{
    return u64(u8(f.bus - bus_start)) << 20 | u64(f.dev & 0x1f) << 15 | u64(f.fn & 7) << 12 |
           u64(reg & 0xfff);
}
static_assert(ecam_offset(0, Bdf{1, 2, 3}, 0x10) == 0x113010);
static_assert(ecam_offset(0x80, Bdf{0x81, 0, 0}, 0) == 0x100000);

// ECAM (PCIe 7.2.2): memory-mapped configuration space at `base`, a virtual
// address the caller has mapped; on the host it may point at a heap buffer.
class EcamAccess final : public ConfigAccess {
public:
    // `size` bounds the buses reachable (1 MiB per bus) below bus_end.
    EcamAccess(VirtAddr base, u64 size, u8 bus_start, u8 bus_end);

    u8 read8(Bdf f, u16 reg) override;
    u16 read16(Bdf f, u16 reg) override;
    u32 read32(Bdf f, u16 reg) override;
    void write8(Bdf f, u16 reg, u8 value) override;
    void write16(Bdf f, u16 reg, u16 value) override;
    void write32(Bdf f, u16 reg, u32 value) override;
    std::uintptr_t function_base(Bdf f) override { return address(f, 0, 4); }

    u8 bus_start() const { return bus_start_; }
    u8 bus_end() const { return bus_end_; }

private:
    // The address of an access, or 0 when it is outside the ECAM or misaligned.
    std::uintptr_t address(Bdf f, u16 reg, u16 width) const;

    std::uintptr_t base_;
    u8 bus_start_;
    u8 bus_end_;
};

// Counts the accesses made through another accessor (the benchmark's figure).
class CountingAccess final : public ConfigAccess {
public:
    explicit CountingAccess(ConfigAccess& inner) : inner_(inner) {}

    u8 read8(Bdf f, u16 reg) override { ++reads; return inner_.read8(f, reg); }
    u16 read16(Bdf f, u16 reg) override { ++reads; return inner_.read16(f, reg); }
    u32 read32(Bdf f, u16 reg) override { ++reads; return inner_.read32(f, reg); }
    void write8(Bdf f, u16 reg, u8 v) override { ++writes; inner_.write8(f, reg, v); }
    void write16(Bdf f, u16 reg, u16 v) override { ++writes; inner_.write16(f, reg, v); }
    void write32(Bdf f, u16 reg, u32 v) override { ++writes; inner_.write32(f, reg, v); }

    u64 total() const { return reads + writes; }

    u64 reads = 0;
    u64 writes = 0;

private:
    ConfigAccess& inner_;
};

}  // namespace passage::pci
