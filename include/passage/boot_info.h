// What boot/head.S hands to C++: where the image sits and how it was entered.
#pragma once

#include "passage/types.h"

namespace passage {

struct BootInfo {
    u64 dtb = 0;         // x0 at entry: the device tree's physical address
    u64 image_base = 0;  // where the image was loaded
    u64 image_end = 0;   // end of everything the image uses (bss, stacks, pools)
    u64 text_end = 0;    // end of code (RX)
    u64 rodata_end = 0;  // end of read-only data (R)
    u32 entry_el = 0;    // exception level at entry: 2, or 1 without virtualization
};

}  // namespace passage
