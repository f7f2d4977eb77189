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

// A limit on the lines one source may print (a guest looping on a bad
// access must not flood the console), shared by every CPU.
class LogBudget {
public:
    enum class Slot : u8 { None, Some, Last };  // Last: say that no more will come
    explicit constexpr LogBudget(unsigned limit) : limit_(limit) {}
    Slot take()
    {
        if (__atomic_load_n(&used_, __ATOMIC_RELAXED) >= limit_) return Slot::None;  // no count once spent
        unsigned n = __atomic_fetch_add(&used_, 1, __ATOMIC_RELAXED);
        return n + 1 < limit_ ? Slot::Some : n + 1 == limit_ ? Slot::Last : Slot::None;
    }
    // False once take() can only answer None: a hot path checks this before
    // it prepares a message.
    bool open() const { return __atomic_load_n(&used_, __ATOMIC_RELAXED) < limit_; }

private:
    unsigned limit_;
    unsigned used_ = 0;
};

}  // namespace passage
