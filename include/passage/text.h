// Fixed-size C strings: the one copy and the one comparison every module
// uses for names, paths and messages (no libc in the image).
#pragma once

#include "passage/types.h"

namespace passage {

// Copies src into dst[size], truncating, always NUL-terminated when size > 0;
// a null src copies as "".
void copy_string(char* dst, usize size, const char* src);

// True if a and b hold the same NUL-terminated string.
bool string_equal(const char* a, const char* b);

}  // namespace passage
