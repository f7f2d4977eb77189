#include "passage/format.h"

namespace passage {
namespace {

// The output: what fits in buf (one byte kept for the NUL) is stored, and
// len counts everything, stored or not (snprintf's return value).
struct Out {
    char* buf;
    usize size;
    usize len = 0;

    usize room() const { return len + 1 < size ? size - 1 - len : 0; }

    void put(char c)
    {
        if (len + 1 < size) buf[len] = c;
        ++len;
    }

    // A run at once: one bound check for the run, not one per character.
    void put(const char* s, usize n)
    {
        const usize k = n < room() ? n : room();
        char* d = k > 0 ? buf + len : nullptr;  // buf may be null when size is 0
        for (usize i = 0; i < k; ++i) d[i] = s[i];
        len += n;
    }

    // A NUL-terminated string: copied while it fits as it is measured.
    void put_string(const char* s)
    {
        const usize r = room();
        usize i = 0;
        if (r > 0) {
            char* d = buf + len;
            for (char c; i < r && (c = s[i]) != '\0'; ++i) d[i] = c;
        }
        while (s[i] != '\0') ++i;
        len += i;
    }

    void fill(char c, usize n)
    {
        const usize k = n < room() ? n : room();
        char* d = k > 0 ? buf + len : nullptr;
        for (usize i = 0; i < k; ++i) d[i] = c;
        len += n;
    }
};

struct Spec {
    bool left = false;
    bool zero = false;
    unsigned width = 0;
    int precision = -1;
};

void emit(Out& out, const Spec& spec, const char* s, usize n, const char* prefix = "")
{
    if (spec.width == 0 && prefix[0] == '\0') {  // most conversions: no padding, no prefix
        out.put(s, n);
        return;
    }
    usize plen = 0;
    while (prefix[plen] != '\0') ++plen;
    usize total = n + plen;
    usize fill = spec.width > total ? spec.width - total : 0;
    if (!spec.left && !spec.zero) out.fill(' ', fill);
    out.put(prefix, plen);
    if (!spec.left && spec.zero) out.fill('0', fill);
    out.put(s, n);
    if (spec.left) out.fill(' ', fill);
}

// Digits from the last, into the end of a buffer; a shift for hex and a
// constant divisor for decimal, not a division by a variable base.
void emit_unsigned(Out& out, Spec spec, u64 v, unsigned base, bool upper, const char* prefix = "")
{
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    usize n = sizeof tmp;
    if (base == 16) {
        do {
            tmp[--n] = digits[v & 15];
            v >>= 4;
        } while (v != 0);
    } else {
        do {
            tmp[--n] = digits[v % 10];
            v /= 10;
        } while (v != 0);
    }
    emit(out, spec, tmp + n, sizeof tmp - n, prefix);
}

}  // namespace

usize vformat(char* buf, usize size, const char* fmt, va_list args)
{
    Out out{buf, size};
    for (const char* p = fmt; *p != '\0'; ++p) {
        if (*p != '%') {
            // Plain text up to the next conversion, as one run.
            const char* run = p;
            while (p[1] != '\0' && p[1] != '%') ++p;
            out.put(run, usize(p - run) + 1);
            continue;
        }
        ++p;
        Spec spec;
        for (;; ++p) {
            if (*p == '-') spec.left = true;
            else if (*p == '0') spec.zero = true;
            else break;
        }
        while (*p >= '0' && *p <= '9') spec.width = spec.width * 10 + unsigned(*p++ - '0');
        if (*p == '.') {
            ++p;
            spec.precision = 0;
            while (*p >= '0' && *p <= '9') spec.precision = spec.precision * 10 + (*p++ - '0');
        }
        int longs = 0;
        bool size_t_mod = false;
        for (;; ++p) {
            if (*p == 'l') ++longs;
            else if (*p == 'z') size_t_mod = true;
            else break;
        }
        auto get_unsigned = [&]() -> u64 {
            if (longs > 0 || size_t_mod) return va_arg(args, unsigned long long);
            return va_arg(args, unsigned int);
        };
        switch (*p) {
        case 'd':
        case 'i': {
            i64 v = (longs > 0 || size_t_mod) ? va_arg(args, long long) : va_arg(args, int);
            if (v < 0) emit_unsigned(out, spec, u64(0) - u64(v), 10, false, "-");
            else emit_unsigned(out, spec, u64(v), 10, false);
            break;
        }
        case 'u': emit_unsigned(out, spec, get_unsigned(), 10, false); break;
        case 'x': emit_unsigned(out, spec, get_unsigned(), 16, false); break;
        case 'X': emit_unsigned(out, spec, get_unsigned(), 16, true); break;
        case 'p': {
            auto v = reinterpret_cast<u64>(va_arg(args, void*));
            emit_unsigned(out, spec, v, 16, false, "0x");
            break;
        }
        case 's': {
            const char* s = va_arg(args, const char*);
            if (s == nullptr) s = "(null)";
            if (spec.width == 0 && spec.precision < 0) {
                out.put_string(s);
                break;
            }
            usize n = 0;
            while (s[n] != '\0' && (spec.precision < 0 || n < usize(spec.precision))) ++n;
            spec.zero = false;
            emit(out, spec, s, n);
            break;
        }
        case 'c': {
            char c = char(va_arg(args, int));
            spec.zero = false;
            emit(out, spec, &c, 1);
            break;
        }
        case '%': out.put('%'); break;
        case '\0': --p; break;  // a lone '%' at the end
        default:
            out.put('%');
            out.put(*p);
            break;
        }
    }
    if (size > 0) buf[out.len < size ? out.len : size - 1] = '\0';
    return out.len;
}

usize format(char* buf, usize size, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    usize n = vformat(buf, size, fmt, args);
    va_end(args);
    return n;
}

}  // namespace passage
