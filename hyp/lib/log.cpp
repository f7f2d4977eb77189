#include "passage/log.h"

#include "passage/format.h"

namespace passage {
namespace {

void discard(const char*, usize) {}

LogSink g_sink = discard;
LogLevel g_level = LogLevel::Info;

constexpr usize kLineMax = 256;

void write(const char* prefix, const char* fmt, va_list args, bool newline)
{
    char line[kLineMax];
    usize n = 0;
    while (prefix[n] != '\0' && n < kLineMax - 2) {
        line[n] = prefix[n];
        ++n;
    }
    usize body = vformat(line + n, kLineMax - 1 - n, fmt, args);
    n += body < kLineMax - 1 - n ? body : kLineMax - 2 - n;
    if (newline) line[n++] = '\n';
    g_sink(line, n);
}

}  // namespace

void set_log_sink(LogSink sink) { g_sink = sink != nullptr ? sink : discard; }
void set_log_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }

void vlog(LogLevel level, const char* fmt, va_list args)
{
    if (level > g_level) return;
    const char* prefix = level == LogLevel::Error  ? "ERROR: "
                         : level == LogLevel::Warn ? "WARNING: "
                                                   : "";
    write(prefix, fmt, args, true);
}

// The four levels' entry points differ only in their level.
#define PASSAGE_LOG_AT(name, level)    \
    void name(const char* fmt, ...)    \
    {                                  \
        va_list args;                  \
        va_start(args, fmt);           \
        vlog(level, fmt, args);        \
        va_end(args);                  \
    }
PASSAGE_LOG_AT(log_error, LogLevel::Error)
PASSAGE_LOG_AT(log_warn, LogLevel::Warn)
PASSAGE_LOG_AT(log_info, LogLevel::Info)
PASSAGE_LOG_AT(log_debug, LogLevel::Debug)
#undef PASSAGE_LOG_AT

void log_raw(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    write("", fmt, args, false);
    va_end(args);
}

}  // namespace passage
