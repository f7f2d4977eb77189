// The console: the UART discovery chose, as the log's sink.
#pragma once

#include "passage/platform.h"

namespace passage {

// Starts the console discovery found (a usable one) and routes the log to it.
void console_init(const Uart& uart);
bool console_ready();

}  // namespace passage
