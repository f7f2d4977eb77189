// Arm PL011 UART and the SBSA generic UART (a PL011 subset: the same DR and
// FR, 32-bit accesses only), polled transmit only: the hypervisor's console.
// Nothing is programmed: the firmware's baud rate and line settings stay.
#pragma once

#include "uart/mmio_regs.h"

namespace passage {

template <class Regs>
class Pl011Port {
public:
    static constexpr u64 kDR = 0x00;
    static constexpr u64 kFR = 0x18;
    static constexpr u32 kFR_TXFF = 1u << 5;  // transmit FIFO full

    constexpr Pl011Port() = default;
    constexpr explicit Pl011Port(Regs regs) : regs_(regs), ready_(true) {}

    bool ready() const { return ready_; }

    void put(char c) const
    {
        if (tx_.ready([this] { return (regs_.read(kFR, 4) & kFR_TXFF) == 0; })) regs_.write(kDR, u8(c), 4);
    }
    bool wedged() const { return tx_.wedged(); }

    void write(const char* s, usize n) const
    {
        if (ready_) write_crlf(*this, s, n);
    }

private:
    Regs regs_{};
    bool ready_ = false;
    TxWait tx_;
};

using Pl011 = Pl011Port<MmioRegs>;

}  // namespace passage
