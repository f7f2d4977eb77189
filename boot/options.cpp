#include "options.h"

#include "passage/cmdline.h"
#include "runtime.h"

namespace passage {

int boot_word(const char* cmdline, const char* name, std::span<const char* const> words, int absent,
              const char* expected)
{
    char bad[32];
    int w = cmdline_word(cmdline, name, words, absent, bad, sizeof bad);
    if (w < 0) panic("boot option passage.%s=%s: expected %s", name, bad, expected);
    return w;
}

bool boot_on_off(const char* cmdline, const char* name, bool absent)
{
    static constexpr const char* kOffOn[] = {"off", "on"};
    return boot_word(cmdline, name, kOffOn, absent ? 1 : 0, "on or off") == 1;
}

Selftest boot_selftest(const char* cmdline)
{
    static constexpr const char* kWords[] = {"off", "on", "fault"};  // Selftest's order
    return Selftest(boot_word(cmdline, "selftest", kWords, int(Selftest::On), "on, off or fault"));
}

}  // namespace passage
