// Boot options from /chosen/bootargs: space-separated `passage.name=value`
// words (or a bare `passage.name`, which reads as "1").
#pragma once

#include <span>

#include "passage/types.h"

namespace passage {

// Copies the value of `passage.<name>` into buf; false if absent or too long.
bool cmdline_option(const char* cmdline, const char* name, char* buf, usize size);

// A boot option that takes one of a few words, e.g. passage.vpci=on|off:
// the index of its value in `words` (a bare passage.<name> reads as "on"),
// `absent` when the option is not there, or -1 for any other value, which
// is then copied (cut to bad_size) into `bad` for the error message.
int cmdline_word(const char* cmdline, const char* name, std::span<const char* const> words, int absent, char* bad,
                 usize bad_size);

}  // namespace passage
