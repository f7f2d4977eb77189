// The fuzzers' reader of their input: values taken in order, zero-filled
// once the bytes run out.
#pragma once

#include <cstring>

#include "passage/types.h"

namespace passage::fuzzing {

struct Input {
    const u8* p;
    usize n;

    template <typename T>
    T take()
    {
        T v{};
        usize k = n < sizeof v ? n : sizeof v;
        std::memcpy(&v, p, k);
        p += k;
        n -= k;
        return v;
    }
};

}  // namespace passage::fuzzing
