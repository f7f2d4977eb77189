// passage's boot options that take a word (passage.vpci=off,
// passage.selftest=fault, ...). A value that is not one of the words stops
// the boot with a message naming the option and what it takes: a typo must
// not silently boot with the default.
#pragma once

#include <span>

#include "passage/types.h"

namespace passage {

// The index of passage.<name>'s value in `words`, or `absent` (not
// negative) when it is not given; `expected` lists the words for the
// message ("on or off").
int boot_word(const char* cmdline, const char* name, std::span<const char* const> words, int absent,
              const char* expected);

// passage.<name>=on|off (a bare passage.<name> is on).
bool boot_on_off(const char* cmdline, const char* name, bool absent);

// passage.selftest: off (skip the memory-type self-test), on (the default),
// fault (also take a deliberate EL2 data abort, to see the report).
enum class Selftest { Off, On, Fault };
Selftest boot_selftest(const char* cmdline);

}  // namespace passage
