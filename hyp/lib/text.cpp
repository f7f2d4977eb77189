#include "passage/text.h"

namespace passage {

void copy_string(char* dst, usize size, const char* src)
{
    if (size == 0) return;
    usize i = 0;
    for (; src != nullptr && src[i] != '\0' && i + 1 < size; ++i) dst[i] = src[i];
    dst[i] = '\0';
}

bool string_equal(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

}  // namespace passage
