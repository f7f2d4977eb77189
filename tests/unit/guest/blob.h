// Test helpers: guest physical memory backed by a host buffer, and the
// shared device-tree blobs (support/fixture.h).
#pragma once

#include <string>
#include <vector>

#include "passage/guest/layout.h"
#include "support/fixture.h"

namespace guest_test {

using namespace passage;

using test::Blob;
using test::buffer;
using test::load_dtb;

// [base, base + size) of guest physical memory, in a host vector.
struct Arena {
    u64 base;
    std::vector<u8> bytes;
    Arena(u64 b, usize size, u8 fill = 0) : base(b), bytes(size, fill) {}
    u8* at(u64 phys) { return bytes.data() + (phys - base); }
    PhysAccess access();
};

}  // namespace guest_test
