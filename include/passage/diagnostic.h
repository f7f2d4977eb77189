// How every parser and planner says what went wrong: a Failure value for
// the caller to act on, and a message naming the address or node for the
// person reading the log.
#pragma once

#include "passage/result.h"

namespace passage {

struct Diagnostic {
    char text[192] = {};
};

// Writes the message into diag and returns Failure{code, addr}.
Failure fail(Diagnostic& diag, Error code, u64 addr, const char* fmt, ...) __attribute__((format(printf, 4, 5)));

}  // namespace passage
