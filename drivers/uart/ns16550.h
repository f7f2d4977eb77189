// The 16550 family (ns16550a, ns16550, DesignWare APB, Freescale), polled
// transmit only. Register i sits at reg-offset + (i << reg-shift) and is
// accessed reg-io-width bytes wide, as the device tree says.
//
// Only THR is written and only LSR read: the firmware's divisor, line
// settings and FIFO set-up stay. A DesignWare UART ignores LCR writes while
// it is busy (USR.BUSY), so reprogramming the baud rate there can silently
// leave the divisor latch open and turn every later byte into a divisor.
#pragma once

#include "uart/mmio_regs.h"

namespace passage {

struct Ns16550Layout {
    u8 reg_shift = 0;
    u8 reg_io_width = 1;
    u32 reg_offset = 0;
};

template <class Regs>
class Ns16550Port {
public:
    static constexpr unsigned kTHR = 0;         // transmit holding register (write)
    static constexpr unsigned kLSR = 5;         // line status register
    static constexpr u32 kLSR_THRE = 1u << 5;   // THR (or the FIFO) has room

    constexpr Ns16550Port() = default;
    constexpr Ns16550Port(Regs regs, Ns16550Layout layout) : regs_(regs), layout_(layout), ready_(true) {}

    bool ready() const { return ready_; }

    void put(char c) const
    {
        if (tx_.ready([this] { return (read(kLSR) & kLSR_THRE) != 0; }))
            regs_.write(offset(kTHR), u8(c), layout_.reg_io_width);
    }
    bool wedged() const { return tx_.wedged(); }

    void write(const char* s, usize n) const
    {
        if (ready_) write_crlf(*this, s, n);
    }

private:
    u64 offset(unsigned index) const { return layout_.reg_offset + (u64{index} << layout_.reg_shift); }
    u32 read(unsigned index) const { return regs_.read(offset(index), layout_.reg_io_width); }

    Regs regs_{};
    Ns16550Layout layout_{};
    bool ready_ = false;
    TxWait tx_;
};

using Ns16550 = Ns16550Port<MmioRegs>;

}  // namespace passage
