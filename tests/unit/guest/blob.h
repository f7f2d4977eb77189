// Test helpers: device-tree blobs in 8-byte aligned storage, and guest
// physical memory backed by a host buffer.
#pragma once

#include <string>
#include <vector>

#include "passage/guest/layout.h"

namespace guest_test {

using namespace passage;

struct Blob {
    std::vector<u64> words;
    usize size = 0;
    const void* data() const { return words.data(); }
    void* data() { return words.data(); }
};

// Loads build/testdata/<name>; fails the test if it is missing.
Blob load_dtb(const std::string& name);

// An empty, aligned buffer of `size` bytes.
Blob buffer(usize size);

// [base, base + size) of guest physical memory, in a host vector.
struct Arena {
    u64 base;
    std::vector<u8> bytes;
    Arena(u64 b, usize size, u8 fill = 0) : base(b), bytes(size, fill) {}
    u8* at(u64 phys) { return bytes.data() + (phys - base); }
    PhysAccess access();
};

}  // namespace guest_test
