#include "passage/format.h"
#include "passage/log.h"
#include "psci.h"
#include "runtime.h"
#include "uart/pl011.h"

namespace passage {

constinit Runtime g_runtime;

namespace {

constinit Pl011 g_uart;

void uart_sink(const char* text, usize len) { g_uart.write(text, len); }

}  // namespace

void console_init(const Uart& uart)
{
    if (uart.kind != UartKind::Pl011 && uart.kind != UartKind::Sbsa) return;
    g_uart.init(uart.base);
    set_log_sink(uart_sink);
}

bool console_ready() { return g_uart.ready(); }

void panic(const char* fmt, ...)
{
    char msg[200];
    va_list args;
    va_start(args, fmt);
    vformat(msg, sizeof msg, fmt, args);
    va_end(args);
    log_raw("PANIC: %s\npassage: stopped; powering off\n", msg);
    arch::system_off(g_runtime.psci);
}

}  // namespace passage

// libfdt is built with the stack protector; a smashed stack is an invariant broken.
extern "C" {
unsigned long __stack_chk_guard = 0x2f8a3c9d5e71b046ul;
[[noreturn]] void __stack_chk_fail() { passage::panic("stack protector: stack smashed"); }
}
