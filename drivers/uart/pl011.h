// Arm PL011 UART, polled transmit only: the hypervisor's console.
#pragma once

#include "passage/types.h"

namespace passage {

class Pl011 {
public:
    void init(u64 base) { base_ = base; }
    bool ready() const { return base_ != 0; }
    void put(char c) const;
    void write(const char* s, usize n) const;

private:
    u64 base_ = 0;
};

}  // namespace passage
