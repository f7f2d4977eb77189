// Register and descriptor fields, each declared once, named as in the Arm ARM.
//
//   using S2AP = Field<7, 6>;
//   u64 d = S2AP::set(0, 0b11);
#pragma once

#include "passage/types.h"

namespace passage {

template <unsigned Hi, unsigned Lo>
struct Field {
    static_assert(Hi >= Lo && Hi < 64, "field bits out of order");
    static constexpr unsigned kLow = Lo;
    static constexpr unsigned kWidth = Hi - Lo + 1;
    static constexpr u64 kMax = kWidth == 64 ? ~u64{0} : (u64{1} << kWidth) - 1;
    static constexpr u64 kMask = kMax << Lo;

    static constexpr u64 get(u64 reg) { return (reg & kMask) >> Lo; }
    static constexpr u64 set(u64 reg, u64 v) { return (reg & ~kMask) | ((v << Lo) & kMask); }
    static constexpr u64 make(u64 v) { return (v << Lo) & kMask; }
};

template <unsigned N>
using Bit = Field<N, N>;

static_assert(Field<7, 6>::set(0, 3) == 0xc0);
static_assert(Field<5, 2>::get(0x3c) == 0xf);
static_assert(Bit<63>::kMask == (u64{1} << 63));

}  // namespace passage
