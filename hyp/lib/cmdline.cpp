#include "passage/cmdline.h"

namespace passage {

bool cmdline_option(const char* cmdline, const char* name, char* buf, usize size)
{
    if (cmdline == nullptr || size == 0) return false;
    constexpr char kPrefix[] = "passage.";
    const char* p = cmdline;
    while (*p != '\0') {
        while (*p == ' ') ++p;
        const char* word = p;
        while (*p != '\0' && *p != ' ') ++p;
        const char* end = p;
        const char* q = word;
        usize i = 0;
        for (; kPrefix[i] != '\0' && q < end && *q == kPrefix[i]; ++i, ++q) {
        }
        if (kPrefix[i] != '\0') continue;
        usize j = 0;
        for (; name[j] != '\0' && q < end && *q == name[j]; ++j, ++q) {
        }
        if (name[j] != '\0') continue;
        if (q == end) {  // bare flag
            if (size < 2) return false;
            buf[0] = '1';
            buf[1] = '\0';
            return true;
        }
        if (*q != '=') continue;
        ++q;
        usize n = usize(end - q);
        if (n + 1 > size) return false;
        for (usize k = 0; k < n; ++k) buf[k] = q[k];
        buf[n] = '\0';
        return true;
    }
    return false;
}

}  // namespace passage
