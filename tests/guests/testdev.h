// QEMU's pci-testdev (1b36:0005) through its memory BAR: proves that an
// address really reaches the device (docs/specs/pci-testdev.rst in QEMU).
#pragma once

#include "arch.h"

namespace guest::testdev {

struct Run {
    bool ok = false;
    const char* error = "";  // when !ok
    char test[24] = {};      // the test's name from the header
    u8 width = 0, data = 0;
    u32 offset = 0;
    unsigned writes = 0;
    u32 before = 0, after = 0;  // the device's count of matching writes
};

// Runs test 0 ("mmio-no-eventfd") of the BAR mapped at `base`: a few writes
// to its register, then checks the device counted every one. `base` must be
// mapped Device at stage 1 and the function must decode memory.
Run run(u64 base);

}  // namespace guest::testdev
