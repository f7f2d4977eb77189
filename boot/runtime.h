// State every part of the image may need at any time: the console, the PSCI
// conduit (to power off from anywhere), and how the image was entered.
#pragma once

#include "passage/boot_info.h"
#include "passage/platform.h"

namespace passage {

struct Runtime {
    BootInfo boot;
    PsciMethod psci = PsciMethod::None;
};

extern Runtime g_runtime;

// Starts the console discovery found (a usable one) and routes the log to it.
void console_init(const Uart& uart);
bool console_ready();

// Prints "PANIC: <message>" and powers off through PSCI. For the invariants
// passage cannot live without; everything else is an error value.
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace passage
