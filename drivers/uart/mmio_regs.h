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

// The wait for room to send one byte. The console is shared with the guest,
// which may disable it: after one wait that times out, passage stops
// waiting and drops bytes, looking once per byte, until the transmitter has
// room again; so a dead UART costs one bounded wait, not one per byte.
class TxWait {
public:
    // Whether to send the byte now; has_room() reads the status register.
    // The first look is the same whether wedged or not, and is nearly
    // always the answer: one status read and one store a byte.
    template <class HasRoom>
    bool ready(HasRoom has_room) const
    {
        if (has_room()) {
            wedged_ = false;
            return true;
        }
        if (wedged_) return false;
        for (u32 i = 1; i < kUartSpinLimit; ++i)
            if (has_room()) return true;
        wedged_ = true;
        return false;
    }
    bool wedged() const { return wedged_; }

private:
    mutable bool wedged_ = false;  // benign race: CPUs print under the log's lock
};

// Sends s[0..n) byte by byte through port.put(), each '\n' as "\r\n" (what
// a serial terminal needs to start the next line at its left edge).
template <class Port>
void write_crlf(const Port& port, const char* s, usize n)
{
    for (usize i = 0; i < n; ++i) {
        if (s[i] == '\n') port.put('\r');
        port.put(s[i]);
    }
}

}  // namespace passage
