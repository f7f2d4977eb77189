#include "console.h"

#include "passage/log.h"
#include "uart/ns16550.h"
#include "uart/pl011.h"

namespace passage {

namespace {

// One of these is the console (discovery chose it from /chosen/stdout-path).
constinit Pl011 g_pl011;
constinit Ns16550 g_ns16550;

void pl011_sink(const char* text, usize len) { g_pl011.write(text, len); }
void ns16550_sink(const char* text, usize len) { g_ns16550.write(text, len); }

}  // namespace

void console_init(const Uart& uart)
{
    switch (uart.kind) {
    case UartKind::Pl011:
    case UartKind::Sbsa:
        g_pl011 = Pl011(MmioRegs{uart.base});
        set_log_sink(pl011_sink);
        break;
    case UartKind::Ns16550:
        g_ns16550 = Ns16550(MmioRegs{uart.base}, {uart.reg_shift, uart.reg_io_width, uart.reg_offset});
        set_log_sink(ns16550_sink);
        break;
    case UartKind::None: break;  // a silent boot
    }
}

bool console_ready() { return g_pl011.ready() || g_ns16550.ready(); }

}  // namespace passage
