#include "pl011.h"

namespace passage {
namespace {

constexpr u64 kDR = 0x00;
constexpr u64 kFR = 0x18;
constexpr u32 kFR_TXFF = 1u << 5;  // transmit FIFO full

// Bounded wait: a wedged UART must not hang the hypervisor forever.
constexpr u32 kSpinLimit = 1u << 20;

}  // namespace

void Pl011::put(char c) const
{
    auto* fr = reinterpret_cast<volatile u32*>(base_ + kFR);
    auto* dr = reinterpret_cast<volatile u32*>(base_ + kDR);
    for (u32 i = 0; i < kSpinLimit && (*fr & kFR_TXFF) != 0; ++i) {
    }
    *dr = static_cast<u8>(c);
}

void Pl011::write(const char* s, usize n) const
{
    if (base_ == 0) return;
    for (usize i = 0; i < n; ++i) {
        if (s[i] == '\n') put('\r');
        put(s[i]);
    }
}

}  // namespace passage
