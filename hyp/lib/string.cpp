// The C string and memory functions the compiler and libfdt call. Target
// only (the host has libc). Built with -fno-tree-loop-distribute-patterns so
// GCC does not turn these loops back into calls to themselves.
#include <cstddef>

#include "passage/word_scan.h"

extern "C" {

using passage::words::copy_backward;
using passage::words::copy_forward;

void* memcpy(void* dst, const void* src, size_t n)
{
    copy_forward(static_cast<unsigned char*>(dst), static_cast<const unsigned char*>(src), n);
    return dst;
}

void* memmove(void* dst, const void* src, size_t n)
{
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    if (d <= s || d >= s + n) copy_forward(d, s, n);
    else copy_backward(d, s, n);
    return dst;
}

void* memset(void* dst, int c, size_t n)
{
    passage::words::fill_bytes(dst, static_cast<unsigned char>(c), n);
    return dst;
}

int memcmp(const void* a, const void* b, size_t n)
{
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < n; ++i)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

// libfdt's fdt_get_string looks for a name's NUL with memchr, over the rest
// of the strings block: word by word (passage/word_scan.h).
void* memchr(const void* s, int c, size_t n)
{
    return const_cast<void*>(passage::words::find_byte(s, static_cast<unsigned char>(c), n));
}

size_t strlen(const char* s) { return passage::words::string_length(s); }

size_t strnlen(const char* s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n] != '\0') ++n;
    return n;
}

char* strchr(const char* s, int c)
{
    for (;; ++s) {
        if (*s == static_cast<char>(c)) return const_cast<char*>(s);
        if (*s == '\0') return nullptr;
    }
}

char* strrchr(const char* s, int c)
{
    const char* last = nullptr;
    for (;; ++s) {
        if (*s == static_cast<char>(c)) last = s;
        if (*s == '\0') return const_cast<char*>(last);
    }
}

unsigned long strtoul(const char* s, char** end, int base)
{
    while (*s == ' ' || *s == '\t') ++s;
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = s[0] == '0' ? 8 : 10;
    }
    unsigned long v = 0;
    for (;; ++s) {
        int d;
        if (*s >= '0' && *s <= '9') d = *s - '0';
        else if (*s >= 'a' && *s <= 'z') d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'Z') d = *s - 'A' + 10;
        else break;
        if (d >= base) break;
        v = v * static_cast<unsigned long>(base) + static_cast<unsigned long>(d);
    }
    if (end != nullptr) *end = const_cast<char*>(s);
    return v;
}

}  // extern "C"
