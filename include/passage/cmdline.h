// Boot options from /chosen/bootargs: space-separated `passage.name=value`
// words (or a bare `passage.name`, which reads as "1").
#pragma once

#include "passage/types.h"

namespace passage {

// Copies the value of `passage.<name>` into buf; false if absent or too long.
bool cmdline_option(const char* cmdline, const char* name, char* buf, usize size);

}  // namespace passage
