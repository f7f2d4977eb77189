#include <stdarg.h>

#include "passage/diagnostic.h"
#include "passage/format.h"

namespace passage {

Failure fail(Diagnostic& diag, Error code, u64 addr, const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vformat(diag.text, sizeof diag.text, fmt, args);
    va_end(args);
    return Failure{code, addr};
}

}  // namespace passage
