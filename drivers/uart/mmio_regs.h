// Register access for the console drivers: volatile loads and stores of the
// width the device wants. The drivers are templates over this, so the host
// tests run them against a register model of each UART instead.
#pragma once

#include "passage/types.h"

namespace passage {

struct MmioRegs {
    u64 base = 0;

    u32 read(u64 off, unsigned width) const
    {
        switch (width) {
        case 1: return *reinterpret_cast<volatile u8*>(base + off);
        case 2: return *reinterpret_cast<volatile u16*>(base + off);
        default: return *reinterpret_cast<volatile u32*>(base + off);
        }
    }

    void write(u64 off, u32 value, unsigned width) const
    {
        switch (width) {
        case 1: *reinterpret_cast<volatile u8*>(base + off) = u8(value); break;
        case 2: *reinterpret_cast<volatile u16*>(base + off) = u16(value); break;
        default: *reinterpret_cast<volatile u32*>(base + off) = value; break;
        }
    }
};

// Bounded wait for a transmitter: a wedged UART must not hang passage.
inline constexpr u32 kUartSpinLimit = 1u << 20;

}  // namespace passage
