// Leveled logging over an injected sink: the PL011 at EL2, stdout on the host.
// Each call prints one line; the newline is added here.
#pragma once

#include <cstdarg>

#include "passage/types.h"

namespace passage {

enum class LogLevel : u8 { Error, Warn, Info, Debug };

using LogSink = void (*)(const char* text, usize len);

void set_log_sink(LogSink sink);
void set_log_level(LogLevel level);
LogLevel log_level();

void vlog(LogLevel level, const char* fmt, va_list args);
void log_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Raw text: no level prefix, no newline added.
void log_raw(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace passage
