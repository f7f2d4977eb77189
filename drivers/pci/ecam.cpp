#include "passage/pci/config.h"

namespace passage::pci {

EcamAccess::EcamAccess(VirtAddr base, u64 size, u8 bus_start, u8 bus_end)
    : base_(static_cast<std::uintptr_t>(base.value)), bus_start_(bus_start), bus_end_(bus_end)
{
    // The ECAM may be smaller than bus-range claims (1 MiB per bus); with
    // nothing reachable every access reads all-ones.
    u64 buses = size >> 20;
    if (buses == 0 || bus_end < bus_start) {
        base_ = 0;
        bus_end_ = bus_start;
    } else if (u64(bus_end) - bus_start + 1 > buses) {
        bus_end_ = u8(bus_start + buses - 1);
    }
}

std::uintptr_t EcamAccess::address(Bdf f, u16 reg, u16 width) const
{
    if (base_ == 0 || f.bus < bus_start_ || f.bus > bus_end_ || f.dev > 31 || f.fn > 7) return 0;
    if (reg > 0x1000 - width || (reg & (width - 1)) != 0) return 0;
    return base_ + static_cast<std::uintptr_t>(ecam_offset(bus_start_, f, reg));
}

// Volatile accesses of exactly the requested width: ECAM is Device memory and
// the access size matters to the device (PCIe 7.2.2: no access may cross a
// DWORD; byte enables select the bytes).
u8 EcamAccess::read8(Bdf f, u16 reg)
{
    std::uintptr_t a = address(f, reg, 1);
    return a == 0 ? 0xff : *reinterpret_cast<volatile u8*>(a);
}

u16 EcamAccess::read16(Bdf f, u16 reg)
{
    std::uintptr_t a = address(f, reg, 2);
    return a == 0 ? 0xffff : *reinterpret_cast<volatile u16*>(a);
}

u32 EcamAccess::read32(Bdf f, u16 reg)
{
    std::uintptr_t a = address(f, reg, 4);
    return a == 0 ? 0xffffffff : *reinterpret_cast<volatile u32*>(a);
}

void EcamAccess::write8(Bdf f, u16 reg, u8 value)
{
    if (std::uintptr_t a = address(f, reg, 1)) *reinterpret_cast<volatile u8*>(a) = value;
}

void EcamAccess::write16(Bdf f, u16 reg, u16 value)
{
    if (std::uintptr_t a = address(f, reg, 2)) *reinterpret_cast<volatile u16*>(a) = value;
}

void EcamAccess::write32(Bdf f, u16 reg, u32 value)
{
    if (std::uintptr_t a = address(f, reg, 4)) *reinterpret_cast<volatile u32*>(a) = value;
}

}  // namespace passage::pci
