// The core's contract for a broken invariant. panic() prints
// "PANIC: <message>" and stops the machine; the arch layer implements it
// (hyp/arch/aarch64/panic.cpp). Anything bad input can cause is an error
// value instead (result.h), never a panic.
#pragma once

namespace passage {

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// PASSAGE_CHECK(cond): panics with the condition, file and line when an
// invariant does not hold. A macro only to spell the condition.
[[noreturn]] void check_failed(const char* what, const char* file, int line);
inline void check(bool ok, const char* what, const char* file = __builtin_FILE(), int line = __builtin_LINE())
{
    if (!ok) check_failed(what, file, line);
}
#define PASSAGE_CHECK(cond) ::passage::check(static_cast<bool>(cond), #cond)

}  // namespace passage
