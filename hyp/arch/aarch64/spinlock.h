// A ticket lock for the few structures CPUs share (the guest's CPU states).
// Needs the MMU and caches on (exclusives on Normal memory).
#pragma once

#include "passage/types.h"

namespace passage::arch {

class Spinlock {
public:
    void lock()
    {
        u32 ticket = __atomic_fetch_add(&next_, 1, __ATOMIC_RELAXED);
        while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) asm volatile("yield");
    }
    void unlock() { __atomic_store_n(&serving_, serving_ + 1, __ATOMIC_RELEASE); }

private:
    u32 next_ = 0;
    u32 serving_ = 0;
};

}  // namespace passage::arch
