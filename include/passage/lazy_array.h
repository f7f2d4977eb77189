// Storage for a fixed number of objects whose constructors run only when
// the owner says so (construct). For large tables of which a run-time count
// is used: a member array with default member initializers is zeroed whole
// by the owner's constructor (VirtualConfig's 256 functions and 1,536 BAR
// slots: about 200 KB at every boot, for the ten or so a board has).
// Reading an entry that was never constructed is the owner's bug, as
// reading past its count would be.
#pragma once

#include <new>
#include <type_traits>

#include "passage/types.h"

namespace passage {

template <class T, usize N>
class LazyArray {
    static_assert(std::is_trivially_destructible_v<T>, "entries are never destroyed");

public:
    // Leaves every entry unconstructed. On the host (the unit tests and the
    // fuzzers) they are filled with a pattern instead, so that reading one
    // that was never constructed shows up as garbage, not as a lucky zero.
    LazyArray()
    {
#if defined(PASSAGE_HOST)
        __builtin_memset(bytes_, 0xa5, sizeof bytes_);
#endif
    }

    T& construct(usize i) { return *::new (static_cast<void*>(bytes_ + i * sizeof(T))) T{}; }
    T& operator[](usize i) { return data()[i]; }
    const T& operator[](usize i) const { return data()[i]; }
    T* data() { return std::launder(reinterpret_cast<T*>(bytes_)); }
    const T* data() const { return std::launder(reinterpret_cast<const T*>(bytes_)); }
    static constexpr usize size() { return N; }

private:
    alignas(T) unsigned char bytes_[sizeof(T) * N];
};

}  // namespace passage
