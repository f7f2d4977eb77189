// include/passage/panic.h at EL2: the message to the log, then PSCI
// SYSTEM_OFF (a CPU left in WFI if that returns).
#include "passage/panic.h"

#include "machine.h"
#include "passage/format.h"
#include "passage/log.h"
#include "psci.h"

namespace passage {

namespace arch {
constinit Machine g_machine;
}  // namespace arch

void panic(const char* fmt, ...)
{
    char msg[200];
    va_list args;
    va_start(args, fmt);
    vformat(msg, sizeof msg, fmt, args);
    va_end(args);
    log_raw("PANIC: %s\npassage: stopped; powering off\n", msg);
    arch::system_off(arch::g_machine.psci);
}

void check_failed(const char* what, const char* file, int line) { panic("CHECK failed: %s (%s:%d)", what, file, line); }

}  // namespace passage

// libfdt is built with the stack protector; a smashed stack is an invariant broken.
extern "C" {
unsigned long __stack_chk_guard = 0x2f8a3c9d5e71b046ul;
[[noreturn]] void __stack_chk_fail() { passage::panic("stack protector: stack smashed"); }
}
