// What many unit tests share: device-tree blobs from build/testdata in the
// 8-byte aligned storage libfdt wants, and a platform discovered from one.
#pragma once

#include <string>
#include <vector>

#include "passage/discover.h"

namespace passage::test {

struct Blob {
    std::vector<u64> words;
    usize size = 0;
    const void* data() const { return words.data(); }
    void* data() { return words.data(); }
    u8* bytes() { return reinterpret_cast<u8*>(words.data()); }
};

// build/testdata/<name>; fails the test if it is missing.
Blob load_dtb(const std::string& name);

// An empty, aligned buffer of `size` bytes.
Blob buffer(usize size);

// The tree checked, then discovered in `mode`: ok, or the diagnostic.
struct Discovered {
    Platform p;
    Diagnostic diag;
    bool ok = false;
};
Discovered discover_blob(const Blob& b, DiscoveryMode mode = DiscoveryMode::Boot);

// build/testdata/<name> discovered for a boot; fails the test unless it is.
Platform load_platform(const std::string& name);

}  // namespace passage::test
