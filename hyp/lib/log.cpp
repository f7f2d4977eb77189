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

void log_error(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vlog(LogLevel::Error, fmt, args);
    va_end(args);
}

void log_warn(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vlog(LogLevel::Warn, fmt, args);
    va_end(args);
}

void log_info(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vlog(LogLevel::Info, fmt, args);
    va_end(args);
}

void log_debug(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vlog(LogLevel::Debug, fmt, args);
    va_end(args);
}


void log_raw(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    write("", fmt, args, false);
    va_end(args);
}

}  // namespace passage
