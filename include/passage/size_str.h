// Human-readable sizes for logs: "64 KiB", "1 GiB", "1536 KiB"; exact, never rounded.
#pragma once

#include "passage/types.h"

namespace passage {

struct SizeStr {
    char text[24];
    explicit SizeStr(u64 size);
    const char* c_str() const { return text; }
};

}  // namespace passage
