#include "passage/cmdline.h"

namespace passage {

namespace {

// The value of passage.<name> in place ("1" for a bare flag); false if absent.
bool find_option(const char* cmdline, const char* name, const char*& value, usize& len)
{
    if (cmdline == nullptr) return false;
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
            value = "1";
            len = 1;
            return true;
        }
        if (*q != '=') continue;
        value = q + 1;
        len = usize(end - value);
        return true;
    }
    return false;
}

bool same(const char* value, usize len, const char* word)
{
    usize i = 0;
    for (; i < len && word[i] != '\0'; ++i)
        if (value[i] != word[i]) return false;
    return i == len && word[i] == '\0';
}

}  // namespace

bool cmdline_option(const char* cmdline, const char* name, char* buf, usize size)
{
    const char* value = nullptr;
    usize n = 0;
    if (size == 0 || !find_option(cmdline, name, value, n) || n + 1 > size) return false;
    for (usize k = 0; k < n; ++k) buf[k] = value[k];
    buf[n] = '\0';
    return true;
}

int cmdline_word(const char* cmdline, const char* name, std::span<const char* const> words, int absent, char* bad,
                 usize bad_size)
{
    const char* value = nullptr;
    usize n = 0;
    if (!find_option(cmdline, name, value, n)) return absent;
    if (same(value, n, "1")) value = "on", n = 2;  // a bare passage.<name>
    for (usize w = 0; w < words.size(); ++w)
        if (same(value, n, words[w])) return int(w);
    if (bad_size > 0) {
        usize k = 0;
        for (; k < n && k + 1 < bad_size; ++k) bad[k] = value[k];
        bad[k] = '\0';
    }
    return -1;
}

}  // namespace passage
