// A small freestanding printf: %d %i %u %x %X %p %s %c %%, with '-', '0',
// width, precision for %s, and the l/ll/z length modifiers. It always
// NUL-terminates and returns the length it would have written.
#pragma once

#include <cstdarg>

#include "passage/types.h"

namespace passage {

usize vformat(char* buf, usize size, const char* fmt, va_list args);
usize format(char* buf, usize size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace passage
