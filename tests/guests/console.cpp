#include "console.h"

namespace guest {

namespace {

// PL011 registers (Arm PrimeCell UART TRM): data, flags (TXFF = bit 5).
constexpr u64 kDr = 0x00;
constexpr u64 kFr = 0x18;
constexpr u32 kFrTxff = 1u << 5;

u64 g_uart;
unsigned g_passed;
unsigned g_failed;

void putc_raw(char c)
{
    while (mmio_read32(g_uart + kFr) & kFrTxff) {}
    mmio_write32(g_uart + kDr, static_cast<u8>(c));
}

void write(const char* s)
{
    if (!g_uart) return;
    for (; *s; ++s) {
        if (*s == '\n') putc_raw('\r');
        putc_raw(*s);
    }
}

struct Out {
    char* buf;
    size_t size;
    size_t len = 0;
    void put(char c)
    {
        if (len + 1 < size) buf[len] = c;
        ++len;
    }
};

void put_number(Out& out, u64 v, unsigned base, bool negative, unsigned width, char pad)
{
    char digits[24];
    unsigned n = 0;
    do {
        unsigned d = static_cast<unsigned>(v % base);
        digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (negative) digits[n++] = '-';
    for (unsigned i = n; i < width; ++i) out.put(pad);
    while (n) out.put(digits[--n]);
}

void vline(const char* prefix, const char* fmt, va_list args)
{
    char line[240];
    vformat(line, sizeof line, fmt, args);
    write(prefix);
    write(line);
    write("\n");
}

}  // namespace

void console_init(u64 pl011_base) { g_uart = pl011_base; }
bool console_ready() { return g_uart != 0; }

void vformat(char* buf, size_t size, const char* fmt, va_list args)
{
    Out out{buf, size};
    for (const char* p = fmt; *p; ++p) {
        if (*p != '%') {
            out.put(*p);
            continue;
        }
        ++p;
        char pad = ' ';
        unsigned width = 0;
        if (*p == '0') pad = '0', ++p;
        while (*p >= '0' && *p <= '9') width = width * 10 + static_cast<unsigned>(*p++ - '0');
        int longs = 0;
        while (*p == 'l') ++longs, ++p;
        switch (*p) {
        case 'd': {
            i64 v = longs ? va_arg(args, long) : va_arg(args, int);
            put_number(out, v < 0 ? static_cast<u64>(-v) : static_cast<u64>(v), 10, v < 0, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            u64 v = longs ? va_arg(args, unsigned long) : va_arg(args, unsigned);
            put_number(out, v, *p == 'x' ? 16 : 10, false, width, pad);
            break;
        }
        case 'p':
            out.put('0'), out.put('x');
            put_number(out, reinterpret_cast<u64>(va_arg(args, void*)), 16, false, width, pad);
            break;
        case 's': {
            const char* s = va_arg(args, const char*);
            for (s = s ? s : "(null)"; *s; ++s) out.put(*s);
            break;
        }
        case 'c': out.put(static_cast<char>(va_arg(args, int))); break;
        case '%': out.put('%'); break;
        case '\0': --p; break;
        default: out.put('%'), out.put(*p); break;
        }
    }
    if (size) buf[out.len < size ? out.len : size - 1] = '\0';
}

void format_into(char* buf, size_t size, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vformat(buf, size, fmt, args);
    va_end(args);
}

void print(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vline("", fmt, args);
    va_end(args);
}

void info(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vline("guest:   ", fmt, args);
    va_end(args);
}

void pass(const char* check)
{
    ++g_passed;
    write("guest: PASS ");
    write(check);
    write("\n");
}

void fail(const char* check, const char* why, ...)
{
    ++g_failed;
    write("guest: FAIL ");
    write(check);
    va_list args;
    va_start(args, why);
    vline(": ", why, args);
    va_end(args);
}

void skip(const char* check, const char* why, ...)
{
    write("guest: SKIP ");
    write(check);
    va_list args;
    va_start(args, why);
    vline(": ", why, args);
    va_end(args);
}

unsigned passed_count() { return g_passed; }
unsigned failed_count() { return g_failed; }

const char* size_text(u64 bytes, char (&buf)[24])
{
    static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    unsigned unit = 0;
    while (unit < 4 && bytes >= 1024 && bytes % 1024 == 0) bytes /= 1024, ++unit;
    Out out{buf, sizeof buf};
    put_number(out, bytes, 10, false, 0, ' ');
    out.put(' ');
    for (const char* u = kUnits[unit]; *u; ++u) out.put(*u);
    buf[out.len < sizeof buf ? out.len : sizeof buf - 1] = '\0';
    return buf;
}

}  // namespace guest
